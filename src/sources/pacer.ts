import type { Microseconds } from '../time.js';
import { Signal } from '../signal.js';

/**
 * Paces a live source by the wall clock: media time t is due at origin + t. The only place in
 * avpipe where wall time decides anything about media.
 */
export class Pacer {
  private _origin: number | undefined;
  /** Ends every pending wait early (its timer cleared). */
  private readonly _cancel = new Signal();

  /** Starts the clock: media time 0 is now. */
  start(): void {
    this._origin ??= performance.now();
  }

  /** Resolves when media time `t` is due (at once if it already is), or when cancelled. */
  waitUntil(t: Microseconds): Promise<void> {
    const origin = this._origin;
    if (origin === undefined) throw new Error('Pacer.waitUntil() before start()');
    const delay = origin + t / 1000 - performance.now();
    // A time that cannot be scheduled (NaN, infinite) is due now, as it was before: a source never stalls on it.
    if (!(delay > 0) || !Number.isFinite(delay)) return Promise.resolve();
    return this._cancel.wait({ timeoutMs: delay });
  }

  /** Wakes every pending wait at once (used on stop). */
  cancel(): void {
    this._cancel.notify();
  }
}
