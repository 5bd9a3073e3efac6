import { AvpipeError } from '../../errors.js';
import type { AudioData } from '../../media/audio-data.js';
import { EncoderBase } from '../codec-base.js';
import type { AudioEncoderConfig, AudioEncoderInit, AudioEncoderLike } from '../codec-provider.js';
import { EncodedAudioChunk, type AudioDecoderConfig } from '../../media/encoded-chunk.js';
import { FfmpegWasmRun, joinBytes } from './ffmpeg-wasm.js';

/** AAC frames are 1024 samples; FFmpeg's encoder primes one frame. */
const AAC_FRAME = 1024;
/** ADTS sampling frequency indexes (ISO 14496-3 1.6.3.4). */
const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/**
 * A WebCodecs-shaped AAC-LC AudioEncoder on WebAssembly only: FFmpeg's native `aac` encoder inside
 * ffmpeg.wasm in a worker thread, fed interleaved f32 through a shared ring, its ADTS output cut into
 * raw frames (the AudioSpecificConfig built from the first header). Timestamps come from a sample
 * counter shifted back by the one-frame priming, as the native encoder does.
 * `encodeQueueSize` counts the buffers not yet handed to the ring.
 */
export class WasmAacEncoder extends EncoderBase<AudioEncoderConfig, AudioData> implements AudioEncoderLike {
  private readonly _init: AudioEncoderInit;
  private _config: AudioEncoderConfig | undefined;
  private _run: FfmpegWasmRun | undefined;
  private _buffer: Uint8Array = new Uint8Array(0);
  private _first: number | undefined;
  private _frames = 0;
  readonly counters = { samplesIn: 0, packetsOut: 0, bytesOut: 0 };

  constructor(init: AudioEncoderInit) {
    super('AudioEncoder', 'ENCODER_FAILED', init.error);
    this._init = init;
  }

  protected get codecName(): string {
    return 'wasm AAC encoder';
  }

  protected open(config: AudioEncoderConfig): void {
    if (!config.codec.startsWith('mp4a.40')) throw new AvpipeError('ENCODER_FAILED', `the wasm AAC encoder makes AAC-LC only, not "${config.codec}"`);
    if (this._run !== undefined) throw new AvpipeError('INVALID_STATE', 'the wasm AAC encoder is configured once');
    this._config = config;
    const args = [
      '-f', 'f32le', '-ar', String(config.sampleRate), '-ac', String(config.numberOfChannels), '-i', '/in',
      '-c:a', 'aac', '-b:a', String(config.bitrate), '-flush_packets', '1', '-f', 'adts', '/out',
    ];
    this._run = new FfmpegWasmRun({ args, ringBytes: config.sampleRate * config.numberOfChannels * 4, onOutput: (bytes) => this._onOutput(bytes), onError: (err) => this.fail(err) });
  }

  protected submit(data: AudioData): void {
    const cfg = this._config!;
    if (data.sampleRate !== cfg.sampleRate || data.numberOfChannels !== cfg.numberOfChannels) {
      data.close();
      throw new AvpipeError('ENCODER_FAILED', `audio is ${data.sampleRate} Hz x${data.numberOfChannels}, the encoder ${cfg.sampleRate} Hz x${cfg.numberOfChannels}`);
    }
    this._first ??= data.timestamp;
    this.counters.samplesIn += data.numberOfFrames;
    const planes = data.planes();
    const channels = cfg.numberOfChannels;
    const interleaved = new Float32Array(data.numberOfFrames * channels);
    for (let i = 0; i < data.numberOfFrames; i++) for (let c = 0; c < channels; c++) interleaved[i * channels + c] = planes[c]![i]!;
    data.close();
    this.enqueued();
    this._run!.write([new Uint8Array(interleaved.buffer)], () => this.dequeued());
  }

  protected async drain(): Promise<void> {
    await this._run!.finish('aac');
  }

  protected release(): void {
    this._run?.kill();
  }

  /** Cuts ADTS frames out of the byte stream as whole frames arrive. */
  private _onOutput(bytes: Uint8Array): void {
    const joined = joinBytes(this._buffer, bytes);
    let at = 0;
    // Nothing comes out after close (the worker's last writes may still arrive), or after a failure.
    while (this.state === 'configured' && at + 7 <= joined.length) {
      if (joined[at] !== 0xff || ((joined[at + 1] ?? 0) & 0xf6) !== 0xf0) {
        this.fail(new AvpipeError('ENCODER_FAILED', 'the wasm AAC encoder wrote something that is not ADTS'));
        return;
      }
      const length = (((joined[at + 3] ?? 0) & 0x03) << 11) | ((joined[at + 4] ?? 0) << 3) | ((joined[at + 5] ?? 0) >> 5);
      if (at + length > joined.length) break;
      const headerLength = ((joined[at + 1] ?? 0) & 0x01) === 1 ? 7 : 9;
      this._emit(joined.subarray(at, at + headerLength), joined.slice(at + headerLength, at + length));
      at += length;
    }
    this._buffer = joined.slice(at);
  }

  private _emit(header: Uint8Array, frame: Uint8Array): void {
    const cfg = this._config!;
    const rate = cfg.sampleRate;
    const timestamp = this._first! + Math.round(((this._frames - 1) * AAC_FRAME * 1e6) / rate);
    let metadata = {};
    if (this._frames === 0) {
      // AudioSpecificConfig: object type (ADTS profile + 1), frequency index, channel configuration.
      const objectType = ((header[2] ?? 0) >> 6) + 1;
      const freqIndex = ((header[2] ?? 0) >> 2) & 0x0f;
      const channelConfig = (((header[2] ?? 0) & 0x01) << 2) | ((header[3] ?? 0) >> 6);
      if (ADTS_RATES[freqIndex] !== rate) return this.fail(new AvpipeError('ENCODER_FAILED', `ADTS says ${ADTS_RATES[freqIndex]} Hz, the encoder ${rate} Hz`));
      const description = new Uint8Array([(objectType << 3) | (freqIndex >> 1), ((freqIndex & 1) << 7) | (channelConfig << 3)]);
      const decoderConfig: AudioDecoderConfig = { codec: 'mp4a.40.2', sampleRate: rate, numberOfChannels: cfg.numberOfChannels, description };
      metadata = { decoderConfig };
    }
    this._frames++;
    this.counters.packetsOut++;
    this.counters.bytesOut += frame.byteLength;
    this._init.output(new EncodedAudioChunk({ type: 'key', timestamp, duration: Math.round((AAC_FRAME * 1e6) / rate), data: frame }), metadata);
  }
}
