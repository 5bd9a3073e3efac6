/**
 * Submits an export to the fleet's queue and waits for it: its progress on stderr, its result on
 * stdout. Any worker that can afford it runs it (see job-worker.ts); paths are the workers', so give
 * absolute ones or an upload store every worker reaches.
 *
 *   node submit-job.js OUT.mp4 [IN...] [--redis URL]   (no input: 5 s of the test source)
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { PipelineConfigInit } from 'avpipe';
import { createJobQueue } from 'avpipe/jobs';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { redis: { type: 'string', default: 'redis://127.0.0.1:6379' } } });
const [output = 'job.mp4', ...inputs] = positionals;
const source: PipelineConfigInit['source'] = inputs.length === 0
  ? { type: 'test', duration: 5 }
  : { type: 'file', inputs: inputs.map((path) => ({ path: resolve(path) })) };

const queue = await createJobQueue({ connection: values.redis });
try {
  const job = await queue.submit({ live: false, source, encoding: { width: 640, height: 360 }, outputs: [{ path: resolve(output) }] }, { attempts: 2 });
  console.error(`job ${job.id} queued`);
  job.on('progress', (p) => process.stderr.write(`\r${(p.mediaTimeMs / 1000).toFixed(1)} s at ${p.speed.toFixed(1)}x`));
  const result = await job.result();
  process.stderr.write('\n');
  const file = result.outputs.find((o) => o.type === 'file');
  console.log(`${result.status}: ${file?.path ?? 'no file'}, ${file?.size ?? 0} bytes, job ${result.job.id}, attempt ${result.job.retry + 1}`);
  process.exitCode = result.status === 'COMPLETE' ? 0 : 1;
} finally {
  await queue.close();
}
