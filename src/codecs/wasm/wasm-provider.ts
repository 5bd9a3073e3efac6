import type { ImageFormat } from '../../config/outputs.js';
import { AvpipeError } from '../../errors.js';
import type { AudioData } from '../../media/audio-data.js';
import type {
  AudioDecoderInit, AudioDecoderLike, AudioEncoderConfig, AudioEncoderInit, AudioEncoderLike, CodecProvider, CodecState, ImageEncoderLike, VideoDecoderInit, VideoDecoderLike,
  VideoEncoderConfig, VideoEncoderInit, VideoEncoderLike,
} from '../codec-provider.js';
import { WasmAacEncoder } from './wasm-aac-encoder.js';
import { WasmAudioDecoder } from './wasm-audio-decoder.js';
import { WasmImageEncoder } from './wasm-image-encoder.js';
import { WasmOpusEncoder } from './wasm-opus-encoder.js';
import { WasmVideoDecoder } from './wasm-video-decoder.js';
import { WasmVideoEncoder } from './wasm-video-encoder.js';
import { WasmVp9Encoder } from './wasm-vp9-encoder.js';
import type { VideoFrame } from '../../media/video-frame.js';

/**
 * The codec provider on WebAssembly alone, for hosts where no native addon installs:
 * - encoders: H.264 (x264) and VP8 (libvpx) in ffmpeg.wasm, VP9 (libvpx-vp9) from libav.js, AAC
 *   (FFmpeg's aac) in ffmpeg.wasm, Opus from libopus in `opusscript` (ffmpeg.wasm's stereo libopus
 *   and its VP9 crash, so those go to the other builds), each video and AAC encoder in a worker thread;
 * - decoders: FFmpeg's h264, hevc, vp8, vp9, aac, mp3, opus, vorbis, flac, PCM and G.711 in ffmpeg.wasm;
 * - thumbnails: FFmpeg's mjpeg and png encoders in ffmpeg.wasm.
 * Scaling and resampling take avpipe's TypeScript converters (the provider names none of its own).
 */
export class WasmProvider implements CodecProvider {
  readonly name = 'wasm';

  createVideoEncoder(init: VideoEncoderInit): VideoEncoderLike {
    return new PickedEncoder<VideoEncoderConfig, VideoFrame>((config) => (/^vp09\b|^vp9$/.test(config.codec) ? new WasmVp9Encoder(init) : new WasmVideoEncoder(init)));
  }

  createAudioEncoder(init: AudioEncoderInit): AudioEncoderLike {
    return new PickedEncoder<AudioEncoderConfig, AudioData>((config) => (config.codec === 'opus' ? new WasmOpusEncoder(init) : new WasmAacEncoder(init)));
  }

  createVideoDecoder(init: VideoDecoderInit): VideoDecoderLike {
    return new WasmVideoDecoder(init);
  }

  createAudioDecoder(init: AudioDecoderInit): AudioDecoderLike {
    return new WasmAudioDecoder(init);
  }

  createImageEncoder(format: ImageFormat, width: number, height: number): ImageEncoderLike {
    return new WasmImageEncoder(format, width, height);
  }
}

/** The part of an encoder {@link PickedEncoder} forwards to. */
interface AnyEncoder<C, I> {
  readonly state: CodecState;
  readonly encodeQueueSize: number;
  ondequeue: (() => void) | null;
  configure(config: C): void;
  encode(input: I, options?: { keyFrame?: boolean }): void;
  flush(): Promise<void>;
  close(): void;
}

/** An encoder whose implementation is picked by the codec `configure()` names (each wasm build makes some codecs). */
class PickedEncoder<C, I extends { close(): void }> {
  ondequeue: (() => void) | null = null;
  private readonly _pick: (config: C) => AnyEncoder<C, I>;
  private _impl: AnyEncoder<C, I> | undefined;
  private _closed = false;

  constructor(pick: (config: C) => AnyEncoder<C, I>) {
    this._pick = pick;
  }

  get state(): CodecState {
    return this._closed ? 'closed' : this._impl?.state ?? 'unconfigured';
  }

  get encodeQueueSize(): number {
    return this._impl?.encodeQueueSize ?? 0;
  }

  configure(config: C): void {
    if (this._closed) throw new AvpipeError('INVALID_STATE', 'encoder is closed');
    this._impl?.close();
    this._impl = this._pick(config);
    this._impl.ondequeue = () => this.ondequeue?.();
    this._impl.configure(config);
  }

  encode(input: I, options?: { keyFrame?: boolean }): void {
    if (this._impl === undefined) {
      input.close();
      throw new AvpipeError('INVALID_STATE', 'encode() before configure()');
    }
    this._impl.encode(input, options);
  }

  flush(): Promise<void> {
    return this._impl?.flush() ?? Promise.resolve();
  }

  close(): void {
    this._closed = true;
    this._impl?.close();
  }
}
