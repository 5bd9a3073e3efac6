import { SampleClock } from '../../time.js';
import { AudioData } from '../../media/audio-data.js';
import type { AudioDecoderInit } from '../codec-provider.js';
import type { AudioDecoderConfig } from '../../media/encoded-chunk.js';
import type { FramecrcStamp } from './framecrc-output.js';
import { WasmDecoder } from './wasm-decoder.js';

/**
 * A WebCodecs-shaped AudioDecoder on WebAssembly only: FFmpeg's aac, mp3, opus, vorbis, flac, PCM
 * and G.711 decoders in ffmpeg.wasm. Audio comes out f32-planar at the configured rate and channel
 * count (ffmpeg converts a stream that differs, such as HE-AAC's doubled rate). Timestamps come from
 * a {@link SampleClock} anchored at the first frame, as the native decoder's do.
 */
export class WasmAudioDecoder extends WasmDecoder<AudioDecoderConfig> {
  private readonly _output: (data: AudioData) => void;
  private readonly _clock = new SampleClock();

  constructor(init: AudioDecoderInit) {
    super('AudioDecoder', init.error);
    this._output = init.output;
  }

  protected outputArgs(config: AudioDecoderConfig): string[] {
    return [...this._format(config), '-f', 'f32le'];
  }

  protected metaArgs(config: AudioDecoderConfig): string[] {
    return this._format(config);
  }

  protected ringBytes(): number {
    return 256 << 10;
  }

  protected frameBytes(stamp: FramecrcStamp): number {
    return stamp.bytes;
  }

  protected emit(bytes: Uint8Array, stamp: FramecrcStamp): void {
    const { sampleRate, numberOfChannels: channels } = this.config!;
    const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
    const interleaved = new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
    const n = interleaved.length / channels;
    const planes = Array.from({ length: channels }, () => new Float32Array(n));
    for (let i = 0; i < n; i++) for (let c = 0; c < channels; c++) planes[c]![i] = interleaved[i * channels + c]!;
    const { timestamp } = this._clock.place(stamp.timestamp, n, sampleRate);
    this._output(new AudioData({ format: 'f32-planar', sampleRate, numberOfFrames: n, numberOfChannels: channels, timestamp, data: planes }));
  }

  private _format(config: AudioDecoderConfig): string[] {
    return ['-ar', String(config.sampleRate), '-ac', String(config.numberOfChannels), '-c:a', 'pcm_f32le'];
  }
}
