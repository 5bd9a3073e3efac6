import type { Microseconds } from '../time.js';

/** One pause of a run, as the result reports it. */
export interface PauseRecord {
  /** Where the cut is on the output's timeline, ms: what was before it plays up to here, what followed from here. */
  atMs: number;
  /** Media cut out, ms: the paused time (rounded up to whole frames when avpipe encodes the video). */
  durationMs: number;
  /** Wall clock (epoch ms) of `pause()` and of `resume()` (null: still paused when the run ended). */
  pausedAt: number;
  /** Wall clock (epoch ms) of `resume()`; null when the run ended still paused. */
  resumedAt: number | null;
}

interface Cut {
  fromUs: Microseconds;
  /** Undefined while paused. */
  toUs: Microseconds | undefined;
  pausedAt: number;
  resumedAt: number | null;
}

/**
 * The pure core of pause and resume: the paused spans of a live run's media timeline, cut out of the
 * output. Every track is cut at the same media times, decided by timestamps, not by when an item
 * arrives: a pause starts at the next grid point (a video frame's slot) at or after the latest media
 * any track has reached, and ends at the grid point at or after the latest media reached when it is
 * resumed; what lies between is dropped, and what follows moves back by the time cut, so the output
 * is continuous (no frozen frame, no silence) and A/V stay in sync across the cut.
 * @internal
 */
export class PauseCuts {
  private readonly _grid: (us: Microseconds) => Microseconds;
  private readonly _cuts: Cut[] = [];
  private _frontUs: Microseconds = 0;

  /** `grid`: the first slot at or after a time (the video's frame times, so a cut keeps the frame grid). */
  constructor(grid: (us: Microseconds) => Microseconds) {
    this._grid = grid;
  }

  /** True between pause() and resume(). */
  get paused(): boolean {
    return this._cuts.at(-1)?.toUs === undefined && this._cuts.length > 0;
  }

  /** A track reached `endUs` (an item's end, on the source's timeline). */
  see(endUs: Microseconds): void {
    if (endUs > this._frontUs) this._frontUs = endUs;
  }

  /** Starts a cut at the next slot from the latest media seen; false when already paused. */
  pause(now: number): boolean {
    if (this.paused) return false;
    const last = this._cuts.at(-1);
    this._cuts.push({ fromUs: Math.max(this._grid(this._frontUs), last?.toUs ?? -Infinity), toUs: undefined, pausedAt: now, resumedAt: null });
    return true;
  }

  /** Ends the open cut at the next slot from the latest media seen; false when not paused. */
  resume(now: number): boolean {
    const cut = this._cuts.at(-1);
    if (cut === undefined || cut.toUs !== undefined) return false;
    cut.toUs = Math.max(cut.fromUs, this._grid(this._frontUs));
    cut.resumedAt = now;
    return true;
  }

  /** Where media at `us` goes on the output's timeline, or null when it is cut. */
  place(us: Microseconds): Microseconds | null {
    let shift = 0;
    for (const c of this._cuts) {
      if (us < c.fromUs) break;
      if (c.toUs === undefined || us < c.toUs) return null;
      shift += c.toUs - c.fromUs;
    }
    return us - shift;
  }

  /**
   * The kept pieces of the span `fromUs`..`toUs` (an audio buffer), each with the shift that places
   * it on the output's timeline; in order.
   */
  kept(fromUs: Microseconds, toUs: Microseconds): { fromUs: Microseconds; toUs: Microseconds; shiftUs: Microseconds }[] {
    const out: { fromUs: Microseconds; toUs: Microseconds; shiftUs: Microseconds }[] = [];
    let at = fromUs;
    let shift = 0;
    for (const c of this._cuts) {
      if (at >= toUs) break;
      if (c.fromUs > at) out.push({ fromUs: at, toUs: Math.min(toUs, c.fromUs), shiftUs: shift });
      if (c.toUs === undefined) return out;
      at = Math.max(at, c.toUs);
      shift += c.toUs - c.fromUs;
    }
    if (at < toUs) out.push({ fromUs: at, toUs, shiftUs: shift });
    return out;
  }

  /** The pauses so far, on the output's timeline. */
  records(): PauseRecord[] {
    let shift = 0;
    return this._cuts.map((c) => {
      const atUs = c.fromUs - shift;
      const cutUs = (c.toUs ?? Math.max(c.fromUs, this._frontUs)) - c.fromUs;
      shift += cutUs;
      return { atMs: atUs / 1000, durationMs: cutUs / 1000, pausedAt: c.pausedAt, resumedAt: c.resumedAt };
    });
  }
}
