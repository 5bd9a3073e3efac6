import type { SoftwareResampleContext } from 'node-av/lib';
import type { NodeAv } from './node-av-loader.js';
import { AudioResampler } from '../../convert/audio-resampler.js';

/** The {@link AudioResampler} on FFmpeg's swresample (native code, through node-av). */
export class SwrResampler extends AudioResampler {
  private readonly _av: NodeAv;
  private _swr: SoftwareResampleContext | undefined;
  private _key = '';

  constructor(av: NodeAv, sampleRate: number, channels: number) {
    super(sampleRate, channels);
    this._av = av;
  }

  close(): void {
    this._swr?.free();
    this._swr = undefined;
  }

  protected convert(planes: readonly Float32Array[], n: number, sampleRate: number): Float32Array[] {
    const { SoftwareResampleContext, FFmpegError, avChannelLayoutDefault } = this._av.lib;
    const C = this._av.constants;
    const key = `${sampleRate}:${planes.length}`;
    if (this._swr === undefined || key !== this._key) {
      this._swr?.free();
      const swr = new SoftwareResampleContext();
      FFmpegError.throwIfError(swr.allocSetOpts2(avChannelLayoutDefault(this.channels), C.AV_SAMPLE_FMT_FLTP, this.sampleRate,
        avChannelLayoutDefault(planes.length), C.AV_SAMPLE_FMT_FLTP, sampleRate), 'configure swresample');
      FFmpegError.throwIfError(swr.init(), 'init swresample');
      this._swr = swr;
      this._key = key;
    }
    const inPlanes = planes.map((p) => Buffer.from(p.buffer, p.byteOffset, n * 4));
    const room = this._swr.getOutSamples(n) + 16;
    const out = Array.from({ length: this.channels }, () => new Float32Array(room));
    const got = this._swr.convertSync(out.map((p) => Buffer.from(p.buffer)), room, inPlanes, n);
    FFmpegError.throwIfError(got, 'resample');
    return out.map((p) => p.subarray(0, Math.max(0, got)));
  }

  protected drain(): Float32Array[] {
    if (this._swr === undefined) return [];
    const room = 4096;
    const out = Array.from({ length: this.channels }, () => new Float32Array(room));
    const got = this._swr.convertSync(out.map((p) => Buffer.from(p.buffer)), room, null, 0);
    return out.map((p) => p.subarray(0, Math.max(0, got)));
  }
}
