import type { UploadOptions } from '../storage/uploader.js';
import type { CodecProviderChoice } from './codecs.js';
import type { EncodingInit } from './encoding.js';
import type { OutputInit } from './outputs.js';

/** Where a track's audio goes in a stereo mix (egress's AudioRoute): both channels, or only one. */
export type AudioRoute = 'both' | 'left' | 'right';

/** The built-in test source's settings, when the config names it. */
export interface TestSourceInit {
  /** The built-in test source: a scrolling pattern that flashes white, and a 1 kHz beep, on every second (A/V sync can be read back). */
  type: 'test';
  /** Media duration in seconds; unbounded when absent (a live source then runs until stopped). */
  duration?: number;
}

/** One input file of a file source. */
export interface FileInput {
  /** Path of the input file. */
  path: string;
  /** Seconds to delay this input's media on the session timeline (default 0). */
  offset?: number;
  /** Where this input's audio goes in a stereo mix (default both channels). */
  route?: AudioRoute;
  /** Frame rate of a raw H.264 (Annex B) input, which carries no timestamps (default 30). */
  fps?: number;
  /** Seconds of the input's own media (from its first timestamp) where the span it gives starts (default 0). */
  start?: number;
  /** Seconds of its own media where its span ends (default: its end). */
  end?: number;
}

/**
 * Recorded media as the source: one or more files, each with an optional offset in seconds, each
 * optionally trimmed to a span of its own media; and the session itself optionally trimmed.
 */
export interface FileSourceInit {
  /** Recorded media read from files. */
  type: 'file';
  /**
   * `route` sends an input's audio to one side of a stereo mix; `start`/`end` (seconds of the input's
   * own media, from its first timestamp) keep only that span of it, placed at its `offset`.
   */
  inputs: readonly FileInput[];
  /** Seconds on the session timeline (inputs placed at their offsets): the output is the session from `start` to `end`. */
  start?: number;
  /** Seconds on the session timeline where the output ends (default: the session's end). */
  end?: number;
}

/**
 * Whether encoded input is copied or re-encoded. `auto` (default) copies a track when its codec is
 * allowed in the output and nothing asks for another codec, size, rate or layout; `copy` insists
 * (failing when a track cannot be copied); `transcode` always re-encodes.
 */
export type CodecMode = 'auto' | 'copy' | 'transcode';

/** Limits: the first two end a run as LIMIT_REACHED; the others guard against inputs that lie. */
export interface LimitsInit {
  /** Media duration in seconds. */
  maxDuration?: number;
  /** Bytes written to any one output. */
  maxSize?: number;
  /** Pixels in one input picture (width x height) beyond which an input is refused. Default 8192x4320. */
  maxPixels?: number;
  /**
   * Seconds: a timestamp that jumps further than this (forwards or back) in a file or a publisher's
   * stream is a discontinuity, closed up and reported, never filled with silence or held frames. Default 10.
   */
  maxGap?: number;
}

/** Default `limits.maxPixels`: 8K UHD-1 in the larger dimension, DCI 4K's height. */
export const DEFAULT_MAX_PIXELS = 8192 * 4320;
/** Default `limits.maxGap`, seconds. */
export const DEFAULT_MAX_GAP = 10;

/**
 * A queue's bounds, whichever is reached first. Live queues are bounded by media time first (egress's
 * leaky queues hold 3 s, GStreamer's `max-size-time`), so a publisher's burst of that many seconds is
 * absorbed whatever its rate; items and bytes are safety bounds.
 */
export interface QueueBoundsInit {
  /** Seconds of media. */
  seconds?: number;
  /** Items: frames, audio buffers or packets, whichever the queue holds. */
  items?: number;
  /** Bytes of media held. */
  bytes?: number;
}

/** Queue sizes: a number is an item bound (the other bounds keep their defaults), or the bounds themselves. */
export interface QueueInit {
  /** Raw video frames before the encoder (and before a thumbnails output). */
  video?: number | QueueBoundsInit;
  /** Raw audio before the encoder (and before a websocket output); a copied track's packets. */
  audio?: number | QueueBoundsInit;
  /** Frames an encoder may hold in flight (WebCodecs encodeQueueSize bound). */
  encoder?: number;
  /** Encoded packets (both tracks) queued for each output after the tee. */
  output?: number | QueueBoundsInit;
}

/** Everything a caller may give to build a pipeline config. Only `outputs` is required. */
export interface PipelineConfigInit {
  /** Live (default): paced by the clock, leaky queues. `false`: replay/export, as fast as possible, nothing dropped. */
  live?: boolean;
  /** The source `createController` builds; leave it out when giving a source of your own (`createControllerWithSource`). */
  source?: TestSourceInit | FileSourceInit;
  /** A preset, advanced fields, or both; fields left open follow the source (an export keeps its input's size and rate). */
  encoding?: EncodingInit;
  /** Copy or re-encode encoded input (file sources). */
  codecMode?: CodecMode;
  /**
   * Non-live runs: encode the video in this many chunks at once, each on a worker thread, cut on the
   * keyframe grid and joined in order into one stream. `auto` (the default) splits where it pays (a
   * transcode of 20 s or more of the test source or of a single MP4/MOV input file, one chunk worker
   * per core) and not where it cannot (live runs, copies, thumbnails, a file whose timing does not
   * allow it); a number insists (any single input file), and fails the run where it cannot split,
   * saying why.
   */
  parallel?: number | 'auto';
  /** Where the media goes: files, HLS playlists, thumbnails, streams; several at once from one encode. */
  outputs: readonly OutputInit[];
  /** Limits that end a run (duration, size) or refuse an input (picture size, timestamp jumps). */
  limits?: LimitsInit;
  /** Queue bounds; those left out are the run's defaults (live and non-live runs differ, see docs/outputs.md). */
  queues?: QueueInit;
  /** Upload finished files, segments and images (local copies kept until each upload is confirmed). */
  storage?: UploadOptions;
  /** The codecs: native FFmpeg (node-av), WebAssembly only, or `auto` (default: native when it loads, else wasm). */
  codecProvider?: CodecProviderChoice;
}

/** The most video chunks a run encodes at once (each a worker thread with its own encoder). */
export const MAX_PARALLEL = 64;

/** A pipeline is live unless told otherwise (egress's default: a recording of something happening now). */
export const DEFAULT_LIVE = true;

