/** How long a {@link Signal.wait} may last at most. */
export interface SignalWaitOptions {
  /** The wait ends after this many milliseconds even without a notify (a finite number; no timeout otherwise). */
  timeoutMs?: number;
  /** The wait ends when this aborts (at once if it already has). */
  signal?: AbortSignal;
}

/**
 * The wait/wake point of a loop that waits for a condition: a waiter checks its condition, waits, and
 * checks again; whoever changes the condition calls {@link notify}.
 *
 * - `notify()` wakes every current waiter. Nothing is remembered: a notify with nobody waiting is
 *   lost, and a wait that starts after a notify waits for the next one. That is what the loops need:
 *   each checks its condition in the same synchronous turn as it starts to wait, so a change made
 *   before the wait is seen by the check and a change made after it comes with a notify.
 * - `wait()` never rejects: it resolves on a notify, at `timeoutMs`, or when `signal` aborts, and the
 *   caller tells which by looking at its condition again. A wait that ends by timeout or abort is
 *   dropped at once (its timer cleared, its listener removed), so a loop that waits with a timeout,
 *   or races a wait against another promise and aborts the loser, holds nothing between notifies.
 */
export class Signal {
  private readonly _waiters = new Set<() => void>();

  /** How many waits are pending. */
  get waiting(): number {
    return this._waiters.size;
  }

  /** Resolves at the next {@link notify}, or at the timeout or abort of `options`, whichever is first. */
  wait(options: SignalWaitOptions = {}): Promise<void> {
    const { timeoutMs, signal } = options;
    if (signal?.aborted === true) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = (): void => {
        this._waiters.delete(wake);
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', wake);
        resolve();
      };
      this._waiters.add(wake);
      if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) timer = setTimeout(wake, timeoutMs);
      signal?.addEventListener('abort', wake, { once: true });
    });
  }

  /** Wakes every pending wait; waits that start afterwards wait for the next notify. */
  notify(): void {
    // The common case on a hot path (a queue's every item): nobody waits, nothing to copy.
    if (this._waiters.size === 0) return;
    for (const wake of [...this._waiters]) wake();
  }
}
