import { ConfigError, type ConfigProblem } from '../errors.js';
import type { Microseconds } from '../time.js';
import { DEFAULT_LIVE, DEFAULT_MAX_GAP, DEFAULT_MAX_PIXELS, type CodecMode, type FileSourceInit, type PipelineConfigInit, type QueueInit, type TestSourceInit } from './config-init.js';
import type { CodecProviderChoice } from './codecs.js';
import { givenEncodingFields, resolveEncoding, type EncodingOptions } from './encoding.js';
import { allowedCodecs, resolveOutput, takesMedia, type OutputSpec } from './outputs.js';
import type { UploadOptions } from '../storage/uploader.js';
import { validateConfig } from './validate.js';

/**
 * A validated pipeline config. `live` is the one mode flag; `isReplay()` is derived from it, so
 * there is no second flag to keep in sync.
 */
export class PipelineConfig {
  /** True (the default): a live pipeline. */
  readonly live: boolean;
  /** The source `createController` builds; undefined when the init names none (the caller then brings one: `createControllerWithSource`). */
  readonly source: TestSourceInit | FileSourceInit | undefined;
  /** Copy or re-encode encoded input: `auto` unless the init says. */
  readonly codecMode: CodecMode;
  /** Video chunks encoded at once (non-live), or `auto`. */
  readonly parallel: number | 'auto';
  /** The encoding fields the caller set (directly or through a preset); the rest may follow the source. */
  readonly encodingGiven: ReadonlySet<keyof EncodingOptions>;
  private _encoding: Readonly<EncodingOptions>;
  /** The outputs, resolved: each one's kind worked out and its defaults filled in. */
  readonly outputs: readonly OutputSpec[];
  /** The init's `limits` in the units the pipeline works in, defaults filled in. */
  readonly limits: {
    /** Media time that ends the run as LIMIT_REACHED, us; undefined: no limit. */
    maxDurationUs: Microseconds | undefined;
    /** Bytes written to any one output that end the run as LIMIT_REACHED; undefined: no limit. */
    maxSizeBytes: number | undefined;
    /** Pixels in one input picture (width x height) beyond which an input is refused. */
    maxPixels: number;
    /** A timestamp jump longer than this, us, is a discontinuity: closed up and reported. */
    maxGapUs: Microseconds;
  };
  /** The queue bounds the caller set; the run's policy gives the rest (`PipelinePlan.queues`). */
  readonly queues: Readonly<QueueInit>;
  /** Where finished files, segments and images are uploaded; undefined: they stay local only. */
  readonly storage: UploadOptions | undefined;
  /** The codecs to load: `native`, `wasm`, or `auto` (the default: native when it loads, else wasm). A provider object given to the controller is used instead. */
  readonly codecProvider: CodecProviderChoice;

  /** Use {@link createPipelineConfig}: it validates first. */
  constructor(init: PipelineConfigInit) {
    this.live = init.live ?? DEFAULT_LIVE;
    this.source = init.source;
    this.codecMode = init.codecMode ?? 'auto';
    this.parallel = init.parallel ?? 'auto';
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
    this.queues = init.queues ?? {};
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

/**
 * Validates `init` and builds the config. Throws a {@link ConfigError} listing every problem at once;
 * nothing is created on disk before this returns.
 */
export function createPipelineConfig(init: PipelineConfigInit): PipelineConfig {
  const problems: ConfigProblem[] = validateConfig(init);
  if (problems.length > 0) throw new ConfigError(problems);
  return new PipelineConfig(init);
}
