import { AvpipeError, toAvpipeError } from '../errors.js';
import type { AudioData } from './audio-data.js';
import type { CodecProvider, DecoderLike } from './codec-provider.js';
import type { AudioDecoderConfig, EncodedChunk, VideoDecoderConfig } from './encoded-chunk.js';
import type { VideoFrame } from './video-frame.js';

/** A decoder node's counters. */
export interface DecoderStats {
  name: string;
  codec: string;
  chunksIn: number;
  framesOut: number;
}

/**
 * A graph node around a WebCodecs-shaped decoder: a TransformStream from encoded chunks to raw
 * frames, with the decoder's own queue bounded (decodeQueueSize), so backpressure from the encoder
 * side reaches the source's reads.
 */
export class DecoderNode<O extends VideoFrame | AudioData> {
  readonly name: string;
  readonly stream: TransformStream<EncodedChunk, O>;
  private readonly _stats: DecoderStats;
  private readonly _decoder: DecoderLike<VideoDecoderConfig> | DecoderLike<AudioDecoderConfig>;
  private _waiter: (() => void) | undefined;
  private _error: AvpipeError | undefined;

  private constructor(name: string, codec: string, make: (output: (o: O) => void, error: (e: Error) => void) => DecoderLike<VideoDecoderConfig> | DecoderLike<AudioDecoderConfig>, maxQueue: number) {
    this.name = name;
    this._stats = { name, codec, chunksIn: 0, framesOut: 0 };
    let controller!: TransformStreamDefaultController<O>;
    const decoder = make(
      (o) => {
        this._stats.framesOut++;
        controller.enqueue(o);
      },
      (e) => {
        this._error = toAvpipeError('SOURCE_FAILED', `${name} failed`, e);
        controller.error(this._error);
        this._wake();
      },
    );
    this._decoder = decoder;
    decoder.ondequeue = () => this._wake();
    this.stream = new TransformStream<EncodedChunk, O>({
      start: (c) => {
        controller = c;
      },
      transform: async (chunk) => {
        while (this._error === undefined && decoder.state === 'configured' && decoder.decodeQueueSize >= maxQueue) {
          await new Promise<void>((resolve) => (this._waiter = resolve));
        }
        if (this._error === undefined && decoder.state !== 'configured') await new Promise((r) => setImmediate(r));
        if (this._error !== undefined || decoder.state !== 'configured') throw this._error ?? new AvpipeError('SOURCE_FAILED', `${name} is closed`);
        this._stats.chunksIn++;
        decoder.decode(chunk);
      },
      flush: async () => {
        if (decoder.state === 'configured') await decoder.flush();
        if (this._error !== undefined) throw this._error;
        decoder.close();
      },
    }, undefined, { highWaterMark: 1 });
  }

  /** A video decoder node. */
  static video(provider: CodecProvider, config: VideoDecoderConfig, maxQueue: number, name = 'video-decoder'): DecoderNode<VideoFrame> {
    const create = provider.createVideoDecoder?.bind(provider);
    if (create === undefined) throw new AvpipeError('SOURCE_FAILED', `the ${provider.name} codec provider cannot decode video`);
    return new DecoderNode<VideoFrame>(name, config.codec, (output, error) => {
      const d = create({ output, error });
      d.configure(config);
      return d;
    }, maxQueue);
  }

  /** An audio decoder node. */
  static audio(provider: CodecProvider, config: AudioDecoderConfig, maxQueue: number, name = 'audio-decoder'): DecoderNode<AudioData> {
    const create = provider.createAudioDecoder?.bind(provider);
    if (create === undefined) throw new AvpipeError('SOURCE_FAILED', `the ${provider.name} codec provider cannot decode audio`);
    return new DecoderNode<AudioData>(name, config.codec, (output, error) => {
      const d = create({ output, error });
      d.configure(config);
      return d;
    }, maxQueue);
  }

  toJSON(): DecoderStats {
    return { ...this._stats };
  }

  /** Releases the decoder; idempotent. */
  close(): void {
    this._decoder.close();
    this._wake();
  }

  private _wake(): void {
    const w = this._waiter;
    this._waiter = undefined;
    w?.();
  }
}
