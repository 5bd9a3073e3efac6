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
  /** The run's status when the report was made. */
  status: PipelineStatus;
  /** Media time written to every output so far, ms. */
  mediaTimeMs: number;
  /** Frames (video) and buffers (audio) taken in from the source, per track kind. */
  frames: {
    /** Video frames taken in (packets, when the video is copied or its encode split). */
    video: number;
    /** Audio buffers taken in (packets, when the audio is copied). */
    audio: number;
  };
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
  /** The stable code to branch on (docs/errors.md says what each means and what to do). */
  code: AvpipeErrorCode;
  /** What went wrong, for people; not to be parsed. */
  message: string;
  /** Whether the run could not go on after it; false for one it went on past (a failed upload, a stream output that gave up). */
  fatal: boolean;
  /** The underlying error's message, when there was one. */
  cause?: string;
}

/** What a run returns. */
export interface PipelineResult {
  /** How the run ended: COMPLETE, FAILED, ABORTED or LIMIT_REACHED. */
  status: PipelineStatus;
  /**
   * What failed the run (FAILED); on a COMPLETE or LIMIT_REACHED run, a non-fatal error it went on past
   * (an upload failed, a stream output gave up). Null otherwise (ABORTED included).
   */
  error: ResultError | null;
  /** The config's `live`: a live run, or a replay/export. */
  live: boolean;
  /** The codec provider that encoded, e.g. `node-av`. */
  codecProvider: string | null;
  /** Media duration, ms. */
  durationMs: number;
  /** Wall time from ACTIVE to the end, ms. */
  wallMs: number;
  /** durationMs / wallMs. */
  speed: number;
  /** Wall clock (epoch ms) when the source started producing; null when the run never got that far. */
  startedAt: number | null;
  /** Wall clock (epoch ms) when the source's last track ended (when the result was made, if it had not); null when it never started. */
  endedAt: number | null;
  /** Each output's result, in the order they were attached: the config's, then any added while running (removed ones included). */
  outputs: OutputResult[];
  /** Copied tracks' queues, then the raw tees' ports (the encoders' queues first, then raw outputs'), then each output's queue after the encoded tee. */
  queues: (QueueStats | TeePortStats)[];
  /** Per source track: copied (passthrough) or transcoded. */
  tracks: TrackResult[];
  /**
   * A non-live MP4 -> MP4 export with every track copied is a remux (the media copied in blocks under
   * a rewritten moov) when the input allows it: `used`, or why not (`reason`). Null for other runs.
   */
  remux: {
    /** True when the export was a remux. */
    used: boolean;
    /** Why it was not (the export then went packet by packet); null when it was. */
    reason: string | null;
  } | null;
  /** The chunks of a split video encode (`parallel`), in order; empty when the run was not split. */
  chunks: ChunkResult[];
  /** Each encoder's counters (one per ladder rung; a split encode's chunks as one); empty when nothing was encoded. */
  encoders: EncoderStats[];
  /** Each decoder's counters (encoded input that is transcoded); empty when nothing was decoded here (a split's workers decode their own). */
  decoders: DecoderStats[];
  /** What went to storage, when the config has one. */
  uploads: UploadsResult | null;
  /** What the run worked around (a truncated input, timestamp jumps); empty on a clean run. */
  warnings: ResultWarning[];
  /** Each pause of a live run (controller.pause()/resume()), cut out of the outputs; empty when none. */
  pauses: PauseRecord[];
}
