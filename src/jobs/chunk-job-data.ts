import type { EncoderStats } from '../codecs/encoder-node.js';
import type { ChunkWorkerData } from '../pipeline/chunk-protocol.js';
import type { ChunkSpan } from '../pipeline/plan.js';
import { storageProblems, type StorageSpec } from '../storage/storage-spec.js';

/** The BullMQ job name of a distributed export's chunk. */
export const CHUNK_JOB = 'chunk';

/** Where a run of an export keeps its chunks in the storage; everything under it is removed when the run ends. */
export function chunkPrefix(parent: string, retry?: number): string {
  return retry === undefined ? `.avpipe-chunks/${parent}/` : `.avpipe-chunks/${parent}/r${retry}/`;
}

/** What is wrong with a chunk job's data (another version's, or not avpipe's), or undefined. */
export function chunkJobProblem(d: unknown): string | undefined {
  const c = d as Partial<ChunkJobData> | null;
  if (c?.version !== 1 || c.kind !== 'chunk') return 'not version 1';
  if (typeof c.parent !== 'string' || !Number.isInteger(c.parentRetry) || c.parentRetry! < 0) return 'no export named';
  const e = c.work?.encoder;
  if (e === undefined || !(Number.isInteger(e.width) && e.width > 0 && Number.isInteger(e.height) && e.height > 0 && e.width * e.height <= 8192 * 4320)) return 'no encoder size';
  const span = c.chunk;
  if (span === undefined || !(Number.isInteger(span.firstFrame) && Number.isInteger(span.endFrame) && span.endFrame > span.firstFrame)) return 'no chunk span';
  const storage = storageProblems(c.storage);
  if (storage.length > 0) return `storage ${storage[0]}`;
  if (typeof c.key !== 'string' || c.key !== `${chunkPrefix(c.parent, c.parentRetry!)}chunk-${span.index}`) return 'a key that is not its own';
  return undefined;
}

/** A chunk's job id: the export's id and run, and the chunk's index. */
export function chunkJobId(parent: string, retry: number, index: number): string {
  return `${parent}-r${retry}-chunk-${index}`;
}

/** A chunk job's data: what the chunk worker thread needs, and where its packets go. */
export interface ChunkJobData {
  version: 1;
  kind: 'chunk';
  /** The export's job id, and its run that queued this chunk: a chunk of a run no longer going is not made. */
  parent: string;
  parentRetry: number;
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
