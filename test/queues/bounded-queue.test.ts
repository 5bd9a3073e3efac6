import { describe, expect, it } from 'vitest';
import { BoundedQueue, type QueueMeasure, type QueuePolicy } from '../../src/queues/bounded-queue.js';

function invariant(q: BoundedQueue<unknown>): void {
  const s = q.toJSON();
  expect(s.in).toBe(s.out + s.dropped + s.level);
  expect(s.level).toBeLessThanOrEqual(s.capacity);
  expect(s.maxLevel).toBeGreaterThanOrEqual(s.level);
}

describe('BoundedQueue', () => {
  it('drop-oldest: a full queue gives back its oldest item and counts it', () => {
    const q = new BoundedQueue<number>('q', 3, 'drop-oldest');
    expect([q.push(1), q.push(2), q.push(3)]).toEqual([[], [], []]);
    expect(q.push(4)).toEqual([1]);
    expect(q.push(5)).toEqual([2]);
    expect([q.shift(), q.shift(), q.shift(), q.shift()]).toEqual([3, 4, 5, undefined]);
    expect(q.toJSON()).toEqual({
      name: 'q', policy: 'drop-oldest', capacity: 3, maxBytes: null, maxTimeMs: null, in: 5, out: 3, dropped: 2, level: 0, maxLevel: 3,
      levelBytes: 0, maxLevelBytes: 0, levelTimeMs: 0, maxLevelTimeMs: 0,
    });
  });

  it('block: a full queue refuses the push (its writer must wait)', () => {
    const q = new BoundedQueue<number>('q', 2, 'block');
    q.push(1);
    q.push(2);
    expect(() => q.push(3)).toThrow(RangeError);
    expect(q.toJSON()).toMatchObject({ in: 2, out: 0, dropped: 0, level: 2, maxLevel: 2 });
  });

  it.each<QueuePolicy>(['block', 'drop-oldest'])('%s: in = out + dropped + level after every operation (random walk)', (policy) => {
    const q = new BoundedQueue<number>('q', 5, policy);
    let seed = 7;
    let next = 0;
    const seen: number[] = [];
    for (let i = 0; i < 5000; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      if (seed % 3 !== 0) {
        if (policy === 'block' && q.isFull) continue;
        q.push(next++);
      } else {
        const v = q.shift();
        if (v !== undefined) seen.push(v);
      }
      invariant(q);
    }
    // FIFO order holds whatever was dropped.
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    if (policy === 'block') expect(q.toJSON().dropped).toBe(0);
    else expect(q.toJSON().dropped).toBeGreaterThan(0);
  });

  /** Items of 20 ms on one or two tracks, `bytes` each. */
  const measure: QueueMeasure<{ track: string; t: number; bytes: number }> = {
    bytes: (i) => i.bytes,
    span: (i) => ({ track: i.track, start: i.t, end: i.t + 20_000 }),
  };
  const item = (t: number, track = 'a', bytes = 100): { track: string; t: number; bytes: number } => ({ track, t, bytes });

  it('drop-oldest by media time: holds exactly the bound, drops what is older, counts it', () => {
    const q = new BoundedQueue('q', { items: 1000, timeUs: 1_000_000 }, 'drop-oldest', measure);
    // 50 items of 20 ms are exactly 1 s: all kept.
    for (let i = 0; i < 50; i++) expect(q.push(item(i * 20_000))).toEqual([]);
    expect(q.toJSON()).toMatchObject({ level: 50, dropped: 0, levelTimeMs: 1000 });
    // The 51st would make 1.02 s: the oldest goes.
    expect(q.push(item(50 * 20_000)).map((x) => x.t)).toEqual([0]);
    for (let i = 51; i < 200; i++) q.push(item(i * 20_000));
    expect(q.toJSON()).toMatchObject({ in: 200, dropped: 150, level: 50, levelTimeMs: 1000, maxLevelTimeMs: 1000, maxLevel: 50 });
    expect(q.shift()!.t).toBe(150 * 20_000);
    invariant(q);
  });

  it('media time is per track: audio behind video in an interleaved queue is not counted as time held', () => {
    const q = new BoundedQueue('q', { items: 1000, timeUs: 1_000_000 }, 'drop-oldest', measure);
    // Video runs 600 ms ahead of audio (a live interleaver lets it): each track holds 500 ms.
    for (let i = 0; i < 25; i++) {
      q.push(item(600_000 + i * 20_000, 'v'));
      q.push(item(i * 20_000, 'a'));
    }
    expect(q.toJSON()).toMatchObject({ level: 50, dropped: 0, levelTimeMs: 500 });
    // The time level falls as the oldest items leave, and is 0 when empty.
    for (let i = 0; i < 48; i++) q.shift();
    expect(q.toJSON()).toMatchObject({ level: 2, levelTimeMs: 20 });
    q.shift();
    q.shift();
    expect(q.toJSON()).toMatchObject({ level: 0, levelTimeMs: 0, levelBytes: 0 });
  });

  it('bytes and items are safety bounds beside time: whichever is reached first', () => {
    const byBytes = new BoundedQueue('b', { items: 1000, bytes: 1000, timeUs: 3_000_000 }, 'drop-oldest', measure);
    for (let i = 0; i < 30; i++) byBytes.push(item(i * 20_000, 'a', 100));
    expect(byBytes.toJSON()).toMatchObject({ level: 10, dropped: 20, levelBytes: 1000, maxLevelBytes: 1000, maxBytes: 1000, maxTimeMs: 3000 });
    const byItems = new BoundedQueue('i', { items: 5, timeUs: 3_000_000 }, 'drop-oldest', measure);
    for (let i = 0; i < 30; i++) byItems.push(item(i * 20_000));
    expect(byItems.toJSON()).toMatchObject({ level: 5, dropped: 25, levelBytes: 500, levelTimeMs: 100 });
    invariant(byBytes);
    invariant(byItems);
  });

  it('an item larger than the byte bound still passes an empty queue (never a deadlock), and is kept as the newest', () => {
    const block = new BoundedQueue('b', { items: 10, bytes: 50 }, 'block', measure);
    expect(block.isFull).toBe(false);
    block.push(item(0, 'a', 500));
    expect(block.isFull).toBe(true);
    expect(() => block.push(item(1))).toThrow(RangeError);
    const leaky = new BoundedQueue('l', { items: 10, bytes: 50 }, 'drop-oldest', measure);
    leaky.push(item(0, 'a', 10));
    expect(leaky.push(item(1, 'a', 500)).map((x) => x.t)).toEqual([0]);
    expect(leaky.toJSON()).toMatchObject({ level: 1, levelBytes: 500 });
  });

  it('block by media time: full at the bound, room again once the oldest leaves', () => {
    const q = new BoundedQueue('q', { items: 1000, timeUs: 100_000 }, 'block', measure);
    for (let i = 0; i < 5; i++) q.push(item(i * 20_000));
    expect(q.isFull).toBe(true);
    q.shift();
    expect(q.isFull).toBe(false);
  });

  it('drain() empties the queue as drops and keeps the invariant', () => {
    const q = new BoundedQueue<number>('q', 4, 'block');
    q.push(1);
    q.push(2);
    expect(q.drain()).toEqual([1, 2]);
    expect(q.toJSON()).toMatchObject({ in: 2, out: 0, dropped: 2, level: 0 });
  });
});
