import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Queue, QueueEvents } from 'bullmq';
import type { EncoderStats } from '../codecs/encoder-node.js';
import type { ChunkWorkerData } from '../pipeline/chunk-protocol.js';
import type { ChunkRunner, ChunkRunnerEvents } from '../pipeline/chunk-runner.js';
import type { ChunkSpan, SplitPlan } from '../pipeline/plan.js';
import type { Storage } from '../storage/storage.js';
import { storageOf, type StorageSpec } from '../storage/storage-spec.js';
import { decodeChunkFile } from './chunk-file.js';
import { jobError } from './job-data.js';
import { connectionOptions, type RedisConnection } from './job-queue.js';

/** The BullMQ job name of a distributed export's chunk. */
export const CHUNK_JOB = 'chunk';
/** Runs of a chunk before the export fails: a chunk that failed is run again alone. */
const CHUNK_ATTEMPTS = 3;

/** A chunk job's data: what the chunk worker thread needs, and where its packets go. */
export interface ChunkJobData {
  version: 1;
  kind: 'chunk';
  /** The export's job id. */
  parent: string;
  chunk: ChunkSpan;
  /**
   * The chunk worker's data, as JSON carries it ({@link chunkWorkToJson}): a file source's path as the
   * export gave it (an s3:// URL is fetched by the worker), its decoder description in base64.
   */
  work: ChunkWorkerData;
  /** The export's storage: the chunk's packets go there, as `key`. */
  storage: StorageSpec;
  key: string;
  /** Runs started so far (set by the workers). */
  runs?: number;
}

/** A chunk job's result: where its packets are and what encoding them took. */
export interface ChunkJobResult {
  key: string;
  stats: EncoderStats;
  leadInFrames: number;
  wallMs: number;
  /** The worker that encoded it (`JobWorker.id`). */
  worker: string;
  bytes: number;
}

/** A file split's decoder description (bytes) as base64, so the chunk job's data survives JSON. */
export function chunkWorkToJson(work: ChunkWorkerData): ChunkWorkerData {
  const src = work.source;
  if (src.type !== 'file' || src.decoderConfig.description === undefined) return work;
  return { ...work, source: { ...src, decoderConfig: { ...src.decoderConfig, description: Buffer.from(src.decoderConfig.description).toString('base64') as unknown as Uint8Array } } };
}

/** The chunk worker's data back from JSON: the description's bytes again. */
export function chunkWorkFromJson(work: ChunkWorkerData): ChunkWorkerData {
  const src = work.source;
  const d = src.type === 'file' ? (src.decoderConfig.description as unknown) : undefined;
  if (src.type !== 'file' || typeof d !== 'string') return work;
  return { ...work, source: { ...src, decoderConfig: { ...src.decoderConfig, description: new Uint8Array(Buffer.from(d, 'base64')) } } };
}

/** Where a distributed export's parent job is, for its chunk jobs. @internal */
export interface DistributedContext {
  connection: RedisConnection;
  queue: string;
  /** The parent job: its id, its run, and BullMQ's qualified name of its queue. */
  parent: { id: string; retry: number; queueKey: string };
  storage: StorageSpec;
  /** What the export's config named as inputs, by the local paths the parent reads: chunk workers fetch the originals. */
  inputs: Record<string, string>;
}

/**
 * A distributed export's chunks as jobs on the queue: children of the export's job (a BullMQ flow),
 * all queued at once for whichever workers take them, each run again alone when it fails (up to 3
 * runs). A chunk's packets come back through the export's storage, read once the chunk job
 * completes; the chunk objects are removed when the export ends.
 */
export class JobChunkRunner implements ChunkRunner {
  readonly slots: number;
  private readonly _ctx: DistributedContext;
  private readonly _data: ChunkWorkerData;
  private _queue: Queue | undefined;
  private _events: QueueEvents | undefined;
  private _handlers: ChunkRunnerEvents | undefined;
  private readonly _storage: Storage;
  /** Chunk jobs by id: their slot, and whether they are done. */
  private readonly _jobs = new Map<string, { slot: number; chunk: ChunkSpan; done: boolean }>();
  private readonly _keys = new Set<string>();
  private _dir: Promise<string> | undefined;
  private _closed = false;

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
    this._events.on('completed', ({ jobId, returnvalue }) => void this._completed(jobId, returnvalue as unknown));
    this._events.on('failed', ({ jobId, failedReason }) => this._failed(jobId, failedReason));
    await this._events.waitUntilReady();
    this._queue = new Queue(this._ctx.queue, { connection });
  }

  encode(slot: number, chunk: ChunkSpan): void {
    const { parent } = this._ctx;
    // The parent's run in the id: a parent run again (its worker died) makes its chunks again.
    const jobId = `${parent.id}-r${parent.retry}-chunk-${chunk.index}`;
    const key = `.avpipe-chunks/${parent.id}/r${parent.retry}/chunk-${chunk.index}`;
    this._jobs.set(jobId, { slot, chunk, done: false });
    const data: ChunkJobData = { version: 1, kind: 'chunk', parent: parent.id, chunk, work: chunkWorkToJson(this._data), storage: this._ctx.storage, key, runs: 0 };
    this._queue!.add(CHUNK_JOB, data as never, {
      jobId,
      parent: { id: parent.id, queue: parent.queueKey },
      attempts: CHUNK_ATTEMPTS,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 3600 },
      removeOnFail: { age: 7 * 24 * 3600 },
    }).catch((err: Error) => this._handlers?.failed(slot, `chunk ${chunk.index} could not be queued: ${err.message}`));
  }

  async close(): Promise<void> {
    if (this._closed) return;
    this._closed = true;
    // Chunks nobody took yet are not made for nothing (a running one finishes and is dropped).
    await Promise.all([...this._jobs].filter(([, j]) => !j.done).map(([id]) => this._queue?.remove(id).catch(() => 0)));
    await Promise.all([this._events?.close(), this._queue?.close()]);
    await Promise.all([...this._keys].map((k) => this._storage.remove?.(k).catch(() => undefined)));
    await this._storage.close?.();
    if (this._dir !== undefined) await rm(await this._dir, { recursive: true, force: true });
  }

  private async _completed(jobId: string, value: unknown): Promise<void> {
    const j = this._jobs.get(jobId);
    if (j === undefined || j.done || this._closed) return;
    j.done = true;
    try {
      const r = (typeof value === 'string' ? JSON.parse(value) : value) as ChunkJobResult;
      this._keys.add(r.key);
      this._dir ??= mkdtemp(join(tmpdir(), 'avpipe-chunks-'));
      const local = join(await this._dir, `chunk-${j.chunk.index}`);
      if (this._storage.download === undefined) throw new Error(`${this._storage.name} cannot be read back`);
      await this._storage.download(r.key, local);
      const { decoderConfig, packets } = decodeChunkFile(await readFile(local), `${j.chunk.index} (${r.key})`);
      await rm(local, { force: true });
      if (this._closed) return;
      const index = j.chunk.index;
      this._handlers?.message(j.slot, { type: 'packets', index, packets, ...(decoderConfig === undefined ? {} : { decoderConfig }) }, r.worker);
      this._handlers?.message(j.slot, { type: 'done', index, stats: r.stats, leadInFrames: r.leadInFrames, wallMs: r.wallMs }, r.worker);
    } catch (err) {
      this._handlers?.failed(j.slot, `chunk ${j.chunk.index}'s packets could not be read back: ${(err as Error).message}`);
    }
  }

  /** The queue reports a failure only when it is final: every run of the chunk failed. */
  private _failed(jobId: string, reason: string): void {
    const j = this._jobs.get(jobId);
    if (j === undefined || j.done || this._closed) return;
    j.done = true;
    const e = jobError(jobId, reason);
    this._handlers?.message(j.slot, { type: 'error', index: j.chunk.index, code: e.code, message: `after ${CHUNK_ATTEMPTS} runs: ${e.message}` }, -1);
  }
}

