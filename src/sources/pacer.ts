import type { Microseconds } from '../time.js';

/**
 * Paces a live source by the wall clock: media time t is due at origin + t. The only place in
 * avpipe where wall time decides anything about media.
 */
export class Pacer {
  private _origin: number | undefined;
  private readonly _timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  /** Starts the clock: media time 0 is now. */
  start(): void {
    this._origin ??= performance.now();
  }

  /** Resolves when media time `t` is due (at once if it already is), or when cancelled. */
  waitUntil(t: Microseconds): Promise<void> {
    const origin = this._origin;
    if (origin === undefined) throw new Error('Pacer.waitUntil() before start()');
    const delay = origin + t / 1000 - performance.now();
    if (delay <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this._timers.delete(entry);
          resolve();
        }, delay),
        resolve,
      };
      this._timers.add(entry);
    });
  }

  /** Wakes every pending wait at once (used on stop). */
  cancel(): void {
    for (const e of this._timers) {
      clearTimeout(e.timer);
      e.resolve();
    }
    this._timers.clear();
  }
}
