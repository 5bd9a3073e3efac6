import type { Microseconds } from '../time.js';

/**
 * Decode timestamps for video that comes in decode order with presentation times only (H.264 copied
 * from a file: mediabunny gives no DTS). FLV needs DTS, rising, and never above PTS. Within a window of
 * `lookahead` frames the smallest presentation time not yet used is the next frame's decode slot; it is
 * shifted back by the window, so B-frames reordered by up to `lookahead` frames keep PTS >= DTS.
 * Frames leave `lookahead` frames late, which a live stream absorbs.
 */
export class DecodeClock<T> {
  readonly lookahead: number;
  private readonly _window: { item: T; dur: Microseconds }[] = [];
  /** Presentation times not yet given out as decode slots. */
  private readonly _slots: Microseconds[] = [];
  private _last = -Infinity;

  constructor(lookahead = 4) {
    this.lookahead = lookahead;
  }

  /** Takes the next frame in decode order; returns the frames whose DTS is now known, in order. */
  push(item: T, pts: Microseconds, dur: Microseconds): { item: T; dts: Microseconds }[] {
    this._window.push({ item, dur });
    this._slots.push(pts);
    return this._window.length > this.lookahead ? [this._take()] : [];
  }

  /** The frames still held, at the end of the stream. */
  flush(): { item: T; dts: Microseconds }[] {
    const out: { item: T; dts: Microseconds }[] = [];
    while (this._window.length > 0) out.push(this._take());
    return out;
  }

  private _take(): { item: T; dts: Microseconds } {
    // The k-th frame in decode order decodes in the k-th presentation slot: the smallest one left.
    let min = 0;
    for (let i = 1; i < this._slots.length; i++) if (this._slots[i]! < this._slots[min]!) min = i;
    const next = this._slots.splice(min, 1)[0]!;
    const head = this._window.shift()!;
    const dts = Math.max(this._last + 1, next - this.lookahead * (head.dur > 0 ? head.dur : 33_333));
    this._last = dts;
    return { item: head.item, dts };
  }
}
