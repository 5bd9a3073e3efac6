import { EventEmitter } from 'node:events';
import type { ConnectionOptions, Job, Queue, QueueEvents } from 'bullmq';
import type { PipelineConfigInit } from '../config/config-init.js';
import { AvpipeError } from '../errors.js';
import { jobConfig, jobError, type JobData, type JobProgress, type JobResult } from './job-data.js';

/** Where Redis is: a `redis://` URL or ioredis's options (BullMQ's `ConnectionOptions`). */
export type RedisConnection = string | ConnectionOptions;

/** The queue's name when none is given. */
export const DEFAULT_QUEUE = 'avpipe';

export interface JobQueueOptions {
  /** Where Redis is: a `redis://` URL or connection options. */
  connection: RedisConnection;
  /** The BullMQ queue; `avpipe` by default. */
  name?: string;
  /** How long the first connection to Redis may take, ms (default 10000). */
  connectTimeoutMs?: number;
}

export interface SubmitOptions {
  /** Runs before the job fails for good (1: no retry). Default 1. */
  attempts?: number;
  /** Wait before a retry, ms, doubled for each one after. Default 5000. */
  backoffMs?: number;
  /** An id of the caller's: a second submit with it is the same job, not a new one. */
  jobId?: string;
  /**
   * The job's CPU cost in cores, which workers admit it by, when the caller knows it better than
   * the estimate made from its config (a file's size is not known before it is opened).
   */
  cost?: number;
  /**
   * A distributed export: its video split into `chunks` (default `'auto'`: one per 15 s), each a
   * job of its own for whichever workers take it, joined by the worker that runs this one.
   * The config must be non-live with a storage every worker reaches (the chunks pass through it).
   */
  distributed?: boolean | {
    /** How many chunks, 2 to 256, or `'auto'` (one per 15 s of media). */
    chunks?: number | 'auto';
  };
}

/** Events of a submitted job. */
export interface JobHandleEvents {
  /** The job's progress, as its worker saves it (about every half second while it runs). */
  progress: [JobProgress];
}

/** A submitted job: its id, its progress as events, and its result. */
export class JobHandle extends EventEmitter<JobHandleEvents> {
  /** The job's BullMQ id (the caller's `jobId` when it gave one). */
  readonly id: string;
  private readonly _job: Job<JobData, JobResult>;
  private readonly _events: QueueEvents;

  /** @internal */
  constructor(job: Job<JobData, JobResult>, events: QueueEvents) {
    super();
    this.id = job.id!;
    this._job = job;
    this._events = events;
  }

  /**
   * The run's result (the same JSON as a local run's) once a worker has finished the job; rejects with
   * the run's typed error (its code and message) when it failed for good, JOB_FAILED when the queue
   * gave up on it for a reason of its own.
   */
  async result(): Promise<JobResult> {
    try {
      // The queue's events report a failure only when it is final: a retried attempt is delayed, not failed.
      return await this._job.waitUntilFinished(this._events);
    } catch (err) {
      throw jobError(this.id, (err as Error).message);
    }
  }
}

/**
 * Submits avpipe jobs to a BullMQ queue on Redis. A job is a pipeline config (the JSON the library
 * takes), checked here before it is queued, so a bad one fails at the caller, naming its field.
 */
export class JobQueue {
  /** The BullMQ queue's name. */
  readonly name: string;
  private readonly _queue: Queue<JobData, JobResult>;
  private readonly _events: QueueEvents;
  private readonly _handles = new Map<string, JobHandle>();
  private _closed: Promise<void> | undefined;

  /** @internal */
  constructor(name: string, queue: Queue<JobData, JobResult>, events: QueueEvents) {
    this.name = name;
    this._queue = queue;
    this._events = events;
    events.on('progress', ({ jobId, data }) => this._handles.get(jobId)?.emit('progress', data as unknown as JobProgress));
    // A finished job's handle reports nothing more: dropped, so the map holds only jobs under way.
    events.on('completed', ({ jobId }) => this._handles.delete(jobId));
    events.on('failed', ({ jobId }) => this._handles.delete(jobId));
  }

  /**
   * Queues a run of `config`; throws `ConfigError` (CONFIG_INVALID) before queueing a bad one. What is
   * checked is the config as the worker will read it, after the JSON round trip through Redis (a Date
   * or a byte array does not survive it).
   */
  async submit(config: PipelineConfigInit, options: SubmitOptions = {}): Promise<JobHandle> {
    const d = options.distributed;
    const distributed = d === undefined || d === false ? {} : { distributed: { chunks: d === true ? 'auto' : d.chunks ?? 'auto' } };
    const data = JSON.parse(JSON.stringify({ version: 1, config, runs: 0, ...distributed, ...(options.cost === undefined ? {} : { cost: options.cost }) })) as JobData;
    jobConfig(data);
    const job = await this._queue.add('run', data, {
      attempts: options.attempts ?? 1,
      backoff: { type: 'exponential', delay: options.backoffMs ?? 5000 },
      ...(options.jobId === undefined ? {} : { jobId: options.jobId }),
      // Finished jobs stay for a day (their results), failed ones for a week: a fleet's queue does not grow without end.
      removeOnComplete: { age: 24 * 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    });
    const handle = new JobHandle(job, this._events);
    this._handles.set(handle.id, handle);
    return handle;
  }

  /** Closes the queue's connections; idempotent. */
  close(): Promise<void> {
    this._closed ??= Promise.all([this._events.close(), this._queue.close()]).then(() => undefined);
    return this._closed;
  }
}

/** BullMQ's connection options from a URL or options (a URL is parsed as ioredis does). */
export function connectionOptions(connection: RedisConnection): ConnectionOptions {
  if (typeof connection !== 'string') return connection;
  let url: URL;
  try {
    url = new URL(connection);
  } catch {
    throw new TypeError(`not a URL: "${connection}" (redis://HOST:PORT)`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new TypeError(`a Redis URL is redis:// or rediss://, got ${url.protocol}`);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new TypeError(`a Redis URL's path is a database number, got "${url.pathname}"`);
  if (url.search !== '') throw new TypeError('a Redis URL takes no query options here: pass connection options instead');
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? 6379 : Number(url.port),
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    ...(db === 0 ? {} : { db }),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/** How long the first connection to Redis may take before creating a queue or a worker fails. */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Waits until `client` is connected, or fails after `timeoutMs` with the last connection error
 * (ioredis retries for ever: a wrong URL must not hang the caller). Its errors are kept from
 * going unhandled.
 * @internal
 */
export async function connected(client: { waitUntilReady(): Promise<unknown>; on(event: 'error', fn: (err: Error) => void): unknown; close(): Promise<void> }, connection: ConnectionOptions, timeoutMs = CONNECT_TIMEOUT_MS): Promise<void> {
  let last: Error | undefined;
  client.on('error', (err) => (last = err));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AvpipeError('JOB_FAILED', `cannot reach Redis at ${where(connection)} in ${timeoutMs / 1000} s${last === undefined ? '' : `: ${last.message}`}`)), timeoutMs);
  });
  try {
    await Promise.race([client.waitUntilReady(), timeout]);
  } catch (err) {
    // A client still reconnecting may take long to close: given a second, then left to end.
    await Promise.race([client.close().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function where(c: ConnectionOptions): string {
  const o = c as { host?: string; port?: number };
  return `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`;
}

/** A queue to submit avpipe jobs to; its events are listened to for the handles' progress and results. */
export async function createJobQueue(options: JobQueueOptions): Promise<JobQueue> {
  const { Queue, QueueEvents } = await import('bullmq');
  const name = options.name ?? DEFAULT_QUEUE;
  const connection = connectionOptions(options.connection);
  const events = new QueueEvents(name, { connection });
  await connected(events, connection, options.connectTimeoutMs);
  // One listener per handle waiting for its result: many at once is not a leak.
  events.setMaxListeners(0);
  const queue = new Queue<JobData, JobResult>(name, { connection });
  queue.setMaxListeners(0);
  queue.on('error', () => undefined);
  return new JobQueue(name, queue, events);
}
