import type { Microseconds } from '../time.js';
import { Signal } from '../signal.js';

/** How far the source's media has really reached, per track; what a container only declares does not count. */
export interface SessionExtentStats {
  /** The latest end (timestamp + duration) of any item the source gave, microseconds. */
  reachUs: Microseconds;
  /** True once every track's stream has ended. */
  settled: boolean;
}

/**
 * How far the session's media really reaches: every track's source stream reports the end of each
 * item as it passes, before any queue. Held frames and silence that extend a track to the session's
 * end are made only up to this reach, as it grows (never up to a duration a header declares: a 1 s
 * file that says it lasts 10 h is 1 s long). A waiter wakes when the reach grows or the last track
 * ends.
 */
export class SessionExtent {
  private readonly _open = new Set<string>();
  private _reach: Microseconds = 0;
  /** Wakes {@link changedFor}: the reach grew, the extent settled, or a kind is waited for. */
  private readonly _changed = new Signal();
  private _closed = false;
  /** Set when some track is extended by it: only then do the source's tracks report to it. */
  needed = false;
  private readonly _waitedFor = new Map<'video' | 'audio', number>();

  /** Track `id`'s stream will report (every track the graph opens, before any item flows). */
  open(id: string): void {
    if (!this._closed) this._open.add(id);
  }

  /** The latest end of any item so far. */
  get reachUs(): Microseconds {
    return this._reach;
  }

  /** True once every track has ended: the reach is final. */
  get settled(): boolean {
    return this._open.size === 0;
  }

  /** An item of some track ends at `endUs`. */
  advance(endUs: Microseconds): void {
    if (endUs <= this._reach) return;
    this._reach = endUs;
    this._changed.notify();
  }

  /** Track `id`'s stream ended (or failed). Idempotent. */
  end(id: string): void {
    if (!this._open.delete(id)) return;
    if (this._open.size === 0) this._changed.notify();
  }

  /**
   * Where a track that ended early is extended to: the container's `declaredUs` when it lies within
   * `toleranceUs` of the reach (it says how long the last frame lasts, which packet durations often do
   * not), else the reach (a declared end far from the data is a lie or a truncation).
   */
  endFor(declaredUs: Microseconds | undefined, toleranceUs: Microseconds): Microseconds {
    if (declaredUs === undefined || Math.abs(declaredUs - this._reach) > toleranceUs) return this._reach;
    return declaredUs;
  }

  /**
   * How far a track that ended early may be extended now: while other tracks still run, up to `slackUs`
   * past the reach (what the interleaver asked for beyond it: an encoder's lookahead holds frames back)
   * but never past `declaredUs`; once settled, {@link endFor}.
   */
  holdUntil(declaredUs: Microseconds | undefined, slackUs: Microseconds, toleranceUs: Microseconds): Microseconds {
    if (this.settled) return this.endFor(declaredUs, toleranceUs);
    return Math.min(this._reach + slackUs, declaredUs ?? Infinity);
  }

  /** Ends every track: an aborted run wakes its waiters. Idempotent. */
  close(): void {
    this._closed = true;
    this._open.clear();
    this._changed.notify();
  }

  /** True while the interleaver holds a track back waiting for one of `kind`. */
  isWaitedFor(kind: 'video' | 'audio'): boolean {
    return (this._waitedFor.get(kind) ?? 0) > 0;
  }

  /**
   * The interleaver starts (`true`) or stops waiting for `kind`: a track extended only as far as the
   * reach may be what holds the others back (its encoder's lookahead keeps its last frames).
   */
  waitedFor(kind: 'video' | 'audio', waiting: boolean): void {
    this._waitedFor.set(kind, (this._waitedFor.get(kind) ?? 0) + (waiting ? 1 : -1));
    if (waiting) this._changed.notify();
  }

  /** Resolves when the reach grows, the extent settles or a track of `kind` is waited for. */
  async changedFor(kind: 'video' | 'audio'): Promise<void> {
    if (this.isWaitedFor(kind)) return;
    const reach = this._reach;
    while (this._reach <= reach && !this.settled && !this.isWaitedFor(kind)) await this._changed.wait();
  }

  /** Counters. */
  toJSON(): SessionExtentStats {
    return { reachUs: this._reach, settled: this.settled };
  }
}
