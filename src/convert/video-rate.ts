import type { VideoFrame } from '../media/video-frame.js';
import { frameTimestamp, type Microseconds } from '../time.js';

/**
 * The pure core of a constant-frame-rate converter (GStreamer's videorate): output frame k sits at
 * exactly k / fps and shows the input frame nearest to that time. Variable-rate input, another rate,
 * late starts and holes all come out at the output's constant rate without drift: a hole repeats the
 * last frame, a burst drops frames, and the counters say how many. Output frames are retimed copies
 * sharing the input's memory; each input is closed once no more output can show it.
 * @internal
 */
export class VideoRate {
  readonly fps: number;
  private _next = 0;
  private _last: VideoFrame | undefined;
  private _shown = 0;
  /** Input frames, output frames, outputs that repeat an input, inputs never shown. */
  readonly counters = { in: 0, out: 0, repeated: 0, dropped: 0 };

  /** `firstFrame`: the first output slot (a chunk of a split encode starts mid-stream); earlier ones are never output. */
  constructor(fps: number, firstFrame = 0) {
    this.fps = fps;
    this._next = firstFrame;
  }

  /**
   * How many output slots a stream ending at `endUs` has: those more than half of which lies before
   * the end, as {@link hold} and {@link finish} emit them (a split encode plans its frames by it).
   */
  static slotsBefore(endUs: Microseconds, fps: number): number {
    const limit = endUs - 5e5 / fps;
    let k = Math.max(0, Math.floor((limit * fps) / 1e6) - 1);
    while (frameTimestamp(k, fps) < limit) k++;
    return k;
  }

  /** The next output slot's index. */
  get next(): number {
    return this._next;
  }

  /** Takes one input frame; returns the output frames now decided (the ones nearer the last input). */
  push(frame: VideoFrame): VideoFrame[] {
    this.counters.in++;
    const out: VideoFrame[] = [];
    const last = this._last;
    if (last !== undefined) {
      const midpoint = (last.timestamp + frame.timestamp) / 2;
      this._emitWhile((t) => t < midpoint, out);
      if (this._shown === 0) this.counters.dropped++;
      last.close();
    }
    this._last = frame;
    this._shown = 0;
    return out;
  }

  /**
   * Repeats the last frame into every slot before `untilUs` (a track held to the session's end, step by
   * step as the session gets there); returns those frames. The last frame stays, for more.
   */
  hold(untilUs: Microseconds): VideoFrame[] {
    const out: VideoFrame[] = [];
    if (this._last === undefined) return out;
    // A slot is output when more than half of it lies before the end: millisecond-rounded input
    // timestamps (WebM) then neither add nor lose a frame.
    const half = 5e5 / this.fps;
    this._emitWhile((t) => t < untilUs - half, out);
    return out;
  }

  /** Ends the stream at `endUs` (default: the last frame's end); returns the remaining output frames. */
  finish(endUs?: Microseconds): VideoFrame[] {
    const last = this._last;
    if (last === undefined) return [];
    const out = this.hold(endUs ?? last.timestamp + (last.duration ?? Math.round(1e6 / this.fps)));
    if (this._shown === 0) this.counters.dropped++;
    last.close();
    this._last = undefined;
    return out;
  }

  private _emitWhile(cond: (t: Microseconds) => boolean, out: VideoFrame[]): void {
    const last = this._last!;
    for (let t = frameTimestamp(this._next, this.fps); cond(t); t = frameTimestamp(this._next, this.fps)) {
      out.push(last.retimed(t, frameTimestamp(this._next + 1, this.fps) - t));
      if (this._shown > 0) this.counters.repeated++;
      this._shown++;
      this._next++;
      this.counters.out++;
    }
  }
}
