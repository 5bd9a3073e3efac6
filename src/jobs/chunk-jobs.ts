import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Queue, QueueEvents } from 'bullmq';
import type { ChunkWorkerData } from '../pipeline/chunk-protocol.js';
import type { ChunkRunner, ChunkRunnerEvents } from '../pipeline/chunk-runner.js';
import type { ChunkSpan, SplitPlan } from '../pipeline/plan.js';
import type { Storage } from '../storage/storage.js';
import { storageOf, type StorageSpec } from '../storage/storage-spec.js';
import { decodeChunkFile } from './chunk-file.js';
import { CHUNK_JOB, chunkJobId, chunkPrefix, chunkWorkToJson, type ChunkJobData, type ChunkJobResult } from './chunk-job-data.js';
import { jobError } from './job-data.js';
import { connected, connectionOptions, type RedisConnection } from './job-queue.js';

/** Runs of a chunk before the export fails: a chunk that failed is run again alone. */
const CHUNK_ATTEMPTS = 3;
/** Chunks read back ahead of the one being handed on: the export holds at most this many and that one. */
const READ_AHEAD = 2;
/** How often the chunk jobs' states are read, besides the queue's events (one missed must not hang the export). */
const POLL_MS = 5000;

/** Where a distributed export's parent job is, for its chunk jobs. @internal */
export interface DistributedContext {
  connection: RedisConnection;
  queue: string;
  /** The export's job: its id and its run. */
  parent: { id: string; retry: number };
  storage: StorageSpec;
  /** What the export's config named as inputs, by the local paths the parent reads: chunk workers fetch the originals. */
  inputs: Record<string, string>;
}

/**
 * A distributed export's chunks as jobs on the queue, all queued at once for whichever workers take
 * them, each run again alone when it fails (up to 3 runs). Their ids name the export and its run (not
 * BullMQ's parent/child flow: a flow's parent cannot complete while a child is still pending or
 * failed, which a stopped or retried export leaves). A chunk's packets come back through the export's
 * storage; a completed chunk is read back only when it is among the next to hand on, so the export
 * holds a few chunks, not the whole video. The queue's events say when a chunk is done, and the
 * chunks' states are read every 5 s besides, so an event missed (a reconnection) cannot hang it.
 */
export class JobChunkRunner implements ChunkRunner {
  readonly slots: number;
  private readonly _ctx: DistributedContext;
  private readonly _data: ChunkWorkerData;
  private _queue: Queue | undefined;
  private _events: QueueEvents | undefined;
  private _handlers: ChunkRunnerEvents | undefined;
  private readonly _storage: Storage;
  /** Chunk jobs by id: their slot and chunk, their result once completed, whether handled. */
  private readonly _jobs = new Map<string, { slot: number; chunk: ChunkSpan; added: boolean; result?: ChunkJobResult; state: 'queued' | 'completed' | 'delivered' | 'failed' }>();
  private _checking = false;
  /** The chunks' jobs being added. */
  private readonly _adding: Promise<unknown>[] = [];
  /** Chunks handed on by the pool: the next to read back is above it. */
  private _handedOn = -1;
  private _reading = false;
  private _poll: NodeJS.Timeout | undefined;
  private _dir: Promise<string> | undefined;
  private _closed: Promise<void> | undefined;

  constructor(ctx: DistributedContext, plan: SplitPlan, data: ChunkWorkerData) {
    this._ctx = ctx;
    this.slots = plan.chunks.length;
    // A file's path as the export's config named it: the worker that takes a chunk reads it there.
    this._data = data.source.type === 'file' ? { ...data, source: { ...data.source, path: ctx.inputs[data.source.path] ?? data.source.path } } : data;
    this._storage = storageOf(ctx.storage);
  }

  async start(events: ChunkRunnerEvents): Promise<void> {
    this._handlers = events;
    const { Queue, QueueEvents } = await import('bullmq');
    const connection = connectionOptions(this._ctx.connection);
    this._events = new QueueEvents(this._ctx.queue, { connection });
    this._events.on('completed', ({ jobId, returnvalue }) => this._completed(jobId, returnvalue as unknown));
    this._events.on('failed', ({ jobId, failedReason }) => this._failed(jobId, failedReason));
    await connected(this._events, connection);
    this._queue = new Queue(this._ctx.queue, { connection });
    this._poll = setInterval(() => void this._check(), POLL_MS);
    this._poll.unref();
  }

  encode(slot: number, chunk: ChunkSpan): void {
    const { parent } = this._ctx;
    // The export's run in the id: an export run again (its worker died) makes its chunks again.
    const jobId = chunkJobId(parent.id, parent.retry, chunk.index);
    const key = `${chunkPrefix(parent.id, parent.retry)}chunk-${chunk.index}`;
    this._jobs.set(jobId, { slot, chunk, added: false, state: 'queued' });
    const data: ChunkJobData = { version: 1, kind: 'chunk', parent: parent.id, parentRetry: parent.retry, chunk, work: chunkWorkToJson(this._data), storage: this._ctx.storage, key, runs: 0 };
    this._adding.push(this._queue!.add(CHUNK_JOB, data as never, {
      jobId,
      attempts: CHUNK_ATTEMPTS,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    }).then(() => (this._jobs.get(jobId)!.added = true), (err: Error) => this._handlers?.failed(slot, `chunk ${chunk.index} could not be queued: ${err.message}`)));
  }

  /** The pool handed on chunk `index` whole: the next ones may be read back. */
  handedOn(index: number): void {
    this._handedOn = Math.max(this._handedOn, index);
    void this._deliver();
  }

  /** Removes the chunks nobody took yet and closes the connections; the storage's chunk objects go with the run (JobWorker). Idempotent. */
  close(): Promise<void> {
    this._closed ??= (async () => {
      clearInterval(this._poll);
      await Promise.allSettled(this._adding);
      // Chunks not taken yet are not made for nothing (a running one finds its export gone before it stores its packets).
      await Promise.all([...this._jobs].filter(([, j]) => j.state === 'queued').map(([id]) => this._queue?.remove(id).catch(() => 0)));
      await Promise.all([this._events?.close(), this._queue?.close()]);
      await this._storage.close?.();
      if (this._dir !== undefined) await rm(await this._dir, { recursive: true, force: true });
    })();
    return this._closed;
  }

  private _completed(jobId: string, value: unknown): void {
    const j = this._jobs.get(jobId);
    if (j === undefined || j.state !== 'queued' || this._closed !== undefined) return;
    let r: ChunkJobResult;
    try {
      r = (typeof value === 'string' ? JSON.parse(value) : value) as ChunkJobResult;
    } catch {
      return this._fail(j, 'its result is not JSON');
    }
    // The key is the one this export gave the chunk: a result cannot point elsewhere in the storage.
    const own = `${chunkPrefix(this._ctx.parent.id, this._ctx.parent.retry)}chunk-${j.chunk.index}-run`;
    if (typeof r?.key !== 'string' || !r.key.startsWith(own) || !/^\d+$/.test(r.key.slice(own.length))) return this._fail(j, `its result names ${JSON.stringify(r?.key)}, not a key of its own`);
    j.result = r;
    j.state = 'completed';
    void this._deliver();
  }

  /** The queue reports a failure only when it is final: every run of the chunk failed. */
  private _failed(jobId: string, reason: string): void {
    const j = this._jobs.get(jobId);
    if (j === undefined || j.state !== 'queued' || this._closed !== undefined) return;
    const e = jobError(jobId, reason);
    j.state = 'failed';
    this._handlers?.message(j.slot, { type: 'error', index: j.chunk.index, code: e.code, message: `failed for good: ${e.message}` }, -1);
  }

  private _fail(j: { slot: number; chunk: ChunkSpan; state: string }, why: string): void {
    j.state = 'failed';
    this._handlers?.failed(j.slot, `chunk ${j.chunk.index}: ${why}`);
  }

  /** Reads back, in order, the completed chunks within the read-ahead of the one being handed on. */
  private async _deliver(): Promise<void> {
    if (this._reading) return;
    this._reading = true;
    try {
      for (const j of [...this._jobs.values()].sort((a, b) => a.chunk.index - b.chunk.index)) {
        if (this._closed !== undefined) return;
        if (j.state === 'delivered') continue;
        if (j.state !== 'completed' || j.chunk.index > this._handedOn + READ_AHEAD) return;
        await this._readBack(j as typeof j & { result: ChunkJobResult });
        j.state = 'delivered';
      }
    } finally {
      this._reading = false;
    }
  }

  private async _readBack(j: { slot: number; chunk: ChunkSpan; result: ChunkJobResult }): Promise<void> {
    const r = j.result;
    try {
      this._dir ??= mkdtemp(join(tmpdir(), 'avpipe-chunks-'));
      const local = join(await this._dir, `chunk-${j.chunk.index}`);
      if (this._storage.download === undefined) throw new Error(`${this._storage.name} cannot be read back`);
      await this._storage.download(r.key, local);
      const { decoderConfig, packets } = decodeChunkFile(await readFile(local), `${j.chunk.index} (${r.key})`);
      await rm(local, { force: true });
      const index = j.chunk.index;
      this._handlers?.message(j.slot, { type: 'packets', index, packets, ...(decoderConfig === undefined ? {} : { decoderConfig }) }, r.worker);
      this._handlers?.message(j.slot, { type: 'done', index, stats: r.stats, leadInFrames: r.leadInFrames, wallMs: r.wallMs }, r.worker);
    } catch (err) {
      this._handlers?.failed(j.slot, `chunk ${j.chunk.index}'s packets could not be read back: ${(err as Error).message}`);
    }
  }

  /** The chunks' states read from the queue: what an event missed, and a chunk job that vanished. */
  private async _check(): Promise<void> {
    if (this._checking) return;
    this._checking = true;
    try {
      await this._checkOnce();
    } finally {
      this._checking = false;
    }
  }

  private async _checkOnce(): Promise<void> {
    for (const [id, j] of this._jobs) {
      if (j.state !== 'queued' || !j.added || this._closed !== undefined) continue;
      // null: not in the queue; undefined: the queue could not be read (tried again at the next check).
      const job = await this._queue?.getJob(id).then((x) => x ?? null, () => undefined);
      if (job === undefined || this._closed !== undefined) continue;
      if (job === null) {
        this._fail(j, `its job ${id} is gone from the queue`);
        continue;
      }
      const state = await job.getState().catch(() => 'unknown');
      if (state === 'completed') this._completed(id, job.returnvalue);
      else if (state === 'failed') this._failed(id, job.failedReason);
    }
  }
}
