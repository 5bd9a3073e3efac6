import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Signal } from '../src/signal.js';

/** Lets every settled promise run its reactions. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A promise with a flag telling whether it has resolved. */
function watch(p: Promise<void>): { readonly done: boolean } {
  const w = { done: false };
  void p.then(() => (w.done = true));
  return w;
}

describe('Signal: the wait/wake point of a loop', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a wait resolves at the next notify, not before', async () => {
    const s = new Signal();
    const w = watch(s.wait());
    await turn();
    expect(w.done).toBe(false);
    expect(s.waiting).toBe(1);
    s.notify();
    await turn();
    expect(w.done).toBe(true);
    expect(s.waiting).toBe(0);
  });

  it('a notify wakes every current waiter at once', async () => {
    const s = new Signal();
    const ws = [watch(s.wait()), watch(s.wait()), watch(s.wait())];
    expect(s.waiting).toBe(3);
    s.notify();
    await turn();
    expect(ws.map((w) => w.done)).toEqual([true, true, true]);
    expect(s.waiting).toBe(0);
  });

  it('a notify with nobody waiting is lost: a wait that starts after it waits for the next one', async () => {
    const s = new Signal();
    s.notify();
    const w = watch(s.wait());
    await turn();
    expect(w.done).toBe(false);
    s.notify();
    await turn();
    expect(w.done).toBe(true);
  });

  it('a wait started after a notify, in the same turn, is not woken by it', async () => {
    const s = new Signal();
    const before = watch(s.wait());
    s.notify();
    const after = watch(s.wait());
    await turn();
    expect(before.done).toBe(true);
    expect(after.done).toBe(false);
    expect(s.waiting).toBe(1);
  });

  it('drives a loop that checks its condition, waits, and checks again', async () => {
    const s = new Signal();
    let level = 0;
    const seen: number[] = [];
    const reader = (async () => {
      while (level < 3) {
        await s.wait();
        seen.push(level);
      }
    })();
    level = 1;
    s.notify();
    await turn();
    level = 2;
    s.notify();
    await turn();
    level = 3;
    s.notify();
    await reader;
    expect(seen).toEqual([1, 2, 3]);
    expect(s.waiting).toBe(0);
  });

  it('a wait with a timeout resolves then without a notify, and is dropped', async () => {
    vi.useFakeTimers();
    const s = new Signal();
    const w = watch(s.wait({ timeoutMs: 100 }));
    await vi.advanceTimersByTimeAsync(99);
    expect(w.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(w.done).toBe(true);
    expect(s.waiting).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a notify ends a wait with a timeout early and clears its timer', async () => {
    vi.useFakeTimers();
    const s = new Signal();
    const w = watch(s.wait({ timeoutMs: 100 }));
    expect(vi.getTimerCount()).toBe(1);
    s.notify();
    await vi.advanceTimersByTimeAsync(0);
    expect(w.done).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a timeout that is not a finite number sets no timer', async () => {
    vi.useFakeTimers();
    const s = new Signal();
    const w = watch(s.wait({ timeoutMs: Infinity }));
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(w.done).toBe(false);
    s.notify();
    await vi.advanceTimersByTimeAsync(0);
    expect(w.done).toBe(true);
  });

  it('an abort ends the wait (it resolves, it does not reject) and drops it; the other waiters still wait', async () => {
    const s = new Signal();
    const ac = new AbortController();
    const aborted = watch(s.wait({ signal: ac.signal }));
    const other = watch(s.wait());
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    ac.abort(new Error('gone'));
    await turn();
    expect(aborted.done).toBe(true);
    expect(other.done).toBe(false);
    expect(s.waiting).toBe(1);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('a wait given an aborted signal resolves at once and is not counted', async () => {
    const s = new Signal();
    const w = watch(s.wait({ signal: AbortSignal.abort() }));
    expect(s.waiting).toBe(0);
    await turn();
    expect(w.done).toBe(true);
  });

  it('a notify removes the abort listener of the waits it ends', async () => {
    const s = new Signal();
    const ac = new AbortController();
    const w = watch(s.wait({ signal: ac.signal }));
    s.notify();
    await turn();
    expect(w.done).toBe(true);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    ac.abort();
    expect(s.waiting).toBe(0);
  });

  it('a wait raced against another promise and aborted when it loses holds nothing', async () => {
    const s = new Signal();
    for (let i = 0; i < 1000; i++) {
      const lost = new AbortController();
      await Promise.race([Promise.resolve(), s.wait({ signal: lost.signal })]);
      lost.abort();
    }
    expect(s.waiting).toBe(0);
  });
});
