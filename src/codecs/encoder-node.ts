import type { Microseconds } from '../time.js';
import type { AudioData } from '../media/audio-data.js';
import { CodecNode } from './codec-node.js';
import type {
  AudioEncoderConfig, AudioEncoderInit, AudioEncoderLike, CodecProvider, VideoEncoderConfig, VideoEncoderLike,
} from './codec-provider.js';
import type { EncodedAudioOutput, EncodedVideoOutput } from '../media/encoded-chunk.js';
import type { VideoFrame } from '../media/video-frame.js';

/** An encoder node's counters. */
export interface EncoderStats {
  /** The node's name: `video-encoder`, `video-encoder-<rendition>` for a ladder rung, `audio-encoder`. */
  name: string;
  /** The WebCodecs codec string the encoder was configured with. */
  codec: string;
  /** Raw frames (or audio buffers) handed to the encoder. */
  framesIn: number;
  /** Encoded chunks out. */
  chunksOut: number;
  /** Bytes of the encoded chunks out. */
  bytesOut: number;
  /** Key chunks out; counted for video only (0 for audio). */
  keyframes: number;
  /** Highest encodeQueueSize seen when a frame was handed over. */
  maxQueue: number;
}

/**
 * A graph node around a WebCodecs-shaped encoder: raw frames in, encoded chunks out, the encoder's
 * own queue bounded (WebCodecs `encodeQueueSize`), which is what carries backpressure from the encoder
 * up to the queue in front of it.
 * @internal
 */
export class EncoderNode<I extends VideoFrame | AudioData, O extends EncodedVideoOutput | EncodedAudioOutput> {
  readonly name: string;
  private readonly _node: CodecNode<I, O, VideoEncoderLike | AudioEncoderLike>;
  private readonly _stats: EncoderStats;
  /**
   * A video encoder's: the first frame at or after `us` is a keyframe (the first frame after a pause's
   * cut), the grid going on as it was. An encoder that cannot be told per frame (wasm) keeps to its grid only.
   */
  keyframeAt: ((us: Microseconds) => void) | undefined;

  private constructor(
    name: string,
    codec: string,
    make: (output: (o: O) => void, error: (e: Error) => void) => VideoEncoderLike | AudioEncoderLike,
    encodeOne: (encoder: VideoEncoderLike | AudioEncoderLike, input: I) => void,
    maxQueue: number,
  ) {
    this.name = name;
    const stats: EncoderStats = { name, codec, framesIn: 0, chunksOut: 0, bytesOut: 0, keyframes: 0, maxQueue: 0 };
    this._stats = stats;
    this._node = new CodecNode<I, O, VideoEncoderLike | AudioEncoderLike>({
      name, errorCode: 'ENCODER_FAILED', maxQueue,
      make: (output, error) => make((o) => {
        stats.chunksOut++;
        stats.bytesOut += o.chunk.byteLength;
        if (o.kind === 'video' && o.chunk.type === 'key') stats.keyframes++;
        output(o);
      }, error),
      queueSize: (enc) => enc.encodeQueueSize,
      submit: (enc, input) => {
        stats.framesIn++;
        stats.maxQueue = Math.max(stats.maxQueue, enc.encodeQueueSize);
        encodeOne(enc, input);
      },
    });
  }

  /** Raw frames in, encoded chunks out. */
  get stream(): TransformStream<I, O> {
    return this._node.stream;
  }

  /**
   * A video encoder node; keyframes are forced on a grid of `keyframeIntervalUs` of media time, from the
   * first frame on, or from `keyOriginUs` when given (a chunk's frames before it are a lead-in): the
   * first frame at or after each grid point is one. After a gap longer than the interval (a live drop)
   * the next one is the grid point after the frame, not every point missed.
   */
  static video(provider: CodecProvider, config: VideoEncoderConfig, keyframeIntervalUs: Microseconds, maxQueue: number, keyOriginUs?: Microseconds, name = 'video-encoder'): EncoderNode<VideoFrame, EncodedVideoOutput> {
    let origin = keyOriginUs;
    let nextKey = keyOriginUs ?? -Infinity;
    let forceAt: Microseconds | undefined;
    const node = new EncoderNode<VideoFrame, EncodedVideoOutput>(
      name,
      config.codec,
      (output, error) => {
        const enc = provider.createVideoEncoder({ output: (chunk, metadata) => output({ kind: 'video', chunk, metadata }), error });
        // The grid goes to the encoder too: one that cannot be told per frame (wasm) forces keyframes on it.
        enc.configure({ ...config, keyframeIntervalUs, ...(keyOriginUs === undefined ? {} : { keyframeOriginUs: keyOriginUs }) });
        return enc;
      },
      (enc, frame) => {
        const forced = forceAt !== undefined && frame.timestamp >= forceAt;
        const keyFrame = forced || frame.timestamp >= nextKey;
        if (forced) forceAt = undefined;
        if (keyFrame) {
          origin ??= frame.timestamp;
          nextKey = origin + (Math.floor((frame.timestamp - origin) / keyframeIntervalUs) + 1) * keyframeIntervalUs;
        }
        (enc as VideoEncoderLike).encode(frame, { keyFrame });
      },
      maxQueue,
    );
    node.keyframeAt = (us) => (forceAt = us);
    return node;
  }

  /** An audio encoder node; `batch`: the provider's batching encoder where it has one (non-live runs). */
  static audio(provider: CodecProvider, config: AudioEncoderConfig, maxQueue: number, batch = false): EncoderNode<AudioData, EncodedAudioOutput> {
    return new EncoderNode<AudioData, EncodedAudioOutput>(
      'audio-encoder',
      config.codec,
      (output, error) => {
        const init: AudioEncoderInit = { output: (chunk, metadata) => output({ kind: 'audio', chunk, metadata }), error };
        const enc = (batch ? provider.createBatchAudioEncoder?.(init) : undefined) ?? provider.createAudioEncoder(init);
        enc.configure(config);
        return enc;
      },
      (enc, data) => (enc as AudioEncoderLike).encode(data),
      maxQueue,
    );
  }

  /** Counters, for results and progress. */
  toJSON(): EncoderStats {
    return { ...this._stats };
  }

  /** Releases the encoder; idempotent. */
  close(): void {
    this._node.close();
  }
}
