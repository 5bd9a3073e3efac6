import type { Microseconds } from '../time.js';

/**
 * The pure core of the muxer's interleaving (GStreamer's aggregator does the same job): a track may
 * write a packet at time t only while t <= (slowest other open track) + window. In a non-live run
 * the fast branch (audio) then waits for the slow one (video) instead of queueing minutes of packets
 * in the muxer, so memory stays flat however long the input is.
 */
export class InterleaveGate {
  readonly window: Microseconds;
  private readonly _position = new Map<string, Microseconds>();

  constructor(window: Microseconds) {
    this.window = window;
  }

  /** Adds a track at time 0 (tracks start together). */
  add(track: string): void {
    this._position.set(track, 0);
  }

  /** Records that `track` wrote a packet at `t`. */
  advance(track: string, t: Microseconds): void {
    const p = this._position.get(track);
    if (p !== undefined && t > p) this._position.set(track, t);
  }

  /** A finished track no longer holds the others back. */
  remove(track: string): void {
    this._position.delete(track);
  }

  /** Whether `track` may write a packet at `t` now. */
  mayWrite(track: string, t: Microseconds): boolean {
    let slowest = Infinity;
    for (const [id, p] of this._position) if (id !== track && p < slowest) slowest = p;
    return t <= slowest + this.window;
  }

  /** The open track other than `track` that is furthest behind: the one `track` waits on. */
  slowestOther(track: string): string | undefined {
    let slowest: string | undefined;
    let at = Infinity;
    for (const [id, p] of this._position) {
      if (id !== track && p < at) {
        slowest = id;
        at = p;
      }
    }
    return slowest;
  }
}
