import { describe, expect, it } from 'vitest';
import { BoundedQueue, type QueuePolicy } from '../../src/index.js';

function invariant(q: BoundedQueue<unknown>): void {
  const s = q.toJSON();
  expect(s.in).toBe(s.out + s.dropped + s.level);
  expect(s.level).toBeLessThanOrEqual(s.capacity);
  expect(s.maxLevel).toBeGreaterThanOrEqual(s.level);
}

describe('BoundedQueue', () => {
  it('drop-oldest: a full queue gives back its oldest item and counts it', () => {
    const q = new BoundedQueue<number>('q', 3, 'drop-oldest');
    expect([q.push(1), q.push(2), q.push(3)]).toEqual([undefined, undefined, undefined]);
    expect(q.push(4)).toBe(1);
    expect(q.push(5)).toBe(2);
    expect([q.shift(), q.shift(), q.shift(), q.shift()]).toEqual([3, 4, 5, undefined]);
    expect(q.toJSON()).toEqual({ name: 'q', policy: 'drop-oldest', capacity: 3, in: 5, out: 3, dropped: 2, level: 0, maxLevel: 3 });
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

  it('drain() empties the queue as drops and keeps the invariant', () => {
    const q = new BoundedQueue<number>('q', 4, 'block');
    q.push(1);
    q.push(2);
    expect(q.drain()).toEqual([1, 2]);
    expect(q.toJSON()).toMatchObject({ in: 2, out: 0, dropped: 2, level: 0 });
  });
});
