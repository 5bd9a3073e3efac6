import type { AudioEncoderInit, AudioEncoderLike, CodecProvider, VideoEncoderInit, VideoEncoderLike } from '../codec-provider.js';
import { WasmOpusEncoder } from './wasm-opus-encoder.js';
import { WasmVideoEncoder } from './wasm-video-encoder.js';

/**
 * The codec provider on WebAssembly alone, for hosts where no native addon installs: H.264 from x264
 * in ffmpeg.wasm (in worker threads) and Opus from libopus in `opusscript`. So far it encodes only
 * (no decoders, no VP8/VP9 or AAC): issue #6 has the rest.
 */
export class WasmProvider implements CodecProvider {
  readonly name = 'wasm';

  createVideoEncoder(init: VideoEncoderInit): VideoEncoderLike {
    return new WasmVideoEncoder(init);
  }

  createAudioEncoder(init: AudioEncoderInit): AudioEncoderLike {
    return new WasmOpusEncoder(init);
  }
}
