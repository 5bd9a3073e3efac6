import type { SoftwareResampleContext } from 'node-av/lib';
import { AudioData } from '../codecs/audio-data.js';
import type { NodeAv } from '../codecs/node-av-loader.js';
import { SampleClock } from '../time.js';

/**
 * Resamples f32-planar audio to another rate and channel count with FFmpeg's swresample (native
 * code). Output timestamps come from a sample counter anchored at the first input, so resampling
 * never drifts.
 */
export class AudioResampler {
  readonly sampleRate: number;
  readonly channels: number;
  private readonly _av: NodeAv;
  private _swr: SoftwareResampleContext | undefined;
  private _key = '';
  private _origin: number | undefined;
  private _out = 0;
  /** The input's own clock, to see its gaps. */
  private readonly _inClock = new SampleClock();

  constructor(av: NodeAv, sampleRate: number, channels: number) {
    this._av = av;
    this.sampleRate = sampleRate;
    this.channels = channels;
  }

  /** The audio at the target format (the same object when it already is). */
  process(data: AudioData): AudioData | null {
    if (data.sampleRate === this.sampleRate && data.numberOfChannels === this.channels && this._swr === undefined) return data;
    const { SoftwareResampleContext, FFmpegError, avChannelLayoutDefault } = this._av.lib;
    const C = this._av.constants;
    const key = `${data.sampleRate}:${data.numberOfChannels}`;
    if (this._swr === undefined || key !== this._key) {
      this._swr?.free();
      const swr = new SoftwareResampleContext();
      FFmpegError.throwIfError(swr.allocSetOpts2(avChannelLayoutDefault(this.channels), C.AV_SAMPLE_FMT_FLTP, this.sampleRate,
        avChannelLayoutDefault(data.numberOfChannels), C.AV_SAMPLE_FMT_FLTP, data.sampleRate), 'configure swresample');
      FFmpegError.throwIfError(swr.init(), 'init swresample');
      this._swr = swr;
      this._key = key;
    }
    this._origin ??= data.timestamp;
    // A gap in the input (a live track's mute, lost packets) moves the output on by as much.
    this._origin += this._inClock.place(data.timestamp, data.numberOfFrames, data.sampleRate).gap;
    const inPlanes = data.planes().map((p) => Buffer.from(p.buffer, p.byteOffset, data.numberOfFrames * 4));
    const room = this._swr.getOutSamples(data.numberOfFrames) + 16;
    const out = Array.from({ length: this.channels }, () => new Float32Array(room));
    const got = this._swr.convertSync(out.map((p) => Buffer.from(p.buffer)), room, inPlanes, data.numberOfFrames);
    FFmpegError.throwIfError(got, 'resample');
    data.close();
    return this._wrap(out, got);
  }

  /** Drains what swresample still holds. */
  flush(): AudioData | null {
    if (this._swr === undefined) return null;
    const room = 4096;
    const out = Array.from({ length: this.channels }, () => new Float32Array(room));
    const got = this._swr.convertSync(out.map((p) => Buffer.from(p.buffer)), room, null, 0);
    return got > 0 ? this._wrap(out, got) : null;
  }

  /** Idempotent. */
  close(): void {
    this._swr?.free();
    this._swr = undefined;
  }

  private _wrap(planes: Float32Array[], n: number): AudioData | null {
    if (n <= 0) return null;
    const timestamp = this._origin! + Math.round((this._out * 1e6) / this.sampleRate);
    this._out += n;
    return new AudioData({ format: 'f32-planar', sampleRate: this.sampleRate, numberOfFrames: n, numberOfChannels: this.channels, timestamp, data: planes.map((p) => p.subarray(0, n)) });
  }
}
