import type { ResultWarning } from '../sources/source.js';
import type { DecoderStats } from '../codecs/decoder-node.js';
import type { EncoderStats } from '../codecs/encoder-node.js';
import type { AvpipeErrorCode } from '../errors.js';
import type { QueueStats } from '../queues/bounded-queue.js';
import type { TrackResult } from './pipeline-run.js';
import type { ChunkResult } from './chunk-pool.js';
import type { OutputResult } from './outputs.js';
import type { PauseRecord } from './pause-cuts.js';
import type { TeePortStats } from '../queues/tee.js';
import type { UploadsResult } from '../storage/uploader.js';

export type { FileOutputResult } from '../sinks/file-output.js';
export type { OutputResult } from './outputs.js';

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
  /** The source's media duration when known (a file), ms, less the time cut by pauses; null for open-ended sources. */
  totalMs: number | null;
  /** A live run between pause() and resume(). */
  paused: boolean;
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
  outputs: OutputResult[];
  /** Copied tracks' queues, then the raw tees' ports (the encoders' queues first, then raw outputs'), then each output's queue after the encoded tee. */
  queues: (QueueStats | TeePortStats)[];
  /** Per source track: copied (passthrough) or transcoded. */
  tracks: TrackResult[];
  /**
   * A non-live MP4 -> MP4 export with every track copied is a remux (the media copied in blocks under
   * a rewritten moov) when the input allows it: `used`, or why not (`reason`). Null for other runs.
   */
  remux: { used: boolean; reason: string | null } | null;
  /** The chunks of a split video encode (`parallel`), in order; empty when the run was not split. */
  chunks: ChunkResult[];
  encoders: EncoderStats[];
  decoders: DecoderStats[];
  /** What went to storage, when the config has one. */
  uploads: UploadsResult | null;
  /** What the run worked around (a truncated input, timestamp jumps); empty on a clean run. */
  warnings: ResultWarning[];
  /** Each pause of a live run (controller.pause()/resume()), cut out of the outputs; empty when none. */
  pauses: PauseRecord[];
}
