import { describe, expect, it, vi } from 'vitest';
import { Pacer } from '../../src/sources/pacer.js';

describe('Pacer: media time paced by the wall clock', () => {
  it('a time is due at the start plus itself; a time already past, or one that cannot be scheduled (NaN, infinite), is due now', async () => {
    vi.useFakeTimers();
    try {
      const pacer = new Pacer();
      pacer.start();
      let done = false;
      const due = pacer.waitUntil(50_000).then(() => (done = true));
      await vi.advanceTimersByTimeAsync(49);
      expect(done).toBe(false);
      await vi.advanceTimersByTimeAsync(2);
      await due;
      expect(done).toBe(true);
      // None of these waits for a timer: each resolves with no time passing.
      await Promise.all([pacer.waitUntil(0), pacer.waitUntil(Number.NaN), pacer.waitUntil(Infinity)]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('cancel() ends every pending wait at once', async () => {
    const pacer = new Pacer();
    pacer.start();
    const t0 = performance.now();
    const waits = [pacer.waitUntil(60_000_000), pacer.waitUntil(30_000_000)];
    pacer.cancel();
    await Promise.all(waits);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
