import { fitLine } from '../../line-fit.js';

/** A report's pair kept for the fit: unwrapped RTP ticks and sender seconds of one instant. */
interface ClockPoint {
  ext: number;
  seconds: number;
}

/** A straight RTP-to-sender-time mapping: `seconds + (ext - this.ext) * secPerTick`. */
export interface ClockLine {
  ext: number;
  seconds: number;
  secPerTick: number;
}

/** Reports kept for the fit: those of the last this many sender seconds... */
const FIT_WINDOW_S = 120;
/** ...one per this many sender seconds at most (a flood of reports costs nothing). */
const POINT_EVERY_S = 0.5;
/** A fitted rate needs reports this far apart: before that, the nominal rate. */
const MIN_FIT_SPAN_S = 2;
/** A report this far (seconds) from the fit is an outlier: left out of it, counted. */
const OUTLIER_S = 0.02;
/** This many outliers in a row that agree with each other are a step of the sender's clock: the fit restarts from them. */
const STEP_AFTER = 3;
/** A fitted rate further than this from the nominal one (parts per million) is taken as this: no real clock is that far off. */
const MAX_CLOCK_PPM = 5000;
/** The placement closes an offset from the fit over at least this many seconds of media... */
const SLEW_S = 2;
/**
 * ...changing its rate by at most this (ppm): half of what the audio drift corrector follows, so the
 * audio's samples keep up with its times.
 */
const MAX_SLEW_PPM = 1000;
/** An offset beyond this (seconds) is a step, not slewed: the placement keeps its place, the fit's rate is followed. */
const MAX_SLEW_OFFSET_S = 0.5;

/** How a report was taken. */
export type ReportUse = 'fitted' | 'outlier' | 'step' | 'thinned';

/**
 * The pure core of one track's sender clock and of where its frames are placed. Every RTCP sender
 * report is a point (RTP ticks, sender NTP seconds); a least-squares line through the recent ones
 * gives the track's real tick rate (a phone's sound card runs some hundred ppm off its nominal
 * 48 kHz); outliers are left out and counted, and a run of agreeing outliers is a step of the
 * sender's clock. Frames are placed on the fit plus an offset (what steps and jumps moved), and a
 * change of the fit is reached without a jump: a slew segment from where the last frame was placed
 * to the new target, at most {@link MAX_SLEW_PPM} off the fit's rate, then the fit again (RFC 3550
 * section 6.4.1's mapping, disciplined as NTP's clock is).
 */
export class SenderClock {
  readonly clockRate: number;
  private _points: ClockPoint[] = [];
  private _outliers: ClockPoint[] = [];
  private _fit: ClockLine | undefined;
  /** Seconds added to the fit: steps and jumps the placement did not follow. */
  private _offset = 0;
  /** Placement before any report (a track placed by its arrival). */
  private _provisional: ClockLine | undefined;
  /** The slew segment in force: the placement up to `untilExt`, the fit plus the offset after it. */
  private _slew: (ClockLine & { untilExt: number }) | undefined;
  /** Reports left out of the fit. */
  outlierCount = 0;
  /** Steps of the sender's clock (the fit restarted). */
  steps = 0;

  constructor(clockRate: number) {
    this.clockRate = clockRate;
  }

  /** True once frames can be placed: a report came, or {@link placeAt} gave a place. */
  get anchored(): boolean {
    return this._fit !== undefined || this._provisional !== undefined;
  }

  /** True once a report placed the track (not only its arrival). */
  get fitted(): boolean {
    return this._fit !== undefined;
  }

  /** Places the track without a report: RTP `ext` at sender `seconds`, the nominal rate (arrival). */
  placeAt(ext: number, seconds: number): void {
    this._provisional = { ext, seconds, secPerTick: 1 / this.clockRate };
  }

  /** Sender seconds where RTP time `ext` is placed. */
  seconds(ext: number): number {
    const slew = this._slew;
    if (slew !== undefined && ext <= slew.untilExt) return lineAt(slew, ext);
    if (this._fit !== undefined) return lineAt(this._fit, ext) + this._offset;
    return lineAt(this._provisional!, ext);
  }

  /** Moves the placement by `seconds` from here on (a jump re-anchored by arrival). */
  shift(seconds: number): void {
    this._offset += seconds;
    if (this._slew !== undefined) this._slew = { ...this._slew, seconds: this._slew.seconds + seconds };
    if (this._provisional !== undefined) this._provisional = { ...this._provisional, seconds: this._provisional.seconds + seconds };
  }

  /**
   * Takes a report's pair. `placedExt` is the RTP time of the last frame placed (none: nothing was,
   * the placement may move freely): what was placed before it stays where it is.
   */
  add(ext: number, seconds: number, placedExt: number | undefined): ReportUse {
    const p = { ext, seconds };
    const fit = this._fit;
    if (fit !== undefined && Math.abs(seconds - lineAt(fit, ext)) > OUTLIER_S) {
      this.outlierCount++;
      this._outliers.push(p);
      if (this._outliers.length < STEP_AFTER) return 'outlier';
      const outliers = this._outliers;
      const step = fitOf(outliers, this.clockRate);
      this._outliers = [];
      if (!outliers.every((o) => Math.abs(o.seconds - lineAt(step, o.ext)) <= OUTLIER_S)) return 'outlier';
      this._points = outliers;
      this.steps++;
      // The sender's wall clock stepped, its media did not: the placement stays, the offset takes the step.
      this._refit(placedExt, true);
      return 'step';
    }
    this._outliers = [];
    const last = this._points[this._points.length - 1];
    if (last !== undefined && seconds - last.seconds < POINT_EVERY_S && seconds >= last.seconds) return 'thinned';
    this._points.push(p);
    while (this._points.length > 2 && seconds - this._points[0]!.seconds > FIT_WINDOW_S) this._points.shift();
    this._refit(placedExt, false);
    return 'fitted';
  }

  /** The track's clock against the sender's, parts per million (positive: it ticks fast); null until fitted. */
  get ppm(): number | null {
    if (this._fit === undefined || span(this._points) < MIN_FIT_SPAN_S) return null;
    return (1 / (this._fit.secPerTick * this.clockRate) - 1) * 1e6;
  }

  /** A new fit: the placement reaches it from where it is at `placedExt` (a step or a big offset: taken into the offset). */
  private _refit(placedExt: number | undefined, step: boolean): void {
    const before = this.anchored && placedExt !== undefined ? this.seconds(placedExt) : undefined;
    const first = this._fit === undefined;
    this._fit = fitOf(this._points, this.clockRate);
    this._slew = undefined;
    if (first && this._provisional !== undefined) {
      // Placed by arrival until now: it keeps that place, its reports refine its rate.
      const at = placedExt ?? this._provisional.ext;
      this._offset = lineAt(this._provisional, at) - lineAt(this._fit, at);
      this._provisional = undefined;
      return;
    }
    if (before === undefined || placedExt === undefined) return;
    const target = lineAt(this._fit, placedExt) + this._offset;
    const off = target - before;
    if (step || Math.abs(off) > MAX_SLEW_OFFSET_S) {
      this._offset -= off;
      return;
    }
    if (off === 0) return;
    // The slew's length: at least SLEW_S, longer for an offset the rate bound cannot close sooner.
    const seconds = Math.max(SLEW_S, Math.abs(off) / (MAX_SLEW_PPM * 1e-6));
    const untilExt = placedExt + seconds / this._fit.secPerTick;
    const end = lineAt(this._fit, untilExt) + this._offset;
    this._slew = { ext: placedExt, seconds: before, secPerTick: (end - before) / (untilExt - placedExt), untilExt };
  }
}

/** Sender seconds at `ext` on `line`. */
export function lineAt(line: ClockLine, ext: number): number {
  return line.seconds + (ext - line.ext) * line.secPerTick;
}

function span(points: readonly ClockPoint[]): number {
  return points.length < 2 ? 0 : points[points.length - 1]!.seconds - points[0]!.seconds;
}

/** Least squares through the points (relative to the last one, for precision), its rate bounded; the nominal rate when they span too little. */
function fitOf(points: readonly ClockPoint[], clockRate: number): ClockLine {
  const last = points[points.length - 1]!;
  const nominal = 1 / clockRate;
  const { mx, my, slope } = fitLine(points.map((p) => ({ x: p.ext - last.ext, y: p.seconds - last.seconds })));
  // Reports too close for a rate (or one): the mean offset at the nominal rate.
  const rate = span(points) < MIN_FIT_SPAN_S || slope === undefined ? nominal : slope;
  const bound = nominal * MAX_CLOCK_PPM * 1e-6;
  return { ext: last.ext + mx, seconds: last.seconds + my, secPerTick: Math.min(nominal + bound, Math.max(nominal - bound, rate)) };
}
