import type { AudioData } from '../codecs/audio-data.js';
import type { CodecProvider } from '../codecs/codec-provider.js';
import { audioCodecString, videoCodecString } from '../codecs/codec-strings.js';
import { EncoderNode, type EncoderStats } from '../codecs/encoder-node.js';
import type { EncodedAudioOutput, EncodedVideoOutput } from '../codecs/encoded-chunk.js';
import type { VideoFrame } from '../codecs/video-frame.js';
import type { PipelineConfig, TrackInfo } from '../config/pipeline-config.js';
import { AvpipeError, toAvpipeError } from '../errors.js';
import { FileMuxer } from '../muxers/file-muxer.js';
import type { OutputSpec } from '../config/outputs.js';
import type { QueueStats } from '../queues/bounded-queue.js';
import { QueueNode } from '../queues/queue-node.js';
import { FileSink } from '../sinks/file-sink.js';
import type { RawMedia, Source } from '../sources/source.js';
import type { Microseconds } from '../time.js';
import type { FileOutputResult } from './status.js';

/** How far the faster track may run ahead in the muxer of a non-live run. */
const NON_LIVE_INTERLEAVE_US = 1_000_000;

/** Why a graph asks its controller to end the run early. */
export type LimitKind = 'duration' | 'size';

/** What a graph is built from. */
export interface GraphInit {
  config: PipelineConfig;
  source: Source;
  provider: CodecProvider;
  /**
   * Called once when a limit is hit. A duration limit ends each track by itself at the limit; a size
   * limit needs the controller to stop the source.
   */
  onLimit: (kind: LimitKind) => void;
}

interface Branch {
  track: TrackInfo;
  queue: QueueNode<RawMedia>;
  encoder: EncoderNode<VideoFrame, EncodedVideoOutput> | EncoderNode<AudioData, EncodedAudioOutput>;
}

/**
 * The pipeline graph: per track, source -> bounded queue -> encoder -> muxer, and the muxer -> file
 * sink, all Web Streams, so backpressure is the platform's. Live runs get drop-oldest queues;
 * non-live runs get blocking ones (nothing dropped, the source paced by the slowest stage).
 */
export class Graph {
  readonly muxer: FileMuxer;
  readonly sink: FileSink;
  readonly output: Extract<OutputSpec, { kind: 'file' }>;
  private readonly _branches: Branch[];
  private readonly _init: GraphInit;
  private readonly _abort = new AbortController();
  private _firstError: AvpipeError | undefined;
  private _limitHit = false;
  private _sinkStartedAt: number | null = null;
  private _endedAt: number | null = null;
  private _removed = false;

  constructor(init: GraphInit) {
    const { config, provider } = init;
    this._init = init;
    const out = config.outputs.find((o): o is Extract<OutputSpec, { kind: 'file' }> => o.kind === 'file');
    if (out === undefined) throw new AvpipeError('CONFIG_INVALID', 'no file output: this version writes file outputs only');
    this.output = out;
    const enc = config.encoding;
    const policy = config.live ? 'drop-oldest' : 'block';
    const video = enc.videoCodec === null ? undefined : config.tracks.find((t) => t.kind === 'video');
    const audio = enc.audioCodec === null ? undefined : config.tracks.find((t) => t.kind === 'audio');
    if (video === undefined && audio === undefined) throw new AvpipeError('SOURCE_FAILED', `source ${init.source.name} declared no track the encoding asks for`);
    this._branches = [];
    if (video !== undefined && video.kind === 'video' && enc.videoCodec !== null) {
      if (video.width !== enc.width || video.height !== enc.height) {
        throw new AvpipeError('SOURCE_FAILED', `source video is ${video.width}x${video.height} but the encoding asks for ${enc.width}x${enc.height}; scaling is not supported yet`);
      }
      const encoder = EncoderNode.video(provider, {
        codec: videoCodecString(enc.videoCodec, enc.h264Profile, enc.width, enc.height, enc.fps),
        width: enc.width, height: enc.height, framerate: enc.fps, bitrate: enc.videoBitrateKbps * 1000,
        speedPreset: enc.speedPreset, keyframeInterval: Math.round(enc.keyframeInterval * enc.fps),
      }, Math.round(enc.keyframeInterval * 1e6), config.queues.encoder);
      this._branches.push({ track: video, queue: new QueueNode<RawMedia>('video-queue', config.queues.video, policy, (f) => f.close()), encoder });
    }
    if (audio !== undefined && audio.kind === 'audio' && enc.audioCodec !== null) {
      if (audio.sampleRate !== enc.sampleRate || audio.channels !== enc.channels) {
        throw new AvpipeError('SOURCE_FAILED', `source audio is ${audio.sampleRate} Hz x${audio.channels} but the encoding asks for ${enc.sampleRate} Hz x${enc.channels}; resampling is not supported yet`);
      }
      const encoder = EncoderNode.audio(provider, {
        codec: audioCodecString(enc.audioCodec), sampleRate: enc.sampleRate, numberOfChannels: enc.channels,
        bitrate: enc.audioBitrateKbps * 1000,
      }, config.queues.encoder);
      this._branches.push({ track: audio, queue: new QueueNode<RawMedia>('audio-queue', config.queues.audio, policy, (a) => a.close()), encoder });
    }
    this.sink = new FileSink(out.path);
    this.sink.onSize = (size) => {
      this._sinkStartedAt ??= Date.now();
      const max = config.limits.maxSizeBytes;
      if (max !== undefined && size >= max) this._limit('size');
    };
    this.muxer = new FileMuxer({
      container: out.container,
      ...(video !== undefined && enc.videoCodec !== null ? { video: { codec: enc.videoCodec, fps: enc.fps } } : {}),
      ...(audio !== undefined && enc.audioCodec !== null ? { audio: { codec: enc.audioCodec } } : {}),
      target: this.sink.writable,
      interleaveWindow: config.live ? Infinity : NON_LIVE_INTERLEAVE_US,
    });
  }

  /** True once a limit ended (or is ending) the run. */
  get limitReached(): boolean {
    return this._limitHit;
  }

  /** The first real error of the run, if any (not the aborts it caused). */
  get error(): AvpipeError | undefined {
    return this._firstError;
  }

  /** Writes the container header. */
  async open(): Promise<void> {
    await this.muxer.start();
  }

  /**
   * Runs every branch to its end of stream. Resolves when all are done; on the first failure the
   * other branches are aborted and the failure is thrown.
   */
  async run(): Promise<void> {
    const { source, config } = this._init;
    const signal = this._abort.signal;
    const maxUs = config.limits.maxDurationUs;
    const runs = this._branches.map(async (b) => {
      let stream = source.readable(b.track.id);
      if (maxUs !== undefined) stream = stream.pipeThrough(this._durationLimit(maxUs), { signal });
      const encoded = stream.pipeThrough(b.queue, { signal }).pipeThrough(b.encoder.stream as TransformStream<RawMedia, EncodedVideoOutput | EncodedAudioOutput>, { signal });
      const muxIn = b.track.kind === 'video' ? this.muxer.writable('video') : this.muxer.writable('audio');
      try {
        await encoded.pipeTo(muxIn as WritableStream<EncodedVideoOutput | EncodedAudioOutput>, { signal });
      } catch (err) {
        this.fail(toAvpipeError('SOURCE_FAILED', `${b.track.kind} branch failed`, err));
        throw this._firstError;
      }
    });
    try {
      await Promise.all(runs);
    } finally {
      await Promise.allSettled(runs);
      for (const b of this._branches) b.encoder.close();
    }
  }

  /** Aborts every branch with `error` (kept as the run's error if it is the first). */
  fail(error: AvpipeError): void {
    if (this._firstError === undefined && !this._abort.signal.aborted) this._firstError = error;
    if (!this._abort.signal.aborted) this._abort.abort(this._firstError ?? error);
  }

  /**
   * Completes the file: finalized and playable when anything was muxed, otherwise removed (an output
   * is either playable or not there).
   */
  async finalize(): Promise<void> {
    try {
      if (this.muxer.packets === 0) throw new AvpipeError('MUXER_FAILED', 'no media reached the muxer');
      await this.muxer.finalize();
      await this.sink.close();
      this._endedAt = Date.now();
    } catch (err) {
      await this.muxer.cancel();
      await this.sink.remove();
      this._removed = true;
      if (this.muxer.packets > 0) throw toAvpipeError('MUXER_FAILED', `could not finalize ${this.output.path}; it was removed`, err);
    }
  }

  /** Removes the output without finalizing (a run aborted before it was active). */
  async discard(): Promise<void> {
    await this.muxer.cancel();
    await this.sink.remove();
    this._removed = true;
  }

  /** Counters of every queue. */
  queueStats(): QueueStats[] {
    return this._branches.map((b) => b.queue.toJSON());
  }

  /** Counters of every encoder. */
  encoderStats(): EncoderStats[] {
    return this._branches.map((b) => b.encoder.toJSON());
  }

  /** Media time complete in the output: the end of the slowest track. */
  mediaTime(): Microseconds {
    const ends = this.muxer.toJSON().map((t) => t.endTimestamp ?? 0);
    return ends.length === 0 ? 0 : Math.max(0, Math.min(...ends));
  }

  /** The file output's entry in the result. */
  outputResult(): FileOutputResult {
    const tracks = this.muxer.toJSON();
    const ends = tracks.map((t) => t.endTimestamp ?? 0);
    const starts = tracks.filter((t) => t.firstTimestamp !== null).map((t) => Math.max(0, t.firstTimestamp!));
    const durationUs = ends.length === 0 ? 0 : Math.max(...ends) - (starts.length === 0 ? 0 : Math.min(...starts));
    return {
      type: 'file', path: this.output.path, container: this.output.container,
      size: this._removed ? 0 : this.sink.toJSON().size,
      durationMs: this._removed ? 0 : Math.max(0, durationUs) / 1000,
      startedAt: this._sinkStartedAt, endedAt: this._removed ? null : this._endedAt,
      exists: !this._removed && this.sink.created,
      tracks,
    };
  }

  private _limit(kind: LimitKind): void {
    if (this._limitHit) return;
    this._limitHit = true;
    this._init.onLimit(kind);
  }

  /**
   * Passes items before `maxUs`; the first at or past it ends this track's stream (each track is cut
   * at the same media time, whichever runs ahead) and marks the run LIMIT_REACHED.
   */
  private _durationLimit(maxUs: Microseconds): TransformStream<RawMedia, RawMedia> {
    return new TransformStream<RawMedia, RawMedia>({
      transform: (item, controller) => {
        if (item.timestamp < maxUs) {
          controller.enqueue(item);
          return;
        }
        item.close();
        this._limit('duration');
        controller.terminate();
      },
    });
  }
}
