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

/** Reports kept for the fit: those of the last this many sender seconds (at least two). */
const FIT_WINDOW_S = 120;
/** A fitted rate needs reports this far apart: before that, the nominal rate. */
const MIN_FIT_SPAN_S = 2;
/** A report this far (seconds) from the fit is an outlier: left out of it, counted. */
const OUTLIER_S = 0.02;
/** This many outliers in a row that agree with each other are a step of the sender's clock: the fit restarts from them. */
const STEP_AFTER = 3;
/** A fitted rate further than this from the nominal one (parts per million) is taken as this: no real clock is that far off. */
const MAX_CLOCK_PPM = 5000;
/** The placement line closes an offset from the fit over this many seconds of media... */
const SLEW_S = 2;
/** ...changing its rate by at most this (ppm): the corrections stay smooth. */
const MAX_SLEW_PPM = 10_000;
/** An offset beyond this (seconds) is a step that arrival-based jump detection owns: only the rate is followed. */
const MAX_SLEW_OFFSET_S = 0.5;

/**
 * The pure core of one track's sender clock: every RTCP sender report is a point (RTP ticks, sender
 * NTP seconds); a least-squares line through the recent ones gives the track's real tick rate (a
 * phone's sound card runs some hundred ppm off its nominal 48 kHz), outliers are left out and
 * counted, and a run of agreeing outliers is a step of the sender's clock. {@link steer} turns a
 * placement line (what frames were placed by) toward the fit without a jump: the line keeps its
 * place at the last frame and changes its rate, within a bound, to close the offset over
 * {@link SLEW_S} seconds (RFC 3550 section 6.4.1's mapping, smoothed as NTP's clock discipline is).
 */
export class SenderClock {
  readonly clockRate: number;
  private _points: ClockPoint[] = [];
  private _outliers: ClockPoint[] = [];
  /** Reports left out of the fit. */
  outlierCount = 0;
  /** Steps of the sender's clock (the fit restarted). */
  steps = 0;

  constructor(clockRate: number) {
    this.clockRate = clockRate;
  }

  /** Takes a report's pair; false when it is an outlier (left out). */
  add(ext: number, seconds: number): boolean {
    const p = { ext, seconds };
    const fit = this.fit();
    if (fit !== undefined && Math.abs(seconds - lineAt(fit, ext)) > OUTLIER_S) {
      this.outlierCount++;
      this._outliers.push(p);
      if (this._outliers.length >= STEP_AFTER) {
        const step = fitOf(this._outliers, this.clockRate);
        if (this._outliers.every((o) => Math.abs(o.seconds - lineAt(step, o.ext)) <= OUTLIER_S)) {
          this._points = this._outliers;
          this.steps++;
        }
        this._outliers = [];
      }
      return false;
    }
    this._outliers = [];
    this._points.push(p);
    while (this._points.length > 2 && seconds - this._points[0]!.seconds > FIT_WINDOW_S) this._points.shift();
    return true;
  }

  /** Moves every point by `seconds` (the track was re-anchored by its arrival: the fit follows it). */
  shift(seconds: number): void {
    for (const p of this._points) p.seconds += seconds;
    this._outliers = [];
  }

  /** The fitted mapping (the nominal rate until the reports span {@link MIN_FIT_SPAN_S}); undefined before any report. */
  fit(): ClockLine | undefined {
    return this._points.length === 0 ? undefined : fitOf(this._points, this.clockRate);
  }

  /** The track's clock against the sender's, parts per million (positive: it ticks fast); null until fitted. */
  get ppm(): number | null {
    const fit = this.fit();
    if (fit === undefined || span(this._points) < MIN_FIT_SPAN_S) return null;
    return (1 / (fit.secPerTick * this.clockRate) - 1) * 1e6;
  }

  /**
   * A placement line that continues `line` at `ext` (where the last frame was placed: no jump) and
   * reaches the fit {@link SLEW_S} seconds later; the fit itself when nothing was placed yet.
   */
  steer(line: ClockLine | undefined, ext: number | undefined): ClockLine | undefined {
    const fit = this.fit();
    if (fit === undefined || line === undefined || ext === undefined) return fit;
    const at = lineAt(line, ext);
    const offset = lineAt(fit, ext) - at;
    if (Math.abs(offset) > MAX_SLEW_OFFSET_S) return { ext, seconds: at, secPerTick: fit.secPerTick };
    const ahead = SLEW_S / fit.secPerTick;
    const rate = (lineAt(fit, ext + ahead) - at) / ahead;
    const bound = fit.secPerTick * MAX_SLEW_PPM * 1e-6;
    return { ext, seconds: at, secPerTick: Math.min(fit.secPerTick + bound, Math.max(fit.secPerTick - bound, rate)) };
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
  if (span(points) < MIN_FIT_SPAN_S) {
    // The mean offset at the nominal rate: one report, or reports too close for a rate.
    const mean = points.reduce((s, p) => s + (p.seconds - last.seconds) - (p.ext - last.ext) * nominal, 0) / points.length;
    return { ext: last.ext, seconds: last.seconds + mean, secPerTick: nominal };
  }
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.ext - last.ext;
    sy += p.seconds - last.seconds;
  }
  const mx = sx / points.length;
  const my = sy / points.length;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    const dx = p.ext - last.ext - mx;
    sxx += dx * dx;
    sxy += dx * (p.seconds - last.seconds - my);
  }
  const bound = nominal * MAX_CLOCK_PPM * 1e-6;
  const slope = Math.min(nominal + bound, Math.max(nominal - bound, sxy / sxx));
  return { ext: last.ext + mx, seconds: last.seconds + my, secPerTick: slope };
}
