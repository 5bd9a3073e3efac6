import { SwrResampler } from './swr-resampler.js';
import { VideoScaler } from './video-scaler.js';
import type { ImageFormat } from '../../config/outputs.js';
import type { AudioResampler } from '../../convert/audio-resampler.js';
import type { FrameScaler } from '../../convert/frame-scaler.js';
import type {
  AudioDecoderInit, AudioDecoderLike, AudioEncoderInit, AudioEncoderLike, CodecProvider, ImageEncoderLike, VideoDecoderInit, VideoDecoderLike,
  VideoEncoderInit, VideoEncoderLike,
} from '../codec-provider.js';
import { NodeAvAudioDecoder } from './node-av-audio-decoder.js';
import { NodeAvAudioEncoder } from './node-av-audio-encoder.js';
import { NodeAvImageEncoder } from './node-av-image-encoder.js';
import { loadNodeAv, type NodeAv } from './node-av-loader.js';
import { NodeAvVideoDecoder } from './node-av-video-decoder.js';
import { NodeAvVideoEncoder } from './node-av-video-encoder.js';
import { WorkerAudioEncoder } from './worker-audio-encoder.js';

/**
 * The native provider: FFmpeg 8 encoders (libx264, libvpx, libopus, aac) and decoders through node-av, WebCodecs-shaped,
 * FFmpeg's swscale and swresample as its converters, and its mjpeg and png encoders for thumbnails.
 */
export class NodeAvProvider implements CodecProvider {
  readonly name = 'node-av';
  private readonly _av: NodeAv;

  private constructor(av: NodeAv) {
    this._av = av;
  }

  /** Loads the native addon (once per process) and returns a provider. */
  static async load(): Promise<NodeAvProvider> {
    return new NodeAvProvider(await loadNodeAv());
  }

  createVideoEncoder(init: VideoEncoderInit): VideoEncoderLike {
    return new NodeAvVideoEncoder(this._av, init);
  }

  createAudioEncoder(init: AudioEncoderInit): AudioEncoderLike {
    return new NodeAvAudioEncoder(this._av, init);
  }

  /** The same encoders on a worker thread of their own, fed in quarter-second batches. */
  createBatchAudioEncoder(init: AudioEncoderInit): AudioEncoderLike {
    return new WorkerAudioEncoder(init);
  }

  createVideoDecoder(init: VideoDecoderInit): VideoDecoderLike {
    return new NodeAvVideoDecoder(this._av, init);
  }

  createAudioDecoder(init: AudioDecoderInit): AudioDecoderLike {
    return new NodeAvAudioDecoder(this._av, init);
  }

  createVideoScaler(width: number, height: number): FrameScaler {
    return new VideoScaler(this._av, width, height);
  }

  createAudioResampler(sampleRate: number, channels: number): AudioResampler {
    return new SwrResampler(this._av, sampleRate, channels);
  }

  createImageEncoder(format: ImageFormat, width: number, height: number): ImageEncoderLike {
    return new NodeAvImageEncoder(this._av, format, width, height);
  }
}
