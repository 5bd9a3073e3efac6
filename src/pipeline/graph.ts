import { setMaxListeners } from 'node:events';
import type { AudioData } from '../codecs/audio-data.js';
import type { CodecProvider } from '../codecs/codec-provider.js';
import { audioCodecString, videoCodecString } from '../codecs/codec-strings.js';
import { DecoderNode, type DecoderStats } from '../codecs/decoder-node.js';
import { EncoderNode, type EncoderStats } from '../codecs/encoder-node.js';
import type { EncodedAudioOutput, EncodedChunk, EncodedOutput, EncodedVideoOutput } from '../codecs/encoded-chunk.js';
import { loadNodeAv } from '../codecs/node-av-loader.js';
import type { VideoFrame } from '../codecs/video-frame.js';
import type { AudioCodecName, VideoCodecName } from '../config/codecs.js';
import { CONTAINER_CODECS } from '../config/codecs.js';
import type { OutputSpec } from '../config/outputs.js';
import { AUDIO_CODEC_OF, VIDEO_CODEC_OF, type PipelineConfig, type TrackInfo } from '../config/pipeline-config.js';
import { AudioMixer } from '../convert/audio-mixer.js';
import { AudioResampler } from '../convert/audio-resampler.js';
import { MixerNode } from '../convert/mixer-node.js';
import { VideoRate } from '../convert/video-rate.js';
import { VideoScaler } from '../convert/video-scaler.js';
import { AvpipeError, toAvpipeError } from '../errors.js';
import { FileMuxer } from '../muxers/file-muxer.js';
import type { QueueStats } from '../queues/bounded-queue.js';
import { QueueNode } from '../queues/queue-node.js';
import { FileSink } from '../sinks/file-sink.js';
import type { Source, SourceMedia } from '../sources/source.js';
import type { Microseconds } from '../time.js';
import type { FileOutputResult } from './status.js';

/** How far the faster track may run ahead in the muxer of a non-live run. */
const NON_LIVE_INTERLEAVE_US = 1_000_000;
/** Encoded chunks a decoder may hold before its input waits. */
const DECODE_QUEUE = 4;

/** Why a graph asks its controller to end the run early. */
export type LimitKind = 'duration' | 'size';

/** What a graph is built from. */
export interface GraphInit {
  config: PipelineConfig;
  source: Source;
  /** Gives the codec provider; called only when a track is decoded or encoded (a pure copy loads none). */
  provider: () => Promise<CodecProvider>;
  /**
   * Called once when a limit is hit. A duration limit ends each track by itself at the limit; a size
   * limit needs the controller to stop the source.
   */
  onLimit: (kind: LimitKind) => void;
}

/** How one track goes through the graph. */
export type TrackMode = 'copy' | 'transcode';

/** One output track's branch (fed by one source track, or several mixed): its nodes, for running and counters. */
interface Branch {
  tracks: TrackInfo[];
  kind: 'video' | 'audio';
  mode: TrackMode;
  /** Source streams -> encoded output, built when the run starts; `open` gives a source track's stream. */
  build: (open: (track: TrackInfo) => ReadableStream<SourceMedia>, signal: AbortSignal) => ReadableStream<EncodedOutput>;
  queue: QueueNode<SourceMedia>;
  decoders: (DecoderNode<VideoFrame> | DecoderNode<AudioData>)[];
  encoder: EncoderNode<VideoFrame, EncodedVideoOutput> | EncoderNode<AudioData, EncodedAudioOutput> | undefined;
  close: () => void;
}

/** The codecs the muxer gets, and whether the video is a copy (which keeps its own timestamps). */
interface MuxerTracks {
  video?: VideoCodecName;
  videoCopied?: boolean;
  audio?: AudioCodecName;
}

/** One track's entry in a result. */
export interface TrackResult {
  id: string;
  kind: 'video' | 'audio';
  mode: TrackMode;
}

/**
 * The pipeline graph: per track, source -> [decoder -> converter] -> bounded queue -> encoder -> muxer
 * (or source -> queue -> muxer when a track is copied), and the muxer -> file sink, all Web Streams,
 * so backpressure is the platform's. Live runs get drop-oldest raw queues; non-live runs get blocking
 * ones (nothing dropped, the source paced by the slowest stage).
 */
export class Graph {
  readonly muxer: FileMuxer;
  readonly sink: FileSink;
  readonly output: Extract<OutputSpec, { kind: 'file' }>;
  private readonly _branches: Branch[];
  private readonly _init: GraphInit;
  private readonly _abort = (() => {
    const ac = new AbortController();
    // Every pipe of every branch listens to this one signal: more than Node's default of 10.
    setMaxListeners(0, ac.signal);
    return ac;
  })();
  private _firstError: AvpipeError | undefined;
  private _limitHit = false;
  private _sinkStartedAt: number | null = null;
  private _endedAt: number | null = null;
  private _removed = false;

  private constructor(init: GraphInit, output: Extract<OutputSpec, { kind: 'file' }>, branches: Branch[], muxerTracks: MuxerTracks) {
    const { config } = init;
    this._init = init;
    this.output = output;
    this._branches = branches;
    this.sink = new FileSink(output.path);
    this.sink.onSize = (size) => {
      this._sinkStartedAt ??= Date.now();
      const max = config.limits.maxSizeBytes;
      if (max !== undefined && size >= max) this._limit('size');
    };
    this.muxer = new FileMuxer({
      container: output.container,
      // A copied track keeps its own timestamps (variable rate included): no snapping to a rate.
      ...(muxerTracks.video !== undefined ? { video: { codec: muxerTracks.video, ...(muxerTracks.videoCopied ? {} : { fps: config.encoding.fps }) } } : {}),
      ...(muxerTracks.audio !== undefined ? { audio: { codec: muxerTracks.audio } } : {}),
      target: this.sink.writable,
      interleaveWindow: config.live ? Infinity : NON_LIVE_INTERLEAVE_US,
      // A size limit watches the bytes as they are written, so it needs them written as they come.
      chunked: !config.live && config.limits.maxSizeBytes === undefined,
    });
  }

  /** Builds the graph for the tracks the source declared (after `source.prepare()`). */
  static async build(init: GraphInit): Promise<Graph> {
    const { config, source } = init;
    const output = config.outputs.find((o): o is Extract<OutputSpec, { kind: 'file' }> => o.kind === 'file');
    if (output === undefined) throw new AvpipeError('CONFIG_INVALID', 'no file output: this version writes file outputs only');
    const enc = config.encoding;
    const video = enc.videoCodec === null ? undefined : config.tracks.find((t) => t.kind === 'video');
    const audios = enc.audioCodec === null ? [] : config.tracks.filter((t): t is Extract<TrackInfo, { kind: 'audio' }> => t.kind === 'audio');
    if (video === undefined && audios.length === 0) throw new AvpipeError('SOURCE_FAILED', `source ${source.name} declared no track the encoding asks for`);
    const branches: Branch[] = [];
    const muxerTracks: MuxerTracks = {};
    if (video?.kind === 'video' && enc.videoCodec !== null) {
      const mode = trackMode(config, video, source.durationUs);
      muxerTracks.video = mode === 'copy' ? VIDEO_CODEC_OF[video.encoded!.codec]! : enc.videoCodec;
      muxerTracks.videoCopied = mode === 'copy';
      branches.push(mode === 'copy' ? copyBranch(config, video, 'video') : await videoBranch(init, video));
    }
    if (audios.length > 0 && enc.audioCodec !== null) {
      const single = audios.length === 1 && (audios[0]!.route ?? 'both') === 'both' ? audios[0] : undefined;
      if (single === undefined && config.codecMode === 'copy') throw new AvpipeError('CONFIG_INVALID', `${audios.length} audio tracks${audios.some((a) => a.route !== undefined) ? ' with routes' : ''} must be mixed, which cannot be done by copying`);
      const mode = single === undefined ? 'transcode' : trackMode(config, single, source.durationUs);
      muxerTracks.audio = mode === 'copy' ? AUDIO_CODEC_OF[single!.encoded!.codec]! : enc.audioCodec;
      branches.push(mode === 'copy' ? copyBranch(config, single!, 'audio') : await audioBranch(init, audios));
    }
    return new Graph(init, output, branches, muxerTracks);
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
    const open = (track: TrackInfo): ReadableStream<SourceMedia> => {
      const stream = source.readable(track.id);
      return maxUs === undefined ? stream : stream.pipeThrough(this._durationLimit(maxUs), { signal });
    };
    const runs = this._branches.map(async (b) => {
      const muxIn = (b.kind === 'video' ? this.muxer.writable('video') : this.muxer.writable('audio')) as WritableStream<EncodedOutput>;
      try {
        await b.build(open, signal).pipeTo(muxIn, { signal });
      } catch (err) {
        this.fail(toAvpipeError('SOURCE_FAILED', `${b.kind} branch failed`, err));
        throw this._firstError;
      }
    });
    try {
      await Promise.all(runs);
    } finally {
      await Promise.allSettled(runs);
      for (const b of this._branches) b.close();
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
      await this.discard();
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
    return this._branches.flatMap((b) => (b.encoder === undefined ? [] : [b.encoder.toJSON()]));
  }

  /** Counters of every decoder. */
  decoderStats(): DecoderStats[] {
    return this._branches.flatMap((b) => b.decoders.map((d) => d.toJSON()));
  }

  /** Per track: copied or transcoded. */
  trackModes(): TrackResult[] {
    return this._branches.flatMap((b) => b.tracks.map((t) => ({ id: t.id, kind: b.kind, mode: b.mode })));
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
  private _durationLimit(maxUs: Microseconds): TransformStream<SourceMedia, SourceMedia> {
    return new TransformStream<SourceMedia, SourceMedia>({
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

/** Where held frames and silence stop: the session's end, cut at a duration limit. */
function sessionEnd(config: PipelineConfig, endUs: Microseconds | undefined): Microseconds | undefined {
  const max = config.limits.maxDurationUs;
  return endUs === undefined ? max : max === undefined ? endUs : Math.min(endUs, max);
}

/** Copy or transcode, by the config's codec mode and whether anything asks for a change. */
function trackMode(config: PipelineConfig, track: TrackInfo, sessionEndUs: number | undefined): TrackMode {
  const file = config.outputs.find((o) => o.kind === 'file');
  const reasons: string[] = [];
  const e = config.encoding;
  if (track.encoded === undefined) reasons.push('the source gives raw frames');
  else if (track.kind === 'video') {
    const codec = VIDEO_CODEC_OF[track.encoded.codec];
    if (codec === undefined || (file !== undefined && !CONTAINER_CODECS[file.container].video.includes(codec))) reasons.push(`${track.encoded.codec} is not allowed in the output`);
    if (codec !== e.videoCodec) reasons.push(`the encoding asks for ${String(e.videoCodec)}`);
    if (track.width !== e.width || track.height !== e.height) reasons.push(`the encoding asks for ${e.width}x${e.height}`);
    if (config.encodingGiven.has('fps') && track.fps !== e.fps) reasons.push(`the encoding asks for ${e.fps} fps`);
    // A video that ends a frame or more before the session must be extended (last frame held): re-encode.
    if (sessionEndUs !== undefined && track.endUs !== undefined && sessionEndUs - track.endUs >= 1e6 / track.fps) reasons.push('it ends before the other inputs');
  } else {
    const codec = AUDIO_CODEC_OF[track.encoded.codec];
    if (codec === undefined || (file !== undefined && !CONTAINER_CODECS[file.container].audio.includes(codec))) reasons.push(`${track.encoded.codec} is not allowed in the output`);
    if (codec !== e.audioCodec) reasons.push(`the encoding asks for ${String(e.audioCodec)}`);
    if (track.sampleRate !== e.sampleRate || track.channels !== e.channels) reasons.push(`the encoding asks for ${e.sampleRate} Hz x${e.channels}`);
    // Audio that starts late is filled with silence from the session start: re-encode.
    if ((track.startUs ?? 0) > 0) reasons.push('it starts after the session start');
  }
  if (config.codecMode === 'transcode') return 'transcode';
  if (reasons.length === 0) return 'copy';
  if (config.codecMode === 'copy') throw new AvpipeError('CONFIG_INVALID', `track ${track.id} cannot be copied: ${reasons.join('; ')}`);
  return 'transcode';
}

/** A track copied without re-encoding: source -> blocking queue -> muxer, decoder config on the first chunk. */
function copyBranch(config: PipelineConfig, track: TrackInfo, kind: 'video' | 'audio'): Branch {
  // Dropping encoded packets would corrupt the stream: a copied track's queue always blocks.
  const queue = new QueueNode<SourceMedia>(`${kind}-queue`, kind === 'video' ? config.queues.video : config.queues.audio, 'block');
  const decoderConfig = track.encoded!.decoderConfig;
  return {
    tracks: [track], kind, mode: 'copy', queue, decoders: [], encoder: undefined, close: () => undefined,
    build: (open, signal) => {
      const source = open(track);
      let first = true;
      const wrap = new TransformStream<SourceMedia, EncodedOutput>({
        transform: (chunk, controller) => {
          const metadata = first ? { decoderConfig } : {};
          first = false;
          controller.enqueue({ kind, chunk: chunk as EncodedChunk, metadata } as EncodedOutput);
        },
      });
      return source.pipeThrough(queue, { signal }).pipeThrough(wrap, { signal });
    },
  };
}

/** A video track encoded by avpipe: [decode ->] [scale, constant rate ->] queue -> encoder. */
async function videoBranch(init: GraphInit, track: Extract<TrackInfo, { kind: 'video' }>): Promise<Branch> {
  const { config } = init;
  const provider = await init.provider();
  const enc = config.encoding;
  const policy = config.live ? 'drop-oldest' : 'block';
  const decoder = track.encoded === undefined ? undefined : DecoderNode.video(provider, track.encoded.decoderConfig, DECODE_QUEUE);
  const needsScale = track.width !== enc.width || track.height !== enc.height;
  // Decoded input may be variable-rate or another rate: the output is always constant-rate.
  const needsRate = track.encoded !== undefined || track.fps !== enc.fps;
  const av = needsScale ? await loadNodeAv() : undefined;
  const scaler = av === undefined ? undefined : new VideoScaler(av, enc.width, enc.height);
  const rate = needsRate ? new VideoRate(enc.fps) : undefined;
  const encoder = EncoderNode.video(provider, {
    codec: videoCodecString(enc.videoCodec!, enc.h264Profile, enc.width, enc.height, enc.fps),
    width: enc.width, height: enc.height, framerate: enc.fps, bitrate: enc.videoBitrateKbps * 1000,
    speedPreset: enc.speedPreset, keyframeInterval: Math.round(enc.keyframeInterval * enc.fps),
  }, Math.round(enc.keyframeInterval * 1e6), config.queues.encoder);
  const queue = new QueueNode<SourceMedia>('video-queue', config.queues.video, policy, (f) => f.close());
  // A video that ends before the session (a shorter input) holds its last frame to the end.
  const endUs = sessionEnd(config, Math.max(track.endUs ?? 0, init.source.durationUs ?? 0) || undefined);
  return {
    tracks: [track], kind: 'video', mode: 'transcode', queue, decoders: decoder === undefined ? [] : [decoder], encoder,
    close: () => {
      decoder?.close();
      encoder.close();
      scaler?.close();
    },
    build: (open, signal) => {
      const source = open(track);
      let raw = decoder === undefined ? (source as ReadableStream<VideoFrame>) : source.pipeThrough(decoder.stream as TransformStream<SourceMedia, VideoFrame>, { signal });
      if (scaler !== undefined || rate !== undefined) {
        raw = raw.pipeThrough(new TransformStream<VideoFrame, VideoFrame>({
          transform: (frame, c) => {
            const f = scaler === undefined ? frame : scaler.scale(frame);
            if (rate === undefined) c.enqueue(f);
            else for (const out of rate.push(f)) c.enqueue(out);
          },
          flush: (c) => {
            for (const out of rate?.finish(endUs) ?? []) c.enqueue(out);
          },
        }), { signal });
      }
      return raw.pipeThrough(queue as unknown as TransformStream<VideoFrame, VideoFrame>, { signal }).pipeThrough(encoder.stream, { signal });
    },
  };
}

/**
 * The audio encoded by avpipe: per source track [decode ->] resample, then [mix ->] queue -> encoder.
 * Decoded (file) audio always goes through the mixer, which places it on the session timeline: a late
 * start, a hole or an early end is silence, several tracks are summed, routes pick a side.
 */
async function audioBranch(init: GraphInit, tracks: Extract<TrackInfo, { kind: 'audio' }>[]): Promise<Branch> {
  const { config } = init;
  const provider = await init.provider();
  const enc = config.encoding;
  const policy = config.live ? 'drop-oldest' : 'block';
  // Decoded channel counts may change mid-stream, so decoded audio always passes the resampler
  // (which hands through what already fits).
  const needsResample = (t: Extract<TrackInfo, { kind: 'audio' }>): boolean => t.encoded !== undefined || t.sampleRate !== enc.sampleRate || t.channels !== enc.channels;
  const av = tracks.some(needsResample) ? await loadNodeAv() : undefined;
  const inputs = tracks.map((track, i) => {
    const decoder = track.encoded === undefined ? undefined : DecoderNode.audio(provider, track.encoded.decoderConfig, DECODE_QUEUE, tracks.length > 1 ? `audio-decoder-${i}` : 'audio-decoder');
    const resampler = needsResample(track) ? new AudioResampler(av!, enc.sampleRate, enc.channels) : undefined;
    return { track, decoder, resampler };
  });
  const useMixer = tracks.length > 1 || tracks.some((t) => t.encoded !== undefined || (t.route ?? 'both') !== 'both');
  const mixer = useMixer
    ? new MixerNode(new AudioMixer(enc.sampleRate, enc.channels, tracks.map((t) => t.route ?? 'both'), sessionEnd(config, init.source.durationUs)), tracks.length, config.live ? enc.sampleRate * 10 : enc.sampleRate)
    : undefined;
  const encoder = EncoderNode.audio(provider, {
    codec: audioCodecString(enc.audioCodec!), sampleRate: enc.sampleRate, numberOfChannels: enc.channels, bitrate: enc.audioBitrateKbps * 1000,
  }, config.queues.encoder);
  const queue = new QueueNode<SourceMedia>('audio-queue', config.queues.audio, policy, (a) => a.close());
  const decoders = inputs.flatMap((x) => (x.decoder === undefined ? [] : [x.decoder]));
  return {
    tracks, kind: 'audio', mode: 'transcode', queue, decoders, encoder,
    close: () => {
      for (const x of inputs) {
        x.decoder?.close();
        x.resampler?.close();
      }
      encoder.close();
    },
    build: (open, signal) => {
      const raws = inputs.map(({ track, decoder, resampler }) => {
        const source = open(track);
        let raw = decoder === undefined ? (source as ReadableStream<AudioData>) : source.pipeThrough(decoder.stream as TransformStream<SourceMedia, AudioData>, { signal });
        if (resampler !== undefined) {
          raw = raw.pipeThrough(new TransformStream<AudioData, AudioData>({
            transform: (data, c) => {
              const out = resampler.process(data);
              if (out !== null) c.enqueue(out);
            },
            flush: (c) => {
              const out = resampler.flush();
              if (out !== null) c.enqueue(out);
            },
          }), { signal });
        }
        return raw;
      });
      let mixed: ReadableStream<AudioData>;
      if (mixer === undefined) mixed = raws[0]!;
      else {
        // Each input pipe's failure aborts its mixer input, which errors the mix: the branch fails once.
        raws.forEach((raw, i) => void raw.pipeTo(mixer.inputs[i]!, { signal }).catch(() => undefined));
        mixed = mixer.readable;
      }
      return mixed.pipeThrough(queue as unknown as TransformStream<AudioData, AudioData>, { signal }).pipeThrough(encoder.stream, { signal });
    },
  };
}
