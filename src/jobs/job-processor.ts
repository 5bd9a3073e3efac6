import type { SandboxedJob } from 'bullmq';
import { createController } from '../pipeline/controller.js';
import type { PipelineResult } from '../pipeline/status.js';
import { failureReason, jobConfig, type JobData, type JobProgress } from './job-data.js';

/** How often a running job's progress goes to Redis: often enough for a progress bar, not per frame. */
const PROGRESS_MS = 500;

/**
 * BullMQ's sandboxed processor for avpipe jobs: it runs in a worker thread of its own, so encoding
 * never starves the lock renewal of the worker that took the job. The config is checked again here
 * (the queue outlives versions); the run's progress goes to the job, and its result is the job's
 * return value, the same JSON as a local run's. A run that does not end COMPLETE or LIMIT_REACHED
 * fails the job with its error's code and message, so the queue's retry policy applies.
 */
export default async function runJob(job: SandboxedJob<JobData, PipelineResult>): Promise<PipelineResult> {
  const config = jobConfig(job.data);
  const controller = createController(config, { progressIntervalMs: PROGRESS_MS });
  controller.on('progress', (p) => {
    const progress: JobProgress = {
      status: p.status,
      mediaTimeMs: p.mediaTimeMs,
      percent: p.totalMs === null || p.totalMs <= 0 ? null : Math.min(100, (100 * p.mediaTimeMs) / p.totalMs),
      speed: p.speed,
    };
    void job.updateProgress(progress as unknown as object);
  });
  const result = await controller.start();
  if (result.status !== 'COMPLETE' && result.status !== 'LIMIT_REACHED') throw new Error(failureReason(result));
  // Through JSON as the queue will store it (errors as their toJSON).
  return JSON.parse(JSON.stringify(result)) as PipelineResult;
}
