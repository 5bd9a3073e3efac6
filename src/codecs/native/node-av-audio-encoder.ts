import type { Packet } from 'node-av/lib';
import { AvpipeError } from '../../errors.js';
import type { AudioData } from '../../media/audio-data.js';
import { EncoderBase } from '../codec-base.js';
import type { AudioEncoderConfig, AudioEncoderInit, AudioEncoderLike } from '../codec-provider.js';
import { EncodedAudioChunk } from '../../media/encoded-chunk.js';
import type { NodeAv } from './node-av-loader.js';
import { NodeAvEncoderSession } from './node-av-session.js';

/**
 * Samples of encoder delay at the start of the stream (priming). Timestamps are shifted back by it so
 * that the first real sample lands at the first input timestamp: FFmpeg's AAC primes one frame; Opus
 * states its pre-skip in the OpusHead (bytes 10-11), which also goes out as `description`.
 */

/**
 * A WebCodecs-shaped AudioEncoder over FFmpeg's libopus / aac (node-av). Input of any buffer size is
 * regrouped into the codec's frame size; output timestamps come from a sample counter, never from
 * the codec (whose flush-time timestamps are not to be trusted). `encodeQueueSize` stays 0: audio is
 * encoded as it arrives (a 20 ms frame costs well under a millisecond).
 */
export class NodeAvAudioEncoder extends EncoderBase<AudioEncoderConfig, AudioData> implements AudioEncoderLike {
  private readonly _init: AudioEncoderInit;
  private readonly _av: NodeAv;
  private _config: AudioEncoderConfig | undefined;
  private _session: NodeAvEncoderSession | undefined;
  private _name: 'libopus' | 'aac' = 'libopus';
  private _frameSize = 960;
  private _interleaved = true;
  /** One codec frame of planar samples being filled. */
  private _fifo: Float32Array[] = [];
  private _fill = 0;
  private _firstTimestamp: number | undefined;
  private _framesSent = 0;
  private _packetsOut = 0;
  private _drained = false;
  readonly counters = { samplesIn: 0, packetsOut: 0, bytesOut: 0 };

  constructor(av: NodeAv, init: AudioEncoderInit) {
    super('AudioEncoder', 'ENCODER_FAILED', init.error);
    this._av = av;
    this._init = init;
  }

  protected get codecName(): string {
    return this._name;
  }

  protected open(config: AudioEncoderConfig): void {
    this._session?.close();
    this._session = undefined;
    const { Codec, CodecContext, Rational } = this._av.lib;
    const C = this._av.constants;
    const name = config.codec === 'opus' ? 'libopus' : config.codec.startsWith('mp4a.40') ? 'aac' : undefined;
    if (name === undefined) throw new AvpipeError('ENCODER_FAILED', `unsupported audio codec string "${config.codec}"`);
    const codec = Codec.findEncoderByName(name === 'libopus' ? C.FF_ENCODER_LIBOPUS : C.FF_ENCODER_AAC);
    if (codec === null) throw new AvpipeError('ENCODER_FAILED', `the ${name} encoder is not in this FFmpeg build`);
    const layout = config.numberOfChannels === 1 ? C.AV_CHANNEL_LAYOUT_MONO : C.AV_CHANNEL_LAYOUT_STEREO;
    const ctx = new CodecContext();
    ctx.allocContext3(codec);
    ctx.sampleRate = config.sampleRate;
    ctx.channelLayout = layout;
    this._interleaved = name === 'libopus';
    ctx.sampleFormat = this._interleaved ? C.AV_SAMPLE_FMT_FLT : C.AV_SAMPLE_FMT_FLTP;
    ctx.timeBase = new Rational(1, config.sampleRate);
    ctx.bitRate = BigInt(Math.round(config.bitrate));
    const session = NodeAvEncoderSession.open(this._av, name, ctx, codec, (frame) => {
      frame.nbSamples = ctx.frameSize > 0 ? ctx.frameSize : 1024;
      frame.format = ctx.sampleFormat;
      frame.sampleRate = config.sampleRate;
      frame.channelLayout = layout;
    });
    this._frameSize = session.frame.nbSamples;
    this._session = session;
    this._config = config;
    this._name = name;
    this._fifo = Array.from({ length: config.numberOfChannels }, () => new Float32Array(this._frameSize));
    this._fill = 0;
    this._firstTimestamp = undefined;
    this._framesSent = 0;
    this._packetsOut = 0;
    this._drained = false;
  }

  /** The codec's own decoder config bytes (OpusHead, AudioSpecificConfig). */
  get description(): Uint8Array | undefined {
    const x = this._session?.ctx.extraData;
    return x == null ? undefined : new Uint8Array(x);
  }

  protected submit(data: AudioData): void {
    if (this._drained) this.configure(this._config!);
    try {
      const cfg = this._config!;
      if (data.sampleRate !== cfg.sampleRate || data.numberOfChannels !== cfg.numberOfChannels) {
        throw new AvpipeError('ENCODER_FAILED', `audio is ${data.sampleRate} Hz x${data.numberOfChannels}, the encoder was configured for ${cfg.sampleRate} Hz x${cfg.numberOfChannels}`);
      }
      this._firstTimestamp ??= data.timestamp;
      const planes = data.planes();
      const n = data.numberOfFrames;
      let at = 0;
      while (at < n) {
        const take = Math.min(n - at, this._frameSize - this._fill);
        for (let c = 0; c < planes.length; c++) this._fifo[c]!.set(planes[c]!.subarray(at, at + take), this._fill);
        this._fill += take;
        at += take;
        if (this._fill === this._frameSize) this._sendFifo();
      }
      this.counters.samplesIn += n;
    } catch (err) {
      this.fail(err);
    } finally {
      data.close();
    }
  }

  protected async drain(): Promise<void> {
    if (this._drained) return;
    try {
      if (this._fill > 0) {
        for (const p of this._fifo) p.fill(0, this._fill);
        this._sendFifo();
      }
      this._session!.encode(null, (pkt) => this._emit(pkt));
      this._drained = true;
    } catch (err) {
      this.fail(err);
    }
  }

  protected release(): void {
    this._session?.close();
  }

  /** Sends the filled (or, at the end, zero-padded) codec frame. */
  private _sendFifo(): void {
    const session = this._session!;
    const { frame, data: planes } = session.writableFrame();
    const channels = this._fifo.length;
    if (this._interleaved) {
      const p0 = planes[0]!;
      const out = new Float32Array(p0.buffer, p0.byteOffset, this._frameSize * channels);
      for (let c = 0; c < channels; c++) {
        const src = this._fifo[c]!;
        for (let i = 0, j = c; i < this._frameSize; i++, j += channels) out[j] = src[i]!;
      }
    } else {
      for (let c = 0; c < channels; c++) {
        const p = planes[c]!;
        new Float32Array(p.buffer, p.byteOffset, this._frameSize).set(this._fifo[c]!);
      }
    }
    frame.nbSamples = this._frameSize;
    frame.pts = BigInt(this._framesSent * this._frameSize);
    this._framesSent++;
    this._fill = 0;
    session.encode(frame, (pkt) => this._emit(pkt));
  }

  /** The priming in microseconds. Opus's pre-skip counts 48 kHz samples whatever rate it encodes at (RFC 7845 5.1). */
  private _primingUs(): number {
    if (this._name === 'aac') return Math.round((1024 * 1e6) / this._config!.sampleRate);
    const head = this._session?.ctx.extraData;
    return head != null && head.length >= 12 ? Math.round((head.readUInt16LE(10) * 1e6) / 48000) : 0;
  }

  private _emit(pkt: Packet): void {
    const cfg = this._config!;
    const data = new Uint8Array(pkt.data!);
    const chunk = new EncodedAudioChunk({
      type: 'key',
      timestamp: this._firstTimestamp! + Math.round((this._packetsOut * this._frameSize * 1e6) / cfg.sampleRate) - this._primingUs(),
      duration: Math.round((this._frameSize * 1e6) / cfg.sampleRate),
      data,
    });
    const first = this._packetsOut === 0;
    this._packetsOut++;
    this.counters.packetsOut++;
    this.counters.bytesOut += data.byteLength;
    const description = this.description;
    this._init.output(chunk, first ? {
      decoderConfig: {
        codec: cfg.codec, sampleRate: cfg.sampleRate, numberOfChannels: cfg.numberOfChannels,
        ...(description === undefined ? {} : { description }),
      },
    } : {});
  }
}
