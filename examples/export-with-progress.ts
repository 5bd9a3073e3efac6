/**
 * Exports recorded media to MP4 with a progress bar on stderr; Ctrl-C aborts through an AbortSignal.
 *
 *   node export-with-progress.js OUT.mp4 [IN...]     (no input: 3 s of the test source)
 */
import { createController, createPipelineConfig, type PipelineConfigInit } from 'avpipe';

const [output = 'export.mp4', ...inputs] = process.argv.slice(2);
const source: PipelineConfigInit['source'] = inputs.length === 0 ? { type: 'test', duration: 3 } : { type: 'file', inputs: inputs.map((path) => ({ path })) };
const config = createPipelineConfig({ live: false, source, encoding: { width: 640, height: 360 }, outputs: [{ path: output }] });

const abort = new AbortController();
process.once('SIGINT', () => abort.abort());
const controller = createController(config, { signal: abort.signal });
controller.on('progress', (p) => {
  const done = p.totalMs === null ? '' : ` ${Math.min(100, (100 * p.mediaTimeMs) / p.totalMs).toFixed(0)}%`;
  process.stderr.write(`\r${(p.mediaTimeMs / 1000).toFixed(1)} s${done} at ${p.speed.toFixed(1)}x`);
});
const result = await controller.start();
process.stderr.write('\n');
for (const out of result.outputs) if (out.type === 'file') console.log(`${result.status}: ${out.path}, ${out.size} bytes, ${result.durationMs} ms of media`);
process.exitCode = result.status === 'COMPLETE' ? 0 : 1;
