import { EventEmitter } from 'node:events';
import type { Job, Worker } from 'bullmq';
import { workerScript } from '../worker-script.js';
import type { JobData, JobResult } from './job-data.js';
import { connectionOptions, DEFAULT_QUEUE, type RedisConnection } from './job-queue.js';

export interface JobWorkerOptions {
  connection: RedisConnection;
  /** The BullMQ queue; `avpipe` by default. */
  name?: string;
  /** Jobs run at once, each in a worker thread of its own. Default 1. */
  concurrency?: number;
  /**
   * How long a job's lock lasts without renewal, ms (BullMQ renews it at half that while the job
   * runs): a worker that dies holds its job this long before another may take it. Default 30000.
   */
  lockDurationMs?: number;
  /**
   * How often jobs whose lock expired (their worker died) are looked for, ms. Default 30000. Give
   * every worker of a queue the same: BullMQ throttles the check queue-wide by the interval of the
   * worker that ran it last.
   */
  stalledIntervalMs?: number;
}

/** What a job worker reports. */
export interface JobWorkerEvents {
  /** A job taken and started. */
  active: [{ id: string }];
  /** A job finished: its result. */
  completed: [{ id: string; result: JobResult }];
  /** An attempt failed (retried or not): BullMQ's reason, `CODE: message`. */
  failed: [{ id: string; reason: string; attemptsMade: number }];
  /** Trouble of the worker's own (a lost connection, a lock it could not renew): the job may run elsewhere. */
  warning: [{ message: string; jobId?: string }];
}

/**
 * Takes avpipe jobs from a BullMQ queue and runs each in a sandboxed processor (a worker thread), so
 * encoding never blocks the lock renewal that tells BullMQ the job is alive: a worker that dies
 * (SIGKILL) stops renewing, and BullMQ hands the job to another worker.
 */
export class JobWorker extends EventEmitter<JobWorkerEvents> {
  readonly name: string;
  private readonly _worker: Worker<JobData, JobResult>;
  private _closed: Promise<void> | undefined;
  /** Jobs taken and not yet finished here. */
  private readonly _running = new Set<string>();

  /** @internal */
  constructor(name: string, worker: Worker<JobData, JobResult>) {
    super();
    this.name = name;
    this._worker = worker;
    worker.on('active', (job: Job<JobData, JobResult>) => {
      this._running.add(job.id!);
      this.emit('active', { id: job.id! });
    });
    worker.on('completed', (job: Job<JobData, JobResult>, result: JobResult) => {
      this._running.delete(job.id!);
      this.emit('completed', { id: job.id!, result });
    });
    worker.on('failed', (job: Job<JobData, JobResult> | undefined, err: Error) => {
      if (job === undefined) return;
      this._running.delete(job.id!);
      this.emit('failed', { id: job.id!, reason: err.message, attemptsMade: job.attemptsMade });
    });
    // Connection trouble is retried by ioredis: reported, not thrown unhandled.
    worker.on('error', (err: Error) => this.emit('warning', { message: err.message }));
    worker.on('lockRenewalFailed', (ids: string[]) => {
      for (const id of ids) {
        this._running.delete(id);
        this.emit('warning', { message: 'could not renew its lock: the job may run on another worker', jobId: id });
      }
    });
  }

  /** Jobs running now. */
  get running(): number {
    return this._running.size;
  }

  /** Stops every running job's run as Ctrl-C would (what was made is finalized; the jobs complete). */
  stopRunning(): void {
    this._worker.cancelAllJobs('the worker is stopping');
  }

  /**
   * Stops taking jobs and waits for the running ones to finish (a drain), then closes the
   * connections; idempotent.
   */
  close(): Promise<void> {
    this._closed ??= this._worker.close();
    return this._closed;
  }
}

/** A worker that runs avpipe jobs from the queue `name` until closed. */
export async function createWorker(options: JobWorkerOptions): Promise<JobWorker> {
  const { Worker } = await import('bullmq');
  const name = options.name ?? DEFAULT_QUEUE;
  const processor = workerScript(new URL('./job-processor.js', import.meta.url));
  const worker = new Worker<JobData, JobResult>(name, processor, {
    connection: connectionOptions(options.connection),
    concurrency: options.concurrency ?? 1,
    useWorkerThreads: true,
    ...(options.lockDurationMs === undefined ? {} : { lockDuration: options.lockDurationMs }),
    ...(options.stalledIntervalMs === undefined ? {} : { stalledInterval: options.stalledIntervalMs }),
  });
  await worker.waitUntilReady();
  return new JobWorker(name, worker);
}
