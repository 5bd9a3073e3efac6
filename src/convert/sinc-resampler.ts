import { AudioResampler } from './audio-resampler.js';
import { concat, windowedSinc } from './windowed-sinc.js';

/** Zero crossings of the sinc on each side of a tap set, at the lower of the two rates. */
const HALF_WIDTH = 16;
/** Phases kept at most: exact for every ratio of common rates (44.1k <-> 48k needs 160 or 147). */
const MAX_PHASES = 1024;

/**
 * The {@link AudioResampler} in TypeScript alone, for providers without a native one (wasm):
 * channels are mapped first (the same matrix swresample uses for mono, stereo and 5.1), then each
 * channel goes through a Kaiser-windowed sinc, band-limited to the lower rate, with a table of
 * filter phases built once per rate pair. The filter is centred, so the output has no delay.
 * @internal
 */
export class SincResampler extends AudioResampler {
  private _key = '';
  private _inRate = 0;
  private _up = 1;
  private _down = 1;
  private _taps = 0;
  private _phases = 0;
  private _table = new Float32Array(0);
  /** Input history per output channel, from absolute input sample `_base`. */
  private _history: Float32Array[] = [];
  private _base = 0;
  private _received = 0;
  /** The next output sample. */
  private _next = 0;

  constructor(sampleRate: number, channels: number) {
    super(sampleRate, channels);
  }

  close(): void {
    this._history = [];
  }

  protected convert(planes: readonly Float32Array[], n: number, sampleRate: number): Float32Array[] {
    const key = `${sampleRate}:${planes.length}`;
    // A format change mid-stream: what the old one holds is let out first.
    const before = this._key !== '' && key !== this._key ? this.drain() : [];
    if (key !== this._key) this._setup(sampleRate);
    this._key = key;
    const mixed = mapChannels(planes, n, this.channels);
    const out = this._inRate === this.sampleRate ? mixed : this._push(mixed, n, false);
    return before.length === 0 ? out : out.map((p, c) => concat(before[c]!, p));
  }

  protected drain(): Float32Array[] {
    if (this._key === '' || this._inRate === this.sampleRate) return [];
    return this._push(Array.from({ length: this.channels }, () => new Float32Array(0)), 0, true);
  }

  private _setup(inRate: number): void {
    const g = gcd(inRate, this.sampleRate);
    this._inRate = inRate;
    this._up = this.sampleRate / g;
    this._down = inRate / g;
    this._phases = Math.min(this._up, MAX_PHASES);
    // Band-limit to the lower rate: when shrinking, the kernel widens by the ratio.
    const cutoff = Math.min(1, this.sampleRate / inRate);
    const half = Math.ceil(HALF_WIDTH / cutoff);
    this._taps = 2 * half;
    this._table = new Float32Array(this._phases * this._taps);
    for (let ph = 0; ph < this._phases; ph++) {
      const frac = ph / this._phases;
      let sum = 0;
      for (let t = 0; t < this._taps; t++) {
        // Tap t reads input sample floor(position) - half + 1 + t.
        const x = t - half + 1 - frac;
        const w = windowedSinc(x, cutoff, half + 1);
        this._table[ph * this._taps + t] = w;
        sum += w;
      }
      for (let t = 0; t < this._taps; t++) this._table[ph * this._taps + t]! /= sum;
    }
    this._history = Array.from({ length: this.channels }, () => new Float32Array(0));
    this._base = 0;
    this._received = 0;
    this._next = 0;
  }

  /** Appends input and makes every output sample whose taps are all in (all, padded with silence, at the end). */
  private _push(planes: Float32Array[], n: number, end: boolean): Float32Array[] {
    const half = this._taps / 2;
    this._history = this._history.map((h, c) => concat(h, planes[c]!.subarray(0, n)));
    this._received += n;
    const outs: number[][] = Array.from({ length: this.channels }, () => []);
    for (;;) {
      const num = this._next * this._down;
      const i = Math.floor(num / this._up);
      if (end ? i >= this._received : i + half >= this._received) break;
      const phase = this._phases === this._up ? num % this._up : Math.floor(((num % this._up) * this._phases) / this._up);
      const row = phase * this._taps;
      const first = i - half + 1;
      for (let c = 0; c < this.channels; c++) {
        const h = this._history[c]!;
        let acc = 0;
        for (let t = 0; t < this._taps; t++) {
          const at = first + t - this._base;
          // Before the first sample and after the last: silence.
          if (at >= 0 && at < h.length) acc += h[at]! * this._table[row + t]!;
        }
        outs[c]!.push(acc);
      }
      this._next++;
    }
    // Keep only what later output samples still read.
    const keepFrom = Math.floor((this._next * this._down) / this._up) - half + 1;
    if (keepFrom > this._base) {
      const drop = Math.min(keepFrom - this._base, this._history[0]?.length ?? 0);
      this._history = this._history.map((h) => h.slice(drop));
      this._base += drop;
    }
    return outs.map((o) => Float32Array.from(o));
  }
}

/** Mixes `n` samples of the input planes into `channels` planes (swresample's default matrices for the usual cases). */
export function mapChannels(planes: readonly Float32Array[], n: number, channels: number): Float32Array[] {
  const inCh = planes.length;
  if (inCh === channels) return planes.map((p) => p.subarray(0, n));
  const out = Array.from({ length: channels }, () => new Float32Array(n));
  if (inCh === 1) {
    for (const o of out) o.set(planes[0]!.subarray(0, n));
  } else if (channels === 1) {
    for (const p of planes) for (let i = 0; i < n; i++) out[0]![i]! += p[i]! / inCh;
  } else if (channels === 2 && inCh >= 5) {
    // FL FR FC LFE BL BR (or SL SR): centre and surrounds at -3 dB, LFE left out.
    const [fl, fr, fc, , bl, br] = planes;
    for (let i = 0; i < n; i++) {
      const centre = 0.7071 * fc![i]!;
      out[0]![i] = fl![i]! + centre + 0.7071 * bl![i]!;
      out[1]![i] = fr![i]! + centre + 0.7071 * (br ?? bl)![i]!;
    }
  } else {
    for (let c = 0; c < Math.min(inCh, channels); c++) out[c]!.set(planes[c]!.subarray(0, n));
  }
  return out;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
