import { AvpipeError, ConfigError, type ConfigProblem } from '../errors.js';
import type { Microseconds } from '../time.js';
import type { AudioCodecName, H264Profile, SpeedPreset, VideoCodecName } from './codecs.js';
import { containerOfPath, streamProtocolOf, type OutputInit, type OutputSpec } from './outputs.js';
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

/** Limits that end a run as LIMIT_REACHED. */
export interface LimitsInit {
  /** Media duration in seconds. */
  maxDuration?: number;
  /** Bytes written to any one output. */
  maxSize?: number;
}

/** Queue sizes, in items. */
export interface QueueInit {
  /** Raw video frames between source and encoder. */
  video?: number;
  /** Raw audio buffers between source and encoder. */
  audio?: number;
  /** Frames an encoder may hold in flight (WebCodecs encodeQueueSize bound). */
  encoder?: number;
}

/** Everything a caller may give to build a pipeline config. Only `outputs` is required. */
export interface PipelineConfigInit {
  /** Live (default): paced by the clock, leaky queues. `false`: replay/export, as fast as possible, nothing dropped. */
  live?: boolean;
  source?: TestSourceInit;
  encoding?: EncodingInit;
  outputs: readonly OutputInit[];
  limits?: LimitsInit;
  queues?: QueueInit;
}

/** A raw track a source declares before the graph is built. */
export type TrackInfo =
  | { id: string; kind: 'video'; width: number; height: number; fps: number }
  | { id: string; kind: 'audio'; sampleRate: number; channels: number };

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

/** Default queue sizes: about a third of a second of 30 fps video, 200 ms of audio in 20 ms buffers. */
export const DEFAULT_QUEUES: Required<QueueInit> = { video: 8, audio: 10, encoder: 4 };

/**
 * A validated pipeline config. `live` is the one mode flag; `isReplay()` is derived from it, so
 * there is no second flag to keep in sync.
 */
export class PipelineConfig {
  /** True (the default): a live pipeline. */
  readonly live: boolean;
  readonly source: TestSourceInit | undefined;
  readonly encoding: Readonly<EncodingOptions>;
  readonly outputs: readonly OutputSpec[];
  readonly limits: { maxDurationUs: Microseconds | undefined; maxSizeBytes: number | undefined };
  readonly queues: Readonly<Required<QueueInit>>;
  /** Filled by the source before the graph is built. */
  tracks: TrackInfo[] = [];

  /** Use {@link createPipelineConfig}: it validates first. */
  constructor(init: PipelineConfigInit) {
    this.live = init.live ?? true;
    this.source = init.source;
    this.encoding = resolveEncoding(init.encoding);
    this.outputs = init.outputs.map(resolveOutput);
    this.limits = {
      maxDurationUs: init.limits?.maxDuration === undefined ? undefined : Math.round(init.limits.maxDuration * 1e6),
      maxSizeBytes: init.limits?.maxSize,
    };
    this.queues = { ...DEFAULT_QUEUES, ...init.queues };
  }

  /** A non-live (replay, export) pipeline: the negation of `live`, never stored. */
  isReplay(): boolean {
    return !this.live;
  }
}

/** Fills an encoding init from its preset and the defaults. */
export function resolveEncoding(init: EncodingInit = {}): EncodingOptions {
  const preset = init.preset === undefined ? undefined : PRESETS[init.preset];
  const fromPreset: Partial<EncodingOptions> = preset === undefined ? {} : {
    width: preset.width, height: preset.height, fps: preset.fps,
    videoBitrateKbps: preset.videoBitrateKbps, audioBitrateKbps: preset.audioBitrateKbps,
  };
  const given = Object.fromEntries(Object.entries(init).filter(([k, v]) => k !== 'preset' && v !== undefined));
  return { ...DEFAULT_ENCODING, ...fromPreset, ...given } as EncodingOptions;
}

/** Works out an output's type from its path or URL. */
export function resolveOutput(init: OutputInit): OutputSpec {
  if ('url' in init) {
    const protocol = streamProtocolOf(init.url);
    if (protocol === undefined) throw new AvpipeError('CONFIG_INVALID', `unknown stream URL scheme: ${init.url}`);
    return { kind: 'stream', url: init.url, protocol };
  }
  const container = init.container ?? containerOfPath(init.path);
  if (container === undefined) throw new AvpipeError('CONFIG_INVALID', `cannot tell the container of ${init.path}`);
  return { kind: 'file', path: init.path, container };
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
