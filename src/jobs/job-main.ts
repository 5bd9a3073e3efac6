import { createPipelineConfig } from '../config/pipeline-config.js';
import { AvpipeError } from '../errors.js';
import { createController } from '../pipeline/controller.js';
import type { ChunkWorkerData } from '../pipeline/chunk-protocol.js';
import type { SplitPlan } from '../pipeline/plan.js';
import type { MessagePortLike } from '../worker-script.js';
import { JobChunkRunner } from './chunk-jobs.js';
import type { FromJobThread, JobThreadData, ToJobThread } from './job-run.js';

/**
 * One job's run, in the process of its own the worker gave it (./job-process.js): encoding there
 * never starves the lock renewal and the HTTP of the worker. The run's progress and its result go
 * to the worker as messages on `port`; a `stop` message stops it as Ctrl-C would.
 */
export async function runJob(data: JobThreadData, port: MessagePortLike): Promise<void> {
  const { init, progressIntervalMs, distributed } = data;
  const post = (m: FromJobThread): void => port.postMessage(m);
  try {
    // A distributed export's chunks are jobs on the queue, not this process's threads.
    const runners: JobChunkRunner[] = [];
    const runner = (plan: SplitPlan, work: ChunkWorkerData): JobChunkRunner => {
      const r = new JobChunkRunner(distributed!, plan, work);
      runners.push(r);
      return r;
    };
    const split = distributed === undefined ? undefined : { runner, chunks: distributed.chunks };
    const controller = createController(createPipelineConfig(init), { progressIntervalMs, ...(split === undefined ? {} : { split }) });
    port.on('message', (m: ToJobThread) => {
      if (m.type === 'stop') void controller.stop();
      else void controller.abort();
    });
    controller.on('progress', (p) => post({ type: 'progress', progress: p }));
    let result;
    try {
      result = await controller.start();
    } finally {
      // The chunk jobs' clean-up done before the result (or the error) goes: the process ends with it.
      await Promise.allSettled(runners.map((r) => r.close()));
    }
    // Through JSON, as the queue will keep it (errors as their toJSON).
    post({ type: 'result', result: JSON.parse(JSON.stringify(result)) });
  } catch (err) {
    post({ type: 'error', code: err instanceof AvpipeError ? err.code : 'JOB_FAILED', message: (err as Error).message });
  }
}
