import type { AudioData } from '../audio-data.js';
import type { AudioEncoderConfig, AudioEncoderInit, AudioEncoderLike, CodecProvider, CodecState, VideoEncoderInit, VideoEncoderLike } from '../codec-provider.js';
import { WasmAacEncoder } from './wasm-aac-encoder.js';
import { WasmOpusEncoder } from './wasm-opus-encoder.js';
import { WasmVideoEncoder } from './wasm-video-encoder.js';

/**
 * The codec provider on WebAssembly alone, for hosts where no native addon installs: H.264 from x264
 * in ffmpeg.wasm (in worker threads), AAC from FFmpeg's encoder in ffmpeg.wasm, and Opus from libopus
 * in `opusscript` (ffmpeg.wasm's stereo libopus crashes). So far it encodes only (no decoders, no
 * VP8/VP9): issue #6 has the rest.
 */
export class WasmProvider implements CodecProvider {
  readonly name = 'wasm';

  createVideoEncoder(init: VideoEncoderInit): VideoEncoderLike {
    return new WasmVideoEncoder(init);
  }

  createAudioEncoder(init: AudioEncoderInit): AudioEncoderLike {
    return new WasmAudioEncoder(init);
  }
}

/** The audio encoder for the codec `configure()` names: Opus (opusscript) or AAC (ffmpeg.wasm). */
class WasmAudioEncoder implements AudioEncoderLike {
  ondequeue: (() => void) | null = null;
  private readonly _init: AudioEncoderInit;
  private _impl: AudioEncoderLike | undefined;
  private _closed = false;

  constructor(init: AudioEncoderInit) {
    this._init = init;
  }

  get state(): CodecState {
    return this._closed ? 'closed' : this._impl?.state ?? 'unconfigured';
  }

  get encodeQueueSize(): number {
    return this._impl?.encodeQueueSize ?? 0;
  }

  configure(config: AudioEncoderConfig): void {
    this._impl?.close();
    this._impl = config.codec === 'opus' ? new WasmOpusEncoder(this._init) : new WasmAacEncoder(this._init);
    this._impl.ondequeue = () => this.ondequeue?.();
    this._impl.configure(config);
  }

  encode(data: AudioData): void {
    if (this._impl === undefined) {
      data.close();
      throw new TypeError('encode() before configure()');
    }
    this._impl.encode(data);
  }

  flush(): Promise<void> {
    return this._impl?.flush() ?? Promise.resolve();
  }

  close(): void {
    this._closed = true;
    this._impl?.close();
  }
}
