import type { DecoderStats } from '../codecs/decoder-node.js';
import type { EncoderStats } from '../codecs/encoder-node.js';
import type { FileContainer } from '../config/codecs.js';
import type { AvpipeErrorCode } from '../errors.js';
import type { MuxerTrackStats } from '../muxers/file-muxer.js';
import type { QueueStats } from '../queues/bounded-queue.js';
import type { TrackResult } from './graph.js';

/**
 * A pipeline's status, as egress names them. STARTING -> ACTIVE -> ENDING -> COMPLETE on a good run;
 * FAILED on an error; ABORTED when stopped before it was active (or aborted); LIMIT_REACHED when a
 * duration or size limit ended it.
 */
export type PipelineStatus = 'STARTING' | 'ACTIVE' | 'ENDING' | 'COMPLETE' | 'FAILED' | 'ABORTED' | 'LIMIT_REACHED';

/** Statuses after which nothing changes. */
export const FINAL_STATUSES: readonly PipelineStatus[] = ['COMPLETE', 'FAILED', 'ABORTED', 'LIMIT_REACHED'];

/** A progress report; all durations are media time. */
export interface PipelineProgress {
  status: PipelineStatus;
  /** Media time written to every output so far, ms. */
  mediaTimeMs: number;
  /** Frames (video) and buffers (audio) taken in from the source, per track kind. */
  frames: { video: number; audio: number };
  /** Media time per wall time: 1 for a live run, above 1 when faster than realtime. */
  speed: number;
  /** Items dropped by all queues together (always 0 in a non-live run). */
  dropped: number;
  /** Bytes written to outputs. */
  bytes: number;
  /** The source's media duration when known (a file), ms; null for open-ended sources. */
  totalMs: number | null;
}

/** One file output in a result. */
export interface FileOutputResult {
  type: 'file';
  path: string;
  container: FileContainer;
  /** Bytes, or 0 when the file was removed. */
  size: number;
  /** Media duration in ms (never wall time). */
  durationMs: number;
  /** Unix ms of the first byte written. */
  startedAt: number | null;
  /** Unix ms of the file's completion. */
  endedAt: number | null;
  /** False when the output could not be finalized and was removed. */
  exists: boolean;
  tracks: MuxerTrackStats[];
}

/** The error in a result, as plain data. */
export interface ResultError {
  code: AvpipeErrorCode;
  message: string;
  fatal: boolean;
  cause?: string;
}

/** What a run returns. */
export interface PipelineResult {
  status: PipelineStatus;
  error: ResultError | null;
  live: boolean;
  /** The codec provider that encoded, e.g. `node-av`. */
  codecProvider: string | null;
  /** Media duration, ms. */
  durationMs: number;
  /** Wall time from ACTIVE to the end, ms. */
  wallMs: number;
  /** durationMs / wallMs. */
  speed: number;
  startedAt: number | null;
  endedAt: number | null;
  outputs: FileOutputResult[];
  queues: QueueStats[];
  /** Per source track: copied (passthrough) or transcoded. */
  tracks: TrackResult[];
  encoders: EncoderStats[];
  decoders: DecoderStats[];
}
