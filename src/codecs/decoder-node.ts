import { AvpipeError } from '../errors.js';
import type { AudioData } from '../media/audio-data.js';
import { CodecNode } from './codec-node.js';
import type { CodecProvider, DecoderLike } from './codec-provider.js';
import type { AudioDecoderConfig, EncodedChunk, VideoDecoderConfig } from '../media/encoded-chunk.js';
import type { VideoFrame } from '../media/video-frame.js';

/** A decoder node's counters. */
export interface DecoderStats {
  /** The node's name: `video-decoder`, `audio-decoder`, or `audio-decoder-N` when there are several audio tracks. */
  name: string;
  /** The WebCodecs codec string the decoder was configured with. */
  codec: string;
  /** Encoded chunks handed to the decoder. */
  chunksIn: number;
  /** Frames out; for audio decoded in blocks (non-live), blocks. */
  framesOut: number;
}

type AnyDecoder = DecoderLike<VideoDecoderConfig> | DecoderLike<AudioDecoderConfig>;

/**
 * A graph node around a WebCodecs-shaped decoder: encoded chunks in, raw frames out, the decoder's
 * own queue bounded (decodeQueueSize), so backpressure from the encoder side reaches the source's reads.
 * @internal
 */
export class DecoderNode<O extends VideoFrame | AudioData> {
  readonly name: string;
  private readonly _node: CodecNode<EncodedChunk, O, AnyDecoder>;
  private readonly _stats: DecoderStats;

  private constructor(name: string, codec: string, make: (output: (o: O) => void, error: (e: Error) => void) => AnyDecoder, maxQueue: number) {
    this.name = name;
    const stats: DecoderStats = { name, codec, chunksIn: 0, framesOut: 0 };
    this._stats = stats;
    this._node = new CodecNode<EncodedChunk, O, AnyDecoder>({
      name, errorCode: 'SOURCE_FAILED', maxQueue,
      make: (output, error) => make((o) => {
        stats.framesOut++;
        output(o);
      }, error),
      queueSize: (d) => d.decodeQueueSize,
      submit: (d, chunk) => {
        stats.chunksIn++;
        d.decode(chunk);
      },
    });
  }

  /** Encoded chunks in, raw frames out. */
  get stream(): TransformStream<EncodedChunk, O> {
    return this._node.stream;
  }

  /** A video decoder node; `threads` bounds the decoder's own (a split's chunk workers: one). */
  static video(provider: CodecProvider, config: VideoDecoderConfig, maxQueue: number, name = 'video-decoder', threads?: number): DecoderNode<VideoFrame> {
    const create = provider.createVideoDecoder?.bind(provider);
    if (create === undefined) throw new AvpipeError('SOURCE_FAILED', `the ${provider.name} codec provider cannot decode video`);
    return new DecoderNode<VideoFrame>(name, config.codec, (output, error) => {
      const d = create({ output, error, ...(threads === undefined ? {} : { threads }) });
      d.configure(config);
      return d;
    }, maxQueue);
  }

  /** An audio decoder node; `batchSamples` asks for blocks of up to that many samples (non-live runs). */
  static audio(provider: CodecProvider, config: AudioDecoderConfig, maxQueue: number, name = 'audio-decoder', batchSamples?: number): DecoderNode<AudioData> {
    const create = provider.createAudioDecoder?.bind(provider);
    if (create === undefined) throw new AvpipeError('SOURCE_FAILED', `the ${provider.name} codec provider cannot decode audio`);
    return new DecoderNode<AudioData>(name, config.codec, (output, error) => {
      const d = create({ output, error, ...(batchSamples === undefined ? {} : { batchSamples }) });
      d.configure(config);
      return d;
    }, maxQueue);
  }

  toJSON(): DecoderStats {
    return { ...this._stats };
  }

  /** Releases the decoder; idempotent. */
  close(): void {
    this._node.close();
  }
}
