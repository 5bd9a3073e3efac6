import type { AudioDecoderConfig, VideoDecoderConfig } from '../codecs/encoded-chunk.js';
import type { AudioRoute } from '../convert/audio-mixer.js';
import { ConfigError, type ConfigProblem } from '../errors.js';
import type { QueueBounds } from '../queues/bounded-queue.js';
import type { Microseconds } from '../time.js';
import { type AudioCodecName, type H264Profile, type SpeedPreset, type VideoCodecName } from './codecs.js';
import { allowedCodecs, resolveOutput, takesMedia, type OutputInit, type OutputSpec } from './outputs.js';
import type { UploadOptions } from '../storage/uploader.js';
import type { CodecProviderChoice } from '../codecs/provider-choice.js';
import { PRESETS, type PresetName } from './presets.js';
import { validateConfig } from './validate.js';

/** Encoding options: a preset, advanced fields, or a preset with some fields overridden. */
export interface EncodingInit {
  /** One of egress's presets; advanced fields given beside it override it. */
  preset?: PresetName;
  width?: number;
  height?: number;
  fps?: number;
  /** Video codec, or `null` for an audio-only pipeline. */
  videoCodec?: VideoCodecName | null;
  /** Audio codec, or `null` for a video-only pipeline. */
  audioCodec?: AudioCodecName | null;
  h264Profile?: H264Profile;
  videoBitrateKbps?: number;
  audioBitrateKbps?: number;
  /** Seconds between keyframes. */
  keyframeInterval?: number;
  /** Encoder speed preset, as x264 names them (egress uses `veryfast`). */
  speedPreset?: SpeedPreset;
  sampleRate?: number;
  channels?: number;
}

/** Encoding options with every field decided. */
export interface EncodingOptions {
  width: number;
  height: number;
  fps: number;
  videoCodec: VideoCodecName | null;
  audioCodec: AudioCodecName | null;
  h264Profile: H264Profile;
  videoBitrateKbps: number;
  audioBitrateKbps: number;
  keyframeInterval: number;
  speedPreset: SpeedPreset;
  sampleRate: number;
  channels: number;
}

/** The built-in test source's settings, when the config names it. */
export interface TestSourceInit {
  type: 'test';
  /** Media duration in seconds; unbounded when absent (a live source then runs until stopped). */
  duration?: number;
}

/** Recorded media as the source: one or more files, each with an optional offset in seconds. */
export interface FileSourceInit {
  type: 'file';
  /** `route` sends an input's audio to one side of a stereo mix. */
  inputs: readonly { path: string; offset?: number; route?: AudioRoute; fps?: number }[];
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
  items?: number;
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
  source?: TestSourceInit | FileSourceInit;
  encoding?: EncodingInit;
  /** Copy or re-encode encoded input (file sources). */
  codecMode?: CodecMode;
  outputs: readonly OutputInit[];
  limits?: LimitsInit;
  queues?: QueueInit;
  /** Upload finished files, segments and images (local copies kept until each upload is confirmed). */
  storage?: UploadOptions;
  /** The codecs: native FFmpeg (node-av), WebAssembly only, or `auto` (default: native when it loads, else wasm). */
  codecProvider?: CodecProviderChoice;
}

/**
 * A track a source declares before the graph is built. `encoded` is set when the source gives
 * encoded chunks (a file) instead of raw frames: the graph then decodes, or copies them (passthrough).
 */
export type TrackInfo =
  | {
    id: string; kind: 'video'; width: number; height: number; fps: number;
    encoded?: { codec: string; decoderConfig: VideoDecoderConfig };
    /** Where the track ends on the session timeline, when the container says (us); the last frame lasts until then. */
    endUs?: number;
    /** Where the track comes from, for errors (e.g. `input a.mp4, video track 1`). */
    label?: string;
  }
  | {
    id: string; kind: 'audio'; sampleRate: number; channels: number;
    encoded?: { codec: string; decoderConfig: AudioDecoderConfig };
    /** Which channels of a stereo mix the track goes to (default both). */
    route?: AudioRoute;
    /** Where the track starts on the session timeline (us), when later than the session start. */
    startUs?: number;
    /** Where the track comes from, for errors (e.g. `input a.mp4, audio track 2`). */
    label?: string;
  };

/** A pipeline is live unless told otherwise (egress's default: a recording of something happening now). */
export const DEFAULT_LIVE = true;

/** Defaults for everything a config may leave out. */
export const DEFAULT_ENCODING: EncodingOptions = {
  width: 1280,
  height: 720,
  fps: 30,
  videoCodec: 'h264',
  audioCodec: 'opus',
  h264Profile: 'main',
  videoBitrateKbps: 3000,
  audioBitrateKbps: 128,
  keyframeInterval: 2,
  speedPreset: 'veryfast',
  sampleRate: 48000,
  channels: 2,
};

/**
 * Default queue bounds. Non-live queues block, so small item bounds keep memory flat: about a third
 * of a second of 30 fps video, 200 ms of audio in 20 ms buffers, 2 s per output. Live queues drop the
 * oldest past 3 s of media (egress's), with item and byte bounds that 3 s of 1080p60 raw video or of
 * a 50 Mb/s stream stays under.
 */
export const DEFAULT_QUEUES: { readonly live: ResolvedQueues; readonly nonLive: ResolvedQueues } = {
  nonLive: { video: { items: 8 }, audio: { items: 10 }, encoder: 4, output: { items: 160 } },
  live: {
    video: { items: 300, bytes: 640 << 20, timeUs: 3_000_000 },
    audio: { items: 1000, bytes: 64 << 20, timeUs: 3_000_000 },
    encoder: 4,
    output: { items: 2000, bytes: 64 << 20, timeUs: 3_000_000 },
  },
};

/** Every queue's bounds, decided. */
export interface ResolvedQueues {
  video: QueueBounds;
  audio: QueueBounds;
  encoder: number;
  output: QueueBounds;
}

/** A queue's bounds from its default and what the caller gave (a number: items). */
function resolveBounds(base: QueueBounds, given: number | QueueBoundsInit | undefined): QueueBounds {
  if (given === undefined) return base;
  if (typeof given === 'number') return { ...base, items: given };
  return {
    items: given.items ?? base.items,
    bytes: given.bytes ?? base.bytes,
    timeUs: given.seconds === undefined ? base.timeUs : Math.round(given.seconds * 1e6),
  };
}

/**
 * A validated pipeline config. `live` is the one mode flag; `isReplay()` is derived from it, so
 * there is no second flag to keep in sync.
 */
export class PipelineConfig {
  /** True (the default): a live pipeline. */
  readonly live: boolean;
  readonly source: TestSourceInit | FileSourceInit | undefined;
  readonly codecMode: CodecMode;
  /** The encoding fields the caller set (directly or through a preset); the rest may follow the source. */
  readonly encodingGiven: ReadonlySet<keyof EncodingOptions>;
  private _encoding: Readonly<EncodingOptions>;
  readonly outputs: readonly OutputSpec[];
  readonly limits: { maxDurationUs: Microseconds | undefined; maxSizeBytes: number | undefined; maxPixels: number; maxGapUs: Microseconds };
  readonly queues: Readonly<ResolvedQueues>;
  readonly storage: UploadOptions | undefined;
  readonly codecProvider: CodecProviderChoice;

  /** Use {@link createPipelineConfig}: it validates first. */
  constructor(init: PipelineConfigInit) {
    this.live = init.live ?? DEFAULT_LIVE;
    this.source = init.source;
    this.codecMode = init.codecMode ?? 'auto';
    this.outputs = init.outputs.map(resolveOutput);
    this.encodingGiven = givenEncodingFields(init.encoding);
    this._encoding = resolveEncoding(init.encoding, allowedCodecs(this.outputs));
    // Media no output takes is not made: a websocket-only run has no video, a thumbnails-only run no audio.
    const takes = (kind: 'video' | 'audio'): boolean => this.outputs.some((o) => takesMedia(o, kind));
    if (!this.encodingGiven.has('videoCodec') && !takes('video')) this._encoding = { ...this._encoding, videoCodec: null };
    if (!this.encodingGiven.has('audioCodec') && !takes('audio')) this._encoding = { ...this._encoding, audioCodec: null };
    this.limits = {
      maxDurationUs: init.limits?.maxDuration === undefined ? undefined : Math.round(init.limits.maxDuration * 1e6),
      maxSizeBytes: init.limits?.maxSize,
      maxPixels: init.limits?.maxPixels ?? DEFAULT_MAX_PIXELS,
      maxGapUs: Math.round((init.limits?.maxGap ?? DEFAULT_MAX_GAP) * 1e6),
    };
    const q = this.live ? DEFAULT_QUEUES.live : DEFAULT_QUEUES.nonLive;
    this.queues = {
      video: resolveBounds(q.video, init.queues?.video),
      audio: resolveBounds(q.audio, init.queues?.audio),
      encoder: init.queues?.encoder ?? q.encoder,
      output: resolveBounds(q.output, init.queues?.output),
    };
    this.storage = init.storage;
    this.codecProvider = init.codecProvider ?? 'auto';
  }

  /**
   * The encoding asked for. The fields left open follow the source (an export keeps its input's size
   * and rate): the run's plan holds the encoding that is used (`adoptedEncoding()`).
   */
  get encoding(): Readonly<EncodingOptions> {
    return this._encoding;
  }

  /** A non-live (replay, export) pipeline: the negation of `live`, never stored. */
  isReplay(): boolean {
    return !this.live;
  }
}

/** mediabunny codec names -> avpipe's, for the codecs avpipe can also write. */
export const VIDEO_CODEC_OF: Readonly<Record<string, VideoCodecName>> = { avc: 'h264', vp8: 'vp8', vp9: 'vp9' };
/** mediabunny codec names -> avpipe's. */
export const AUDIO_CODEC_OF: Readonly<Record<string, AudioCodecName>> = { opus: 'opus', aac: 'aac' };

/** The encoding fields an init sets, directly or through its preset. */
function givenEncodingFields(init: EncodingInit = {}): Set<keyof EncodingOptions> {
  const given = new Set(Object.entries(init).filter(([k, v]) => k !== 'preset' && v !== undefined).map(([k]) => k as keyof EncodingOptions));
  if (init.preset !== undefined) for (const k of ['width', 'height', 'fps', 'videoBitrateKbps', 'audioBitrateKbps'] as const) given.add(k);
  return given;
}

/**
 * Fills an encoding init from its preset and the defaults; codecs left open default to the first
 * ones every output takes (WebM: VP8 + Opus; Ogg: no video; MP4 beside HLS: H.264 + AAC).
 */
export function resolveEncoding(init: EncodingInit = {}, allowed?: { video: readonly VideoCodecName[]; audio: readonly AudioCodecName[] }): EncodingOptions {
  const preset = init.preset === undefined ? undefined : PRESETS[init.preset];
  const fromPreset: Partial<EncodingOptions> = preset === undefined ? {} : {
    width: preset.width, height: preset.height, fps: preset.fps,
    videoBitrateKbps: preset.videoBitrateKbps, audioBitrateKbps: preset.audioBitrateKbps,
  };
  const given = Object.fromEntries(Object.entries(init).filter(([k, v]) => k !== 'preset' && v !== undefined));
  const byContainer: Partial<EncodingOptions> = allowed === undefined ? {} : {
    videoCodec: allowed.video[0] ?? null,
    audioCodec: allowed.audio[0] ?? null,
  };
  return { ...DEFAULT_ENCODING, ...byContainer, ...fromPreset, ...given } as EncodingOptions;
}

/**
 * Validates `init` and builds the config. Throws a {@link ConfigError} listing every problem at once;
 * nothing is created on disk before this returns.
 */
export function createPipelineConfig(init: PipelineConfigInit): PipelineConfig {
  const problems: ConfigProblem[] = validateConfig(init);
  if (problems.length > 0) throw new ConfigError(problems);
  return new PipelineConfig(init);
}
