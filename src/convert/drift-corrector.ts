import { AudioData } from '../media/audio-data.js';
import { AUDIO_GAP_US, type Microseconds } from '../time.js';
import { fitLine } from '../line-fit.js';
import { concat, windowedSinc } from './windowed-sinc.js';

/** Zero crossings of the interpolating sinc on each side. */
const HALF_WIDTH = 16;
/** Filter phases in the table; a position between two is interpolated linearly. */
const PHASES = 256;
/** The measured drift is the slope of the offset over this much input (seconds)... */
const SLOPE_WINDOW_S = 30;
/** ...once its points span this much; until then only the offset is corrected. */
const MIN_SLOPE_SPAN_S = 2;
/** What is left of the offset is closed over this many seconds. */
const CLOSE_S = 2;
/** Points of the slope are taken this often (seconds of input). */
const POINT_EVERY_S = 0.25;

/** A drift corrector's counters: a track's entry in `result.tracks`. */
export interface DriftStats {
  /** The source's sample clock against its timestamps' clock, parts per million (positive: fast, more samples than time: some taken out); null until measured (2 s). */
  measuredPpm: number | null;
  /** How far the resampling ratio is from 1 now, ppm (positive: samples taken out). */
  ratioPpm: number;
  /** Net time taken out of the audio (negative: put in) by resampling, microseconds. */
  correctedUs: Microseconds;
  /** Where the output's samples are against the input's timestamps now, microseconds (positive: late). */
  offsetUs: Microseconds;
  /** The largest such offset, microseconds. */
  maxOffsetUs: Microseconds;
  /** Gaps in the input (a mute, lost packets) the corrector started again after. */
  gaps: number;
}

/**
 * The pure core of audio drift correction: a live track whose samples come from one clock (a
 * phone's sound card) while its timestamps come from another (the session clock, through the
 * sender's reports) carries more or fewer samples than its time: 300 ppm is 90 ms an hour, what a
 * player then shows as audio late against video. This measures the drift (the slope of the offset
 * between the sample count and the timestamps) and resamples by it, plus what closes the offset
 * left, within `maxPpm` (2000 ppm, 3.5 cents: below what a listener hears), with a windowed sinc at
 * fractional positions. Output times run on from the first input by its sample count (a gap in the
 * input starts it again there), so what follows counts samples as before. egress's sync engine
 * does the same with GStreamer's tempo control.
 */
export class DriftCorrector {
  readonly maxPpm: number;
  /** The input's format (its first buffer's; a change starts the corrector again). */
  private _rate = 0;
  private _channels = 0;
  private readonly _table: Float32Array;
  /** The taps of one output sample (interpolated between two phases). */
  private readonly _kernel = new Float32Array(2 * HALF_WIDTH);
  private _history: Float32Array[] = [];
  /** Absolute input index of `_history[c][0]`. */
  private _base = 0;
  /** Input samples taken since the (re)start. */
  private _received = 0;
  /** Input position of the next output sample. */
  private _pos = 0;
  /** Output samples made since the (re)start. */
  private _out = 0;
  private _step = 1;
  private _origin: Microseconds | undefined;
  /** The input's offset (sample count minus timestamps, samples) at a point of input. */
  private _points: { at: number; offset: number }[] = [];
  private _lastOffset: number | undefined;
  private _slope: number | undefined;
  private readonly _stats = { correctedUs: 0, offsetUs: 0, maxOffsetUs: 0, gaps: 0 };

  constructor(maxPpm = 2000) {
    this.maxPpm = maxPpm;
    this._table = new Float32Array((PHASES + 1) * 2 * HALF_WIDTH);
    for (let ph = 0; ph <= PHASES; ph++) {
      let sum = 0;
      const row = ph * 2 * HALF_WIDTH;
      for (let t = 0; t < 2 * HALF_WIDTH; t++) {
        const x = t - HALF_WIDTH + 1 - ph / PHASES;
        const w = windowedSinc(x, 1, HALF_WIDTH + 1);
        this._table[row + t] = w;
        sum += w;
      }
      for (let t = 0; t < 2 * HALF_WIDTH; t++) this._table[row + t]! /= sum;
    }
  }

  /** Takes a buffer; returns what is ready, timed by its count (at the input's rate and channel count). */
  process(data: AudioData): AudioData[] {
    const out: AudioData[] = [];
    if (data.sampleRate !== this._rate || data.numberOfChannels !== this._channels) {
      // The first buffer, or a format change: what the old format holds goes out first.
      this._restart(data, out);
    }
    const rate = this._rate;
    // How far the sample count is ahead of this buffer's timestamp (samples).
    let offset = this._received - ((data.timestamp - this._origin!) * rate) / 1e6;
    if (this._lastOffset !== undefined && Math.abs(offset - this._lastOffset) * 1e6 / rate > AUDIO_GAP_US) {
      // A gap (or an overlap): what is held goes out, and the input starts again here.
      this._restart(data, out);
      this._stats.gaps++;
      offset = 0;
    }
    this._lastOffset = offset;
    this._measure(offset);
    const n = data.numberOfFrames;
    const planes = data.planes();
    this._history = this._history.map((h, c) => concat(h, planes[c]!.subarray(0, n)));
    this._received += n;
    data.close();
    const made = this._run(false);
    if (made !== null) out.push(made);
    return out;
  }

  /** What is held, padded with silence to the input's end. */
  flush(): AudioData | null {
    return this._run(true);
  }

  toJSON(): DriftStats {
    return {
      measuredPpm: this._slope === undefined ? null : (1 / (1 - this._slope) - 1) * 1e6,
      ratioPpm: (this._step - 1) * 1e6,
      correctedUs: Math.round(this._stats.correctedUs),
      offsetUs: Math.round(this._stats.offsetUs),
      maxOffsetUs: Math.round(this._stats.maxOffsetUs),
      gaps: this._stats.gaps,
    };
  }

  /** The slope of the offset (the drift) and the step that follows it and closes what is left. */
  private _measure(offset: number): void {
    const rate = this._rate;
    const at = this._received;
    const last = this._points[this._points.length - 1];
    if (last === undefined || at - last.at >= POINT_EVERY_S * rate) {
      this._points.push({ at, offset });
      while (this._points.length > 2 && at - this._points[0]!.at > SLOPE_WINDOW_S * rate) this._points.shift();
      if (at - this._points[0]!.at >= MIN_SLOPE_SPAN_S * rate) this._slope = fitLine(this._points.map((p) => ({ x: p.at, y: p.offset }))).slope ?? 0;
    }
    // Where the output is against where the timestamps put it: the output sample `_out` reads input
    // `_pos`, which the timestamps place at `_pos - offset`.
    const error = this._out - (this._pos - offset);
    const errorUs = (error * 1e6) / rate;
    this._stats.offsetUs = errorUs;
    this._stats.maxOffsetUs = Math.max(this._stats.maxOffsetUs, Math.abs(errorUs));
    const bound = this.maxPpm * 1e-6;
    const wanted = (this._slope ?? 0) + error / (CLOSE_S * rate);
    this._step = 1 + Math.min(bound, Math.max(-bound, wanted));
  }

  /**
   * Starts again at `data` (its format and time): what is held goes out into `out` first. The
   * measured drift is kept until measured again.
   */
  private _restart(data: AudioData, out: AudioData[]): void {
    const tail = this._run(true);
    if (tail !== null) out.push(tail);
    this._rate = data.sampleRate;
    this._channels = data.numberOfChannels;
    this._origin = data.timestamp;
    this._history = Array.from({ length: this._channels }, () => new Float32Array(0));
    this._base = 0;
    this._received = 0;
    this._pos = 0;
    this._out = 0;
    this._lastOffset = undefined;
    this._points = [];
  }

  /** Idempotent: drops what is held (a later buffer starts it again). */
  close(): void {
    this._history = [];
    this._received = 0;
    this._pos = 0;
    this._rate = 0;
    this._channels = 0;
  }

  /** Makes every output sample whose taps are all in (at the end, padded with silence), as one buffer. */
  private _run(end: boolean): AudioData | null {
    const outs: Float32Array[] = [];
    const room = Math.max(0, Math.ceil((this._received - this._pos) / this._step) + 2);
    for (let c = 0; c < this._channels; c++) outs.push(new Float32Array(room));
    let n = 0;
    const taps = 2 * HALF_WIDTH;
    const kernel = this._kernel;
    const firstOut = this._out;
    for (;;) {
      const i = Math.floor(this._pos);
      if (end ? i >= this._received : i + HALF_WIDTH >= this._received) break;
      if (n >= room) break;
      const f = (this._pos - i) * PHASES;
      const ph = Math.floor(f);
      const w = f - ph;
      const row0 = ph * taps;
      const table = this._table;
      for (let t = 0; t < taps; t++) kernel[t] = table[row0 + t]! + w * (table[row0 + taps + t]! - table[row0 + t]!);
      const first = i - HALF_WIDTH + 1 - this._base;
      for (let c = 0; c < this._channels; c++) {
        const h = this._history[c]!;
        let acc = 0;
        if (first >= 0 && first + taps <= h.length) {
          for (let t = 0; t < taps; t++) acc += h[first + t]! * kernel[t]!;
        } else {
          // At the start and (flushing) the end: silence outside the input.
          for (let t = 0; t < taps; t++) {
            const at = first + t;
            if (at >= 0 && at < h.length) acc += h[at]! * kernel[t]!;
          }
        }
        outs[c]![n] = acc;
      }
      n++;
      this._pos += this._step;
      this._stats.correctedUs += ((this._step - 1) * 1e6) / this._rate;
    }
    this._out += n;
    // Keep only what later output samples still read.
    const keepFrom = Math.floor(this._pos) - HALF_WIDTH + 1;
    if (keepFrom > this._base) {
      const drop = Math.min(keepFrom - this._base, this._history[0]?.length ?? 0);
      this._history = this._history.map((h) => h.slice(drop));
      this._base += drop;
    }
    if (n === 0 || this._origin === undefined) return null;
    const timestamp = this._origin + Math.round((firstOut * 1e6) / this._rate);
    return new AudioData({ format: 'f32-planar', sampleRate: this._rate, numberOfFrames: n, numberOfChannels: this._channels, timestamp, data: outs.map((p) => p.subarray(0, n)) });
  }
}
