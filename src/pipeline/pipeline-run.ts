import type { DecoderStats } from '../codecs/decoder-node.js';
import type { DriftStats } from '../convert/drift-corrector.js';
import type { EncoderStats } from '../codecs/encoder-node.js';
import type { OutputSpec } from '../config/outputs.js';
import type { AvpipeError } from '../errors.js';
import type { QueueStats } from '../queues/bounded-queue.js';
import type { TeePortStats } from '../queues/tee.js';
import type { Microseconds } from '../time.js';
import type { ChunkResult } from './chunk-pool.js';
import type { OutputResult } from './outputs.js';
import type { PauseRecord } from './pause-cuts.js';
import type { PipelinePlan, TrackMode } from './plan.js';

/** One track's entry in a result. */
export interface TrackResult {
  /** The source's ID for the track: e.g. `0:video` or `1:audio0` from files, `test-audio` from the test source. */
  id: string;
  /** Video or audio. */
  kind: 'video' | 'audio';
  /** `copy` (passthrough: its packets as they came) or `transcode` (decoded and encoded again; a split encode too). */
  mode: TrackMode;
  /** Why it was re-encoded; empty for a copy. */
  reasons: readonly string[];
  /** An audio track whose clock drift was corrected (a WebRTC publisher's, transcoded): what was measured and done. */
  drift?: DriftStats;
}

/**
 * What the controller drives: a plan made real, opened, run, finalized, counted. The graph of stream
 * nodes is one; a remux (an MP4 copied in blocks) is the other.
 * @internal
 */
export interface PipelineRun {
  readonly plan: PipelinePlan;
  /** The first real error of the run, if any. */
  readonly error: AvpipeError | undefined;
  /** True once a limit ended (or is ending) the run. */
  readonly limitReached: boolean;
  /** Opens every output. */
  open(): Promise<void>;
  /** Runs to the end; throws the first failure. */
  run(): Promise<void>;
  /** The run is being stopped (the source is told too): a stage that makes media of its own ends it. */
  ending(): void;
  /** Aborts the run with `error`. */
  fail(error: AvpipeError): void;
  /** Completes every output (finalized, or removed); throws the first failure. */
  finalize(): Promise<void>;
  /** Removes every output without finalizing (a run aborted before it was active). */
  discard(): Promise<void>;
  addOutput(spec: OutputSpec): Promise<void>;
  removeOutput(name: string): Promise<OutputResult>;
  setMuted(kind: 'video' | 'audio', muted: boolean): void;
  onOutputsGone(fn: () => void): void;
  queueStats(): (QueueStats | TeePortStats)[];
  itemsIn(kind: 'video' | 'audio'): number;
  encoderStats(): EncoderStats[];
  decoderStats(): DecoderStats[];
  trackModes(): TrackResult[];
  mediaTime(): Microseconds;
  bytes(): number;
  outputResults(): OutputResult[];
  /** The chunks of a split encode, in order; empty when the run was not split. */
  chunks(): ChunkResult[];
  /** Cuts the media from here until resume() (live runs); false when already paused or not live. */
  pause(): boolean;
  resume(): boolean;
  readonly paused: boolean;
  pauses(): PauseRecord[];
}
