import { createRequire } from 'node:module';
import { AvpipeError } from '../../errors.js';
import type { AudioData } from '../../media/audio-data.js';
import { EncoderBase } from '../codec-base.js';
import type { AudioEncoderConfig, AudioEncoderInit, AudioEncoderLike } from '../codec-provider.js';
import { EncodedAudioChunk, type AudioDecoderConfig } from '../../media/encoded-chunk.js';
import { opusHead } from '../opus-head.js';

/** opusscript's encoder (libopus compiled to WebAssembly), as far as avpipe uses it. */
interface OpusScriptEncoder {
  encode(pcm: Buffer, frameSize: number): Buffer;
  setBitrate(bitrate: number): void;
  delete(): void;
}
interface OpusScriptModule {
  new (sampleRate: number, channels: number, application: number): OpusScriptEncoder;
  Application: { AUDIO: number };
}

/** libopus' lookahead at 48 kHz for the AUDIO application: the pre-skip, in 48 kHz samples. */
const PRE_SKIP = 312;

/**
 * A WebCodecs-shaped Opus AudioEncoder on WebAssembly only: libopus from `opusscript`, in this thread
 * (it encodes well over 100x realtime). ffmpeg.wasm's libopus crashes on stereo, so Opus takes this
 * build. Input of any buffer size is regrouped into 20 ms frames; timestamps come from a sample counter
 * shifted back by the pre-skip, as the native encoder does. `encodeQueueSize` stays 0: each buffer is
 * encoded as it arrives.
 */
export class WasmOpusEncoder extends EncoderBase<AudioEncoderConfig, AudioData> implements AudioEncoderLike {
  private readonly _init: AudioEncoderInit;
  private _config: AudioEncoderConfig | undefined;
  private _encoder: OpusScriptEncoder | undefined;
  private _frame = 960;
  /** Interleaved S16 samples of the frame being filled. */
  private _fifo = new Int16Array(0);
  private _fill = 0;
  private _first: number | undefined;
  private _packets = 0;
  readonly counters = { samplesIn: 0, packetsOut: 0, bytesOut: 0 };

  constructor(init: AudioEncoderInit) {
    super('AudioEncoder', 'ENCODER_FAILED', init.error);
    this._init = init;
  }

  protected get codecName(): string {
    return 'wasm Opus encoder';
  }

  protected open(config: AudioEncoderConfig): void {
    if (config.codec !== 'opus') throw new AvpipeError('ENCODER_FAILED', `the wasm Opus encoder makes Opus only, not "${config.codec}"`);
    if (![8000, 12000, 16000, 24000, 48000].includes(config.sampleRate)) throw new AvpipeError('ENCODER_FAILED', `Opus cannot encode at ${config.sampleRate} Hz`);
    const OpusScript = createRequire(import.meta.url)('opusscript') as OpusScriptModule;
    this._encoder?.delete();
    this._encoder = new OpusScript(config.sampleRate, config.numberOfChannels, OpusScript.Application.AUDIO);
    this._encoder.setBitrate(config.bitrate);
    this._config = config;
    this._frame = config.sampleRate / 50;
    this._fifo = new Int16Array(this._frame * config.numberOfChannels);
    this._fill = 0;
  }

  protected submit(data: AudioData): void {
    const cfg = this._config!;
    if (data.sampleRate !== cfg.sampleRate || data.numberOfChannels !== cfg.numberOfChannels) {
      data.close();
      throw new AvpipeError('ENCODER_FAILED', `audio is ${data.sampleRate} Hz x${data.numberOfChannels}, the encoder ${cfg.sampleRate} Hz x${cfg.numberOfChannels}`);
    }
    this._first ??= data.timestamp;
    const planes = data.planes();
    const channels = cfg.numberOfChannels;
    this.counters.samplesIn += data.numberOfFrames;
    for (let i = 0; i < data.numberOfFrames; i++) {
      for (let c = 0; c < channels; c++) {
        const v = Math.max(-1, Math.min(1, planes[c]![i]!));
        this._fifo[this._fill * channels + c] = Math.round(v * 32767);
      }
      if (++this._fill === this._frame) this._encodeFrame();
    }
    data.close();
  }

  protected async drain(): Promise<void> {
    // The last partial frame, then silence until the packets cover every sample past the pre-skip
    // (libopus holds back its lookahead: without these the last 6.5 ms would be lost).
    const skip = Math.round((PRE_SKIP * this._config!.sampleRate) / 48000);
    while (this.state === 'configured' && (this._fill > 0 || this._packets * this._frame < this.counters.samplesIn + skip)) {
      this._fifo.fill(0, this._fill * this._config!.numberOfChannels);
      this._encodeFrame();
    }
  }

  protected release(): void {
    this._encoder?.delete();
    this._encoder = undefined;
  }

  private _encodeFrame(): void {
    const cfg = this._config!;
    // Released after a failure: the rest of the buffer being encoded goes nowhere.
    if (this._encoder === undefined) return;
    let packet: Buffer;
    try {
      packet = this._encoder.encode(Buffer.from(this._fifo.buffer, 0, this._fifo.byteLength), this._frame);
    } catch (err) {
      this.fail(err);
      return;
    }
    this._fill = 0;
    const data = new Uint8Array(packet);
    const timestamp = this._first! + Math.round((this._packets * this._frame * 1e6) / cfg.sampleRate) - Math.round((PRE_SKIP * 1e6) / 48000);
    const first = this._packets === 0;
    this._packets++;
    this.counters.packetsOut++;
    this.counters.bytesOut += data.byteLength;
    const decoderConfig: AudioDecoderConfig = { codec: 'opus', sampleRate: cfg.sampleRate, numberOfChannels: cfg.numberOfChannels, description: opusHead(cfg.numberOfChannels, PRE_SKIP) };
    this._init.output(new EncodedAudioChunk({ type: 'key', timestamp, duration: Math.round((this._frame * 1e6) / cfg.sampleRate), data }), first ? { decoderConfig } : {});
  }
}
