import { existsSync } from 'node:fs';
import { UnrecoverableError, type SandboxedJob } from 'bullmq';
import { AvpipeError } from '../errors.js';
import { createController } from '../pipeline/controller.js';
import type { PipelineResult } from '../pipeline/status.js';
import { failureReason, jobConfig, outputPaths, withRetry, type JobData, type JobProgress, type JobResult } from './job-data.js';

/** How often a running job's progress goes to Redis: often enough for a progress bar, not per frame. */
const PROGRESS_MS = 500;

/**
 * BullMQ's sandboxed processor for avpipe jobs: it runs in a worker thread of its own, so encoding
 * never starves the lock renewal of the worker that took the job. The config is checked again here
 * (the queue outlives versions); the run's progress goes to the job, and its result is the job's
 * return value, the same JSON as a local run's. A run that does not end COMPLETE or LIMIT_REACHED
 * fails the job with its error's code and message, so the queue's retry policy applies. Each attempt
 * (a retry, or a run again after its worker died) fills `{retry}` in its output paths with its own
 * number, and the result names what earlier attempts left.
 */
export default async function runJob(job: SandboxedJob<JobData, PipelineResult>, _token?: string, signal?: AbortSignal): Promise<JobResult> {
  try {
    return await run(job, signal);
  } catch (err) {
    // The code crosses the queue in the message; a config no attempt can run is not retried.
    if (err instanceof AvpipeError) {
      const reason = `${err.code}: ${err.message}`;
      throw err.code === 'CONFIG_INVALID' ? new UnrecoverableError(reason) : new Error(reason);
    }
    throw err;
  }
}

async function run(job: SandboxedJob<JobData, PipelineResult>, signal: AbortSignal | undefined): Promise<JobResult> {
  // The record checked as it came (another version's fails here), then as this attempt runs it.
  jobConfig(job.data);
  // attemptsStarted counts this attempt, and those a dead worker never finished.
  const retry = Math.max(0, (job.attemptsStarted ?? job.attemptsMade + 1) - 1);
  const init = withRetry(job.data.config, retry);
  const config = jobConfig({ ...job.data, config: init });
  const controller = createController(config, { progressIntervalMs: PROGRESS_MS });
  // A job cancelled through BullMQ (cancelJob) stops its run as Ctrl-C would: what was made is finalized.
  signal?.addEventListener('abort', () => void controller.stop(), { once: true });
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
  // What earlier attempts wrote under names of their own (without `{retry}` theirs are this one's).
  const own = new Set(outputPaths(init));
  const kept: string[] = [];
  for (let r = 0; r < retry; r++) kept.push(...outputPaths(withRetry(job.data.config, r)).filter((p) => !own.has(p) && existsSync(p)));
  // Through JSON as the queue will store it (errors as their toJSON).
  return JSON.parse(JSON.stringify({ ...result, job: { id: job.id, retry, kept } })) as JobResult;
}
