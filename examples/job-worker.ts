/**
 * A job worker of the fleet: runs the pipeline configs submitted to the queue on Redis, each in a
 * process of its own, taking a job only while its CPU cost fits in 80% of the cores. SIGTERM or
 * Ctrl-C drains it: no new job, the running ones finished, then it exits.
 *
 *   node job-worker.js [REDIS_URL]      (default redis://127.0.0.1:6379)
 */
import { createWorker } from 'avpipe/jobs';

const [redis = 'redis://127.0.0.1:6379'] = process.argv.slice(2);
const worker = await createWorker({ connection: redis, maxCpu: 0.8 });
console.log(`worker ${worker.id}: jobs up to ${worker.admission.capacity.toFixed(2)} of ${worker.admission.cores} cores`);

worker.on('active', ({ id, cost }) => console.log(`job ${id}: started (cost ${cost.cpu} cores)`));
worker.on('completed', ({ id, result }) => console.log(`job ${id}: ${result.status}, ${(result.durationMs / 1000).toFixed(1)} s of media in ${(result.wallMs / 1000).toFixed(1)} s`));
worker.on('failed', ({ id, reason }) => console.log(`job ${id}: failed: ${reason}`));
worker.on('warning', ({ message }) => console.error(`warning: ${message}`));

const drain = async (): Promise<void> => {
  console.log(`draining: finishing ${worker.running} running job(s)`);
  await worker.close();
};
process.once('SIGTERM', () => void drain());
process.once('SIGINT', () => void drain());
