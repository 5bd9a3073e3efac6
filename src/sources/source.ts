import type { AudioData } from '../media/audio-data.js';
import type { EncodedChunk } from '../media/encoded-chunk.js';
import type { VideoFrame } from '../media/video-frame.js';
import type { PipelineConfig } from '../config/pipeline-config.js';
import type { TrackInfo } from './track-info.js';

/** A raw media item a source produces. */
export type RawMedia = VideoFrame | AudioData;

/** What a source's track stream carries: raw frames, or encoded chunks for tracks declared `encoded`. */
export type SourceMedia = RawMedia | EncodedChunk;

/** Every warning code a result may carry (docs/errors.md documents each). */
export const WARNING_CODES = ['INPUT_TRUNCATED', 'TIMESTAMP_JUMP', 'LEADING_PACKETS_DROPPED', 'INPUT_OUTSIDE_SPAN'] as const;

/**
 * Something the run worked around and reports: an input whose data ends before its header says
 * (`INPUT_TRUNCATED`), timestamps that jumped further than `limits.maxGap` and were closed up instead of
 * filled (`TIMESTAMP_JUMP`), a video's packets before its first keyframe (`LEADING_PACKETS_DROPPED`), an
 * input left out because its span starts after its media ends (`INPUT_OUTSIDE_SPAN`).
 */
export interface ResultWarning {
  /** What kind of workaround it was (one of {@link WARNING_CODES}). */
  code: (typeof WARNING_CODES)[number];
  /** The warning in words, naming its input. */
  message: string;
  /** The input (file path, or publisher track) it concerns. */
  input: string;
  /** Media time where it happened (where the data ended; the first jump), ms on the session timeline. */
  atMs: number;
}

/**
 * A source of raw media in media time (egress's Source, with inversion of control: it is built
 * outside the pipeline and handed in). The lifecycle is: `prepare()` declares the tracks (it reads
 * the config, never writes it), the graph asks `readable()` for each track, `start()` opens the gate, and the
 * source closes each track's stream at its end (end of stream). `stop()` asks for that end early.
 */
export interface Source {
  /** Short name for results and errors. */
  readonly name: string;
  /**
   * True for a source whose media comes at 1x whatever the pipeline asks (a publisher), GStreamer's
   * is-live: a pipeline with it must be live. File and test sources are paced only when asked.
   */
  readonly alwaysLive?: boolean;
  /** Declares the tracks before the graph is built; the graph is planned from what it returns. */
  prepare(config: PipelineConfig): Promise<readonly TrackInfo[]>;
  /** The stream of one declared track. Called once per track, before `start()`. */
  readable(trackId: string): ReadableStream<SourceMedia>;
  /** Starts producing: live sources start their clock here. */
  start(): void;
  /** Ends every track at its next item boundary (a graceful end of stream). Idempotent. */
  stop(): void;
  /** Media duration in microseconds when known after `prepare()` (a file), for progress and ETA. */
  readonly durationUs?: number | undefined;
  /** Resolves when every track has ended. */
  readonly ended: Promise<void>;
  /** Unix ms when production started, once started. */
  readonly startedAt: number | undefined;
  /** Unix ms when the last track ended, once ended. */
  readonly endedAt: number | undefined;
  /**
   * Registers a listener told when a track stops or starts sending (a live publisher's mute), for
   * outputs that report it (egress's WebSocket `{"muted": ...}`). Sources without mutes lack it.
   */
  onMute?(listener: (kind: 'video' | 'audio', muted: boolean) => void): void;
  /**
   * For a track declared `splittable` that must be checked before a split encode uses it (a file's, read
   * by its timing): why it cannot be split, or null. Called after `prepare()`, only when a split is planned.
   */
  splitProblem?(trackId: string): Promise<string | null>;
  /** Asks for a keyframe on a video track (a WebRTC publisher: a PLI), where the source can. */
  requestKeyframe?(trackId: string): void;
  /** What the source worked around so far (truncated input, timestamp jumps), for the run's result. */
  warnings?(): readonly ResultWarning[];
  /** Releases what the source holds; idempotent. */
  close(): Promise<void>;
}
