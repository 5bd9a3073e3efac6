import { AvpipeError, toAvpipeError } from '../errors.js';
import type { Microseconds } from '../time.js';
import type { AudioData } from './audio-data.js';
import type {
  AudioEncoderConfig, AudioEncoderLike, CodecProvider, VideoEncoderConfig, VideoEncoderLike,
} from './codec-provider.js';
import type { EncodedAudioOutput, EncodedVideoOutput } from './encoded-chunk.js';
import type { VideoFrame } from './video-frame.js';

/** An encoder node's counters. */
export interface EncoderStats {
  name: string;
  codec: string;
  framesIn: number;
  chunksOut: number;
  bytesOut: number;
  keyframes: number;
  /** Highest encodeQueueSize seen when a frame was handed over. */
  maxQueue: number;
}

/** Anything an encoder node accepts: a frame with a media timestamp that it must close. */
type RawInput = VideoFrame | AudioData;

/**
 * A graph node around a WebCodecs-shaped encoder: a TransformStream from raw frames to encoded
 * chunks. It bounds the encoder's own queue (WebCodecs `encodeQueueSize`): when the encoder holds
 * `maxQueue` frames, `transform()` waits for a dequeue, which is what carries backpressure from the
 * encoder up to the queue in front of it.
 */
export class EncoderNode<I extends RawInput, O extends EncodedVideoOutput | EncodedAudioOutput> {
  readonly name: string;
  readonly stream: TransformStream<I, O>;
  private readonly _stats: EncoderStats;
  private readonly _encoder: VideoEncoderLike | AudioEncoderLike;
  private _waiter: (() => void) | undefined;
  private _error: AvpipeError | undefined;

  private constructor(
    name: string,
    codec: string,
    make: (output: (o: O) => void, error: (e: Error) => void) => VideoEncoderLike | AudioEncoderLike,
    encodeOne: (encoder: VideoEncoderLike | AudioEncoderLike, input: I) => void,
    maxQueue: number,
  ) {
    this.name = name;
    this._stats = { name, codec, framesIn: 0, chunksOut: 0, bytesOut: 0, keyframes: 0, maxQueue: 0 };
    let controller!: TransformStreamDefaultController<O>;
    const encoder = make(
      (o) => {
        this._stats.chunksOut++;
        this._stats.bytesOut += o.chunk.byteLength;
        if (o.kind === 'video' && o.chunk.type === 'key') this._stats.keyframes++;
        controller.enqueue(o);
      },
      (e) => {
        this._error = toAvpipeError('ENCODER_FAILED', `${name} failed`, e);
        controller.error(this._error);
        this._wake();
      },
    );
    this._encoder = encoder;
    encoder.ondequeue = () => this._wake();
    this.stream = new TransformStream<I, O>({
      start: (c) => {
        controller = c;
      },
      transform: async (input) => {
        while (this._error === undefined && encoder.state === 'configured' && encoder.encodeQueueSize >= maxQueue) {
          await new Promise<void>((resolve) => (this._waiter = resolve));
        }
        // WebCodecs reports errors through a callback after the codec has closed: give it a turn.
        if (this._error === undefined && encoder.state !== 'configured') await new Promise((r) => setImmediate(r));
        if (this._error !== undefined || encoder.state !== 'configured') {
          input.close();
          throw this._error ?? new AvpipeError('ENCODER_FAILED', `${name} is closed`);
        }
        this._stats.framesIn++;
        this._stats.maxQueue = Math.max(this._stats.maxQueue, encoder.encodeQueueSize);
        encodeOne(encoder, input);
      },
      flush: async () => {
        if (encoder.state === 'configured') await encoder.flush();
        if (this._error !== undefined) throw this._error;
        encoder.close();
      },
    });
  }

  /** A video encoder node; keyframes are forced every `keyframeIntervalUs` of media time. */
  static video(provider: CodecProvider, config: VideoEncoderConfig, keyframeIntervalUs: Microseconds, maxQueue: number): EncoderNode<VideoFrame, EncodedVideoOutput> {
    let nextKey = -Infinity;
    return new EncoderNode<VideoFrame, EncodedVideoOutput>(
      'video-encoder',
      config.codec,
      (output, error) => {
        const enc = provider.createVideoEncoder({ output: (chunk, metadata) => output({ kind: 'video', chunk, metadata }), error });
        enc.configure(config);
        return enc;
      },
      (enc, frame) => {
        const keyFrame = frame.timestamp >= nextKey;
        if (keyFrame) nextKey = (nextKey === -Infinity ? frame.timestamp : nextKey) + keyframeIntervalUs;
        (enc as VideoEncoderLike).encode(frame, { keyFrame });
      },
      maxQueue,
    );
  }

  /** An audio encoder node. */
  static audio(provider: CodecProvider, config: AudioEncoderConfig, maxQueue: number): EncoderNode<AudioData, EncodedAudioOutput> {
    return new EncoderNode<AudioData, EncodedAudioOutput>(
      'audio-encoder',
      config.codec,
      (output, error) => {
        const enc = provider.createAudioEncoder({ output: (chunk, metadata) => output({ kind: 'audio', chunk, metadata }), error });
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

  /** Releases the encoder; idempotent. Needed when the stream was cancelled instead of flushed. */
  close(): void {
    this._encoder.close();
    this._wake();
  }

  private _wake(): void {
    const w = this._waiter;
    this._waiter = undefined;
    w?.();
  }
}
