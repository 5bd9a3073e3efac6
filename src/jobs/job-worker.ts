import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Job, Worker } from 'bullmq';
import { createPipelineConfig } from '../config/pipeline-config.js';
import { AvpipeError } from '../errors.js';
import type { PipelineProgress, PipelineResult } from '../pipeline/status.js';
import type { SessionAdmission } from '../server/whip-sessions.js';
import type { Storage } from '../storage/storage.js';
import { storageOf, type StorageSpec } from '../storage/storage-spec.js';
import { Admission, DEFAULT_MAX_CPU, DEFAULT_MEMORY_HEADROOM, mib, type LoadSample } from './admission.js';
import { ChunkJobRun } from './chunk-job-run.js';
import { CHUNK_JOB, chunkJobProblem, chunkPrefix, type ChunkJobData, type ChunkJobResult } from './chunk-job-data.js';
import { chunkJobCost, estimateJobCost, type JobCost } from './job-cost.js';
import { failureReason, jobConfig, outputPaths, withRetry, type JobData, type JobProgress, type JobResult } from './job-data.js';
import { connected, connectionOptions, DEFAULT_QUEUE, type RedisConnection } from './job-queue.js';
import { holdSpareHost } from './job-process.js';
import { JobRun } from './job-run.js';
import { LoadMonitor, memoryLimit } from './load-monitor.js';
import { stageInputs, type StagedInputs } from './stage-inputs.js';

/** How often a running job's progress goes to Redis: often enough for a progress bar, not per frame. */
const PROGRESS_MS = 500;
/** An idle worker that cannot take a job (its memory) hands it back for this long, so it does not spin on it. */
const REFUSED_IDLE_DELAY_MS = 5000;
/** The most jobs a worker runs at once, whatever admission would allow. */
const MAX_JOBS = 64;
/** setTimeout's longest wait (about 24.8 days); a longer one would fire at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Options of a {@link JobWorker} (`createWorker`). */
export interface JobWorkerOptions {
  /** Where Redis is: a `redis://` URL or connection options (a distributed export needs one of these two, not a client). */
  connection: RedisConnection;
  /** The BullMQ queue; `avpipe` by default. */
  name?: string;
  /** The most jobs at once (admission decides below it). Default 64. */
  concurrency?: number;
  /**
   * The share of the cores the worker fills with jobs, in (0, 1]: a job is taken only while the
   * projected load plus its cost stays within it. Default 0.8 (egress's `max_cpu_utilization`).
   */
  maxCpu?: number;
  /** The cores counted; default: the cgroup's CPU quota when set, else the CPUs the process may use. */
  cores?: number;
  /** Memory left free after a job is admitted, bytes. Default 512 MiB. */
  memoryHeadroomBytes?: number;
  /**
   * The load admission weighs besides the reserved costs; default: this process's CPU, sampled each
   * second, and the memory available to it (cgroup-aware). Give the machine's own when several
   * workers share it.
   */
  load?: () => LoadSample;
  /** Start taking jobs at once (default true); false waits for `run()`, after listeners are attached. */
  autorun?: boolean;
  /** How long the first connection to Redis may take, ms (default 10000). */
  connectTimeoutMs?: number;
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

/** A job running on this worker. */
export interface RunningJob {
  /** The job's BullMQ id; a WHIP session's is `whip/NAME/SESSION`. */
  id: string;
  /** Its attempt, from 0: `{retry}` in its paths. */
  retry: number;
  /** What admission reserved for it while it runs. */
  cost: JobCost;
  /** Its last progress, once one came. */
  progress: JobProgress | undefined;
  /** The process its run is in (an operator's handle to it), when one has started. */
  pid?: number | undefined;
}

/** What a job worker reports. */
export interface JobWorkerEvents {
  /** A job admitted and started. */
  active: [RunningJob];
  /** A running job's progress. */
  progress: [{
    /** The job's id. */
    id: string;
    /** Its progress, as saved to the queue. */
    progress: JobProgress;
  }];
  /** A job not admitted (its cost or memory does not fit): back in the queue for any worker. */
  refused: [{
    /** The job's id (`whip/NAME/SESSION` for a WHIP session). */
    id: string;
    /** Why it was not admitted: what did not fit, or why this worker cannot run such a job. */
    reason: string;
    /** Its estimated cost. */
    cost: JobCost;
  }];
  /** A running job stopped and put back in the queue (the drain's deadline passed): another worker runs it again. */
  givenBack: [{
    /** The job's id. */
    id: string;
    /** Why it was given back. */
    reason: string;
  }];
  /** A job finished: its result. */
  completed: [{
    /** The job's id. */
    id: string;
    /** The run's result. */
    result: JobResult;
  }];
  /** A distributed export's chunk encoded here and stored for the export to join. */
  chunkDone: [{
    /** The chunk's job id (`<export>-r<run>-chunk-<index>`). */
    id: string;
    /** The export's job id. */
    parent: string;
    /** The chunk's index in the export, from 0. */
    index: number;
    /** Wall time the chunk took here (input fetched, encoded, stored), ms. */
    wallMs: number;
  }];
  /** An attempt failed (retried or not): BullMQ's reason, `CODE: message`; `retry` is its run's number. */
  failed: [{
    /** The job's id. */
    id: string;
    /** BullMQ's failed reason: `CODE: message`. */
    reason: string;
    /** The failed run's number, from 0. */
    retry: number;
  }];
  /** Trouble of the worker's own (a lost connection, a lock it could not renew): the job may run elsewhere. */
  warning: [{
    /** What went wrong. */
    message: string;
    /** The job it concerns, when one. */
    jobId?: string;
  }];
}

/** A job's run as this worker holds it. */
interface Entry extends RunningJob {
  run: JobRun | ChunkJobRun;
  /** Stopped to go back to the queue, not to complete. */
  givingBack: string | undefined;
  /** Its lock was lost: another worker may be running it. */
  lost: boolean;
  /** A live run: stopping it finalizes a recording worth keeping. */
  live: boolean;
  /**
   * A chunk or a distributed export: a stop gives a chunk back to the queue (it is all or nothing),
   * and an export too while the worker drains (it may wait on chunks nobody takes any more).
   */
  stopGivesBack: boolean;
}

type BullMQ = typeof import('bullmq');

/** What a worker is doing: taking jobs, draining (no new job), closed; `stopped` when its loop ended by itself. */
export type JobWorkerState = 'running' | 'draining' | 'closed' | 'stopped';

let workers = 0;

/**
 * Takes avpipe jobs from a BullMQ queue and runs each in a process of its own, so encoding
 * never blocks the lock renewal that tells BullMQ the job is alive: a worker that dies
 * (SIGKILL) stops renewing, and BullMQ hands the job to another worker. A job is taken only while
 * it fits ({@link Admission}): a worker at its `maxCpu` looks for no job until one of its own ends
 * or its load falls, and one it cannot afford goes back to the queue for the others.
 */
export class JobWorker extends EventEmitter<JobWorkerEvents> {
  /** The queue's name. */
  readonly name: string;
  /** This worker's name in results (a distributed export's chunks): host, process and a counter. */
  readonly id: string;
  /** Decides which jobs it takes: its reserved CPU, capacity and counters. */
  readonly admission: Admission;
  /** The worker's own load, sampled each second. */
  readonly monitor: LoadMonitor;
  /** Queue drops of every live job run here (finished and running). */
  private _dropped = 0;
  private readonly _worker: Worker<JobData, JobResult>;
  private readonly _bull: BullMQ;
  private readonly _connection: RedisConnection;
  private readonly _connectTimeoutMs: number | undefined;
  private readonly _cap: number;
  private readonly _load: () => LoadSample;
  private readonly _running = new Map<string, Entry>();
  /** Distributed exports admitted here and not ended: one at a time. */
  private _exports = 0;
  /** A job was refused: look for none until a sample or a job's end says the load changed. */
  private _blocked = false;
  private _closing = false;
  private _closedDone = false;
  /** Set once a drain's deadline passed: every run, now or starting, goes back to the queue. */
  private _givingBack: string | undefined;
  /** Set by stopRunning(): the runs complete, and the deadline gives nothing back. */
  private _stopping = false;
  private _deadline: NodeJS.Timeout | undefined;
  private _closed: Promise<void> | undefined;
  private _started = false;
  /** WHIP sessions admitted (their ids, to their job ids). */
  private readonly _sessions = new Map<string, string>();
  /** Lets go of the job process kept started ahead for this worker's next job. */
  private readonly _releaseSpare: () => void;

  /** @internal */
  constructor(bull: BullMQ, options: JobWorkerOptions) {
    super();
    this._bull = bull;
    this._connection = options.connection;
    this._connectTimeoutMs = options.connectTimeoutMs;
    this.name = options.name ?? DEFAULT_QUEUE;
    this.id = `${hostname()}/${process.pid}/${workers++}`;
    this._cap = options.concurrency ?? MAX_JOBS;
    this.monitor = new LoadMonitor(options.cores, () => this._sampled());
    this._releaseSpare = holdSpareHost();
    this._load = options.load ?? (() => this.monitor.sample());
    this.admission = new Admission(this.monitor.cores, options.maxCpu ?? DEFAULT_MAX_CPU, options.memoryHeadroomBytes ?? DEFAULT_MEMORY_HEADROOM);
    const worker = new bull.Worker<JobData, JobResult>(this.name, (job, token, signal) => (job.name === CHUNK_JOB ? this._processChunk(job as unknown as Job<ChunkJobData, ChunkJobResult>, token, signal) as unknown as Promise<JobResult> : this._process(job, token, signal)), {
      connection: connectionOptions(options.connection),
      concurrency: 1,
      autorun: false,
      ...(options.lockDurationMs === undefined ? {} : { lockDuration: options.lockDurationMs }),
      ...(options.stalledIntervalMs === undefined ? {} : { stalledInterval: options.stalledIntervalMs }),
    });
    this._worker = worker;
    worker.on('completed', (job: Job<JobData, JobResult>, result: JobResult) => {
      if (job.name !== CHUNK_JOB) return void this.emit('completed', { id: job.id!, result });
      const d = job.data as unknown as ChunkJobData;
      this.emit('chunkDone', { id: job.id!, parent: d.parent, index: d.chunk.index, wallMs: (result as unknown as ChunkJobResult).wallMs });
    });
    worker.on('failed', (job: Job<JobData, JobResult> | undefined, err: Error) => {
      if (job !== undefined) this.emit('failed', { id: job.id!, reason: err.message, retry: Math.max(0, (job.data.runs ?? 1) - 1) });
    });
    // Connection trouble is retried by ioredis: reported, not thrown unhandled.
    worker.on('error', (err: Error) => this.emit('warning', { message: err.message }));
    worker.on('lockRenewalFailed', (ids: string[]) => {
      for (const id of ids) {
        this.emit('warning', { message: 'could not renew its lock: another worker may take it; its run here is aborted', jobId: id });
        // Two runs of one job would write the same files: this one ends (the job is not put back, it is not ours).
        const e = this._running.get(id);
        if (e !== undefined) {
          e.lost = true;
          e.run.abort();
        }
      }
    });
  }

  /** Starts taking jobs (`createWorker` does, unless `autorun: false`); idempotent. */
  async run(): Promise<void> {
    if (this._started || this._closing) return;
    this._started = true;
    await connected(this._worker, connectionOptions(this._connection), this._connectTimeoutMs);
    void this._worker.run().catch((err: Error) => this.emit('warning', { message: `the worker stopped taking jobs: ${err.message}` }));
  }

  /** Jobs running now. */
  get running(): number {
    return this._running.size;
  }

  /** The jobs running now, with their cost and last progress. */
  jobs(): RunningJob[] {
    return [...this._running.values()].map(({ id, retry, cost, progress, pid }) => ({ id, retry, cost, progress, pid }));
  }

  /**
   * An admission for a WHIP server's sessions (`new WhipServer({ admission })`): each session is a
   * live job pinned to this worker (its publisher is connected to this machine; it never enters the
   * queue), its cost reserved as a queued job's, so sessions and jobs share the worker's `maxCpu`. A
   * session that does not fit, or that comes while the worker drains, is refused (503: a load
   * balancer tries another worker). Reported as jobs `whip/NAME/SESSION` (active, refused,
   * completed, and in the metrics).
   */
  sessionAdmission(): SessionAdmission {
    return {
      admit: ({ id, name, config }) => {
        const jobId = `whip/${name}/${id}`;
        if (this._closing) return 'the worker is draining: no new session';
        // A session's config is the server's own, checked when it started: a throw here is a bug, not a refusal.
        const cost = estimateJobCost(createPipelineConfig(config), this.admission.cores);
        const decision = this.admission.decide(jobId, cost, this._load());
        if (!decision.admit) {
          this.emit('refused', { id: jobId, reason: decision.reason, cost });
          return `no room on this worker: ${decision.reason}`;
        }
        this._sessions.set(id, jobId);
        this._fit();
        this.emit('active', { id: jobId, retry: 0, cost, progress: undefined });
        return undefined;
      },
      release: (id, result?: PipelineResult) => {
        const jobId = this._sessions.get(id);
        if (jobId === undefined) return;
        this._sessions.delete(id);
        const before = this._worker.concurrency;
        this._ended(jobId, undefined);
        // BullMQ's loop may be waiting with its old concurrency: room a session gave back is taken now.
        if (!this._closing && this._started && this._worker.concurrency > before) void this._wake();
        if (result !== undefined) this.emit('completed', { id: jobId, result: { ...result, job: { id: jobId, retry: 0, kept: [] } } });
        else this.emit('failed', { id: jobId, reason: 'SOURCE_FAILED: the session did not open', retry: 0 });
      },
    };
  }

  /** WHIP sessions admitted here and running (see {@link sessionAdmission}). */
  get sessions(): number {
    return this._sessions.size;
  }

  /** Items the queues of live jobs dropped, every job run here counted. */
  get dropped(): number {
    return this._dropped;
  }

  /** True until `close()` is called. */
  get accepting(): boolean {
    return !this._closing;
  }

  /** Taking jobs, draining, closed, or stopped (its loop ended by itself: it takes no job). */
  get state(): JobWorkerState {
    if (this._closedDone) return 'closed';
    if (this._closing) return 'draining';
    return !this._started || this._worker.isRunning() ? 'running' : 'stopped';
  }

  /**
   * Stops every running job's run as Ctrl-C would (what was made is finalized; the jobs complete);
   * a drain's deadline then gives nothing back.
   */
  stopRunning(): void {
    this._stopping = true;
    clearTimeout(this._deadline);
    for (const e of this._running.values()) {
      if (e.givingBack !== undefined) continue;
      // A chunk is all or nothing; a draining worker's export may wait on chunks nobody will take.
      if (e.run instanceof ChunkJobRun || (this._closing && e.stopGivesBack)) this._giveBack(e, 'the worker was stopped');
      else e.run.stop();
    }
  }

  /**
   * Stops taking jobs and waits for the running ones to finish (a drain), then closes the
   * connections; idempotent. Past `giveBackAfterMs` the jobs still running go back to the queue for
   * another worker: a live recording is stopped (what it made is finalized and kept), a non-live run
   * aborted and its outputs removed (it is made again whole).
   */
  close(options: { giveBackAfterMs?: number } = {}): Promise<void> {
    if (this._closed === undefined) {
      this._closing = true;
      const after = options.giveBackAfterMs;
      if (after !== undefined) this._deadline = setTimeout(() => this._giveBackAll(`the worker's drain passed its deadline of ${after} ms`), Math.min(after, MAX_TIMEOUT_MS));
      this._closed = this._worker.close().finally(() => {
        clearTimeout(this._deadline);
        this.monitor.close();
        this._releaseSpare();
        this._closedDone = true;
      });
    }
    return this._closed;
  }

  private _giveBackAll(reason: string): void {
    if (this._stopping) return;
    this._givingBack = reason;
    for (const e of this._running.values()) this._giveBack(e, reason);
  }

  private _giveBack(e: Entry, reason: string): void {
    if (e.givingBack !== undefined) return;
    e.givingBack = reason;
    if (e.live) e.run.stop();
    else e.run.abort();
  }

  /** How many jobs BullMQ may hold at once: the running, and one more while there is room. */
  private _fit(): number {
    const room = !this._blocked && this.admission.hasRoom(this._load());
    // BullMQ's slots are the queue's jobs: sessions hold admission, not slots.
    const next = Math.max(1, Math.min(this._cap, this.admission.running - this._sessions.size + (room ? 1 : 0)));
    this._worker.concurrency = next;
    return next;
  }

  /** A new load sample: a worker held back looks again, and BullMQ's loop is woken to fetch. */
  private _sampled(): void {
    if (this._closing || !this._started) return;
    const before = this._worker.concurrency;
    this._blocked = false;
    if (this._fit() > before) void this._wake();
  }

  /** BullMQ's loop waits for a running job before it looks at its concurrency again: pausing and resuming wakes it. */
  private async _wake(): Promise<void> {
    await this._worker.pause(true);
    if (!this._closing) await this._worker.resume();
  }

  /** BullMQ's processor: admits the job or gives it back, then runs it in a process of its own. */
  private async _process(job: Job<JobData, JobResult>, token: string | undefined, signal: AbortSignal | undefined): Promise<JobResult> {
    const id = job.id!;
    // Fetched as a drain began: not started here.
    if (this._closing) return this._putBack(job, token, 0);
    // The record checked as it came (another version's fails here, for good).
    const config = this._typed(() => jobConfig(job.data));
    const d = job.data.distributed;
    if (d !== undefined) {
      // Its chunks' jobs are queued from the job's process, which needs the connection as data.
      try {
        structuredClone(this._connection);
      } catch {
        throw new this._bull.UnrecoverableError('JOB_FAILED: a distributed export needs workers whose Redis connection is a URL or plain options (it is passed to the job\'s process)');
      }
      // The export waits on its chunks: a worker that runs one job at a time would wait on itself, and
      // one holding exports only would have no room left for the chunks they wait on.
      const why = this._cap < 2 ? 'a distributed export needs a worker with room for its chunks beside it (--concurrency 2 or more)'
        : this._exports > 0 ? 'this worker already runs a distributed export: one at a time, so its chunks have room'
          : undefined;
      if (why !== undefined) {
        this.emit('refused', { id, reason: why, cost: estimateJobCost(config, this.admission.cores, true) });
        return this._putBack(job, token, REFUSED_IDLE_DELAY_MS);
      }
      // Counted at once: another export fetched meanwhile sees this one.
      this._exports++;
    }
    const estimate = estimateJobCost(config, this.admission.cores, d !== undefined);
    const cost = typeof job.data.cost === 'number' ? { ...estimate, cpu: job.data.cost } : estimate;
    try {
      await this._admit(job, token, cost, d !== undefined);
    } catch (err) {
      if (d !== undefined) this._exports--;
      throw err;
    }
    let entry: Entry | undefined;
    let staged: StagedInputs | undefined;
    let chunks: { storage: Storage; prefix: string } | undefined;
    try {
      // Each run counts, whether it fails, is given back or its worker dies: `{retry}` names its
      // outputs. A job queued by a version before this count: BullMQ's attempts stand for it.
      const runs = (job.data.runs ?? Math.max(0, (job.attemptsStarted ?? 1) - 1)) + 1;
      await job.updateData({ ...job.data, runs });
      const retry = runs - 1;
      const init = withRetry(job.data.config, retry);
      this._typed(() => jobConfig({ ...job.data, config: init }));
      // s3:// inputs fetched to this machine first (removed when the run ends).
      staged = await this._typedAsync(stageInputs(init));
      // A distributed export's chunks go to the queue as jobs naming this one, through its storage,
      // where what earlier runs left is cleared first, and this run's chunks when it ends.
      const distributed = d === undefined ? undefined : {
        connection: this._connection, queue: this.name, parent: { id, retry },
        storage: config.storage!.storage as StorageSpec, inputs: staged.originals, chunks: d.chunks,
      };
      if (distributed !== undefined) {
        chunks = { storage: storageOf(distributed.storage), prefix: chunkPrefix(id, retry) };
        await chunks.storage.removePrefix?.(chunkPrefix(id)).catch(() => undefined);
      }
      const run = new JobRun(staged.init, PROGRESS_MS, distributed);
      entry = { id, retry, cost, progress: undefined, pid: run.pid, run, givingBack: undefined, lost: false, live: config.live, stopGivesBack: d !== undefined };
      this._running.set(id, entry);
      const e = entry;
      // A drain's deadline passed while this one was starting: it goes back too.
      if (this._givingBack !== undefined) this._giveBack(e, this._givingBack);
      // A job cancelled through BullMQ (cancelJob) stops its run as Ctrl-C would: what was made is finalized.
      signal?.addEventListener('abort', () => e.run.stop(), { once: true });
      run.on('progress', (p) => this._progress(job, e, p));
      this.emit('active', { id, retry, cost, progress: undefined, pid: run.pid });
      // A non-live run given back is made again whole: its partial outputs go (a live one's recording stays, kept).
      const removePartial = async (): Promise<void> => {
        if (!e.live) await Promise.all(outputPaths(init).map((p) => rm(p, { force: true })));
      };
      let result;
      try {
        result = await this._typedAsync(run.done);
      } catch (err) {
        // A run aborted to go back to the queue (or whose lock was lost) and killed past its grace goes as it would have.
        await this._endedElsewhere(job, token, e, removePartial);
        throw err;
      }
      this._dropped += result.queues.reduce((n, q) => n + q.dropped, 0) - (e.progress?.dropped ?? 0);
      await this._endedElsewhere(job, token, e, removePartial);
      if (result.status !== 'COMPLETE' && result.status !== 'LIMIT_REACHED') throw new Error(failureReason(result));
      // What earlier attempts wrote under names of their own (without `{retry}` theirs are this one's).
      const own = new Set(outputPaths(init));
      const kept: string[] = [];
      for (let r = 0; r < retry; r++) kept.push(...outputPaths(withRetry(job.data.config, r)).filter((p) => !own.has(p) && existsSync(p)));
      return { ...result, job: { id, retry, kept } };
    } finally {
      if (d !== undefined) this._exports--;
      await staged?.cleanup();
      if (chunks !== undefined) {
        await chunks.storage.removePrefix?.(chunks.prefix).catch((err: Error) => this.emit('warning', { message: `chunk files under ${chunks!.prefix} not removed: ${err.message}`, jobId: id }));
        await chunks.storage.close?.();
      }
      this._ended(id, entry);
    }
  }

  /**
   * Admits a job of `cost` or puts it back in the queue (throwing BullMQ's error for that); one that
   * could never fit in this worker's memory fails for good.
   */
  private async _admit(job: Job<unknown, unknown>, token: string | undefined, cost: JobCost, waiting = false): Promise<void> {
    const limit = memoryLimit() - this.admission.memoryHeadroomBytes;
    if (cost.memoryBytes > limit) {
      throw new this._bull.UnrecoverableError(`JOB_FAILED: needs ${mib(cost.memoryBytes)} MiB of memory by its estimate; this worker has at most ${mib(Math.max(0, limit))} beyond its headroom`);
    }
    const decision = this.admission.decide(job.id!, cost, this._load(), waiting);
    if (!decision.admit) {
      this.emit('refused', { id: job.id!, reason: decision.reason, cost });
      const idle = this.admission.running === 0;
      this._blocked = !idle;
      this._fit();
      await this._putBack(job, token, idle ? REFUSED_IDLE_DELAY_MS : 0);
    }
    this._fit();
  }

  /** A distributed export's chunk: admitted as any job, encoded in a process of its own, its packets put in the export's storage. */
  private async _processChunk(job: Job<ChunkJobData, ChunkJobResult>, token: string | undefined, signal: AbortSignal | undefined): Promise<ChunkJobResult> {
    const id = job.id!;
    if (this._closing) return this._putBack(job, token, 0);
    const d = job.data;
    const problem = chunkJobProblem(d);
    if (problem !== undefined) throw new this._bull.UnrecoverableError(`CONFIG_INVALID: not an avpipe chunk job of version 1: ${problem}`);
    // A chunk of an export no longer running (stopped, failed, run again) is not made for nothing.
    if (!(await this._exportRunning(d))) throw new this._bull.UnrecoverableError(`JOB_FAILED: its export ${d.parent} is not running its run ${d.parentRetry + 1} any more`);
    const cost = chunkJobCost(d.work.encoder.width, d.work.encoder.height);
    await this._admit(job, token, cost);
    let entry: Entry | undefined;
    try {
      const runs = (d.runs ?? 0) + 1;
      await job.updateData({ ...d, runs });
      // Asked again before its packets are stored: an export that ended meanwhile has removed its chunks already.
      const run = new ChunkJobRun(d, this.id, runs - 1, () => this._exportRunning(d));
      entry = { id, retry: runs - 1, cost, progress: undefined, run, givingBack: undefined, lost: false, live: false, stopGivesBack: true };
      this._running.set(id, entry);
      const e = entry;
      if (this._givingBack !== undefined) this._giveBack(e, this._givingBack);
      signal?.addEventListener('abort', () => run.abort(), { once: true });
      this.emit('active', { id, retry: e.retry, cost, progress: undefined });
      let result: ChunkJobResult | undefined;
      let failure: unknown;
      await run.done.then((r) => (result = r), (err: unknown) => (failure = err));
      await this._endedElsewhere(job, token, e);
      // Its export ended while it ran: no run of it is wanted any more.
      if (failure instanceof AvpipeError && failure.code === 'ABORTED') throw new this._bull.UnrecoverableError(`JOB_FAILED: ${failure.message}`);
      if (result === undefined) throw this._reason(failure);
      return result;
    } finally {
      this._ended(id, entry);
    }
  }

  /**
   * Whether the export a chunk belongs to is still running the run that queued it. The worker reads
   * jobs of its own queue with its own connection (BullMQ's Job.fromId takes any of its queue
   * clients: a Worker is one). Redis unreachable is an error, retried by BullMQ, not an answer.
   */
  private async _exportRunning(d: ChunkJobData): Promise<boolean> {
    const parent = await this._bull.Job.fromId(this._worker as never, d.parent);
    if (parent === undefined || (parent.data as JobData).runs !== d.parentRetry + 1) return false;
    return parent.isActive();
  }

  private _progress(job: Job<JobData, JobResult>, e: Entry, p: PipelineProgress): void {
    const progress: JobProgress = {
      status: p.status,
      mediaTimeMs: p.mediaTimeMs,
      percent: p.totalMs === null || p.totalMs <= 0 ? null : Math.min(100, (100 * p.mediaTimeMs) / p.totalMs),
      speed: p.speed,
      dropped: p.dropped,
    };
    this._dropped += p.dropped - (e.progress?.dropped ?? 0);
    e.progress = progress;
    this.emit('progress', { id: e.id, progress });
    job.updateProgress(progress as unknown as object).catch((err: Error) => this.emit('warning', { message: `progress not saved: ${err.message}`, jobId: e.id }));
  }

  /**
   * After a run: one whose lock was lost fails this attempt (another worker may be running it); one
   * given back (`clear` first removes what it must not leave) goes back to the queue. Either throws.
   */
  private async _endedElsewhere(job: Job<unknown, unknown>, token: string | undefined, e: Entry, clear?: () => Promise<void>): Promise<void> {
    if (e.lost) throw new Error('JOB_FAILED: its lock was lost, and another worker may be running it: this run was aborted');
    if (e.givingBack === undefined) return;
    await clear?.();
    this.emit('givenBack', { id: e.id, reason: e.givingBack });
    await this._putBack(job, token, 0);
  }

  /** A run's end, whatever it was: its cost released, and the worker looks again for room. */
  private _ended(id: string, entry: Entry | undefined): void {
    if (entry !== undefined) this._running.delete(id);
    this.admission.release(id);
    this._blocked = false;
    this._fit();
  }

  /** Puts a job back in the queue (after `delayMs`, or at the head of the line) and tells BullMQ so. */
  private async _putBack(job: Job<unknown, unknown>, token: string | undefined, delayMs: number): Promise<never> {
    if (delayMs > 0) {
      await job.moveToDelayed(Date.now() + delayMs, token);
      throw new this._bull.DelayedError();
    }
    await job.moveToWait(token);
    throw new this._bull.WaitingError();
  }

  /** `fn`'s value; an AvpipeError it throws crosses the queue as `CODE: message` (a bad config is never retried). */
  private _typed<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw this._reason(err);
    }
  }

  private async _typedAsync<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      throw this._reason(err);
    }
  }

  private _reason(err: unknown): unknown {
    if (!(err instanceof AvpipeError)) return err;
    const reason = `${err.code}: ${err.message}`;
    return err.code === 'CONFIG_INVALID' ? new this._bull.UnrecoverableError(reason) : new Error(reason);
  }
}

/** A worker that runs avpipe jobs from the queue `name` until closed (taking jobs at once unless `autorun: false`). */
export async function createWorker(options: JobWorkerOptions): Promise<JobWorker> {
  const bull = await import('bullmq');
  const worker = new JobWorker(bull, options);
  if (options.autorun !== false) await worker.run();
  return worker;
}
