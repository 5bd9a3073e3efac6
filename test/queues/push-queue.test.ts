import { describe, expect, it } from 'vitest';
import { PushQueue } from '../../src/queues/push-queue.js';

/** Video frames as strings: 'k3' a keyframe, 'd4' a delta. */
const canStart = (s: string): boolean => s.startsWith('k');

async function readAll<T>(r: ReadableStream<T>): Promise<T[]> {
  const got: T[] = [];
  for await (const x of r) got.push(x);
  return got;
}

describe('PushQueue', () => {
  it('holds what arrives before the reader starts, never waits, drops the oldest and counts it', async () => {
    const released: number[] = [];
    let done = 0;
    const q = new PushQueue<number>('q', 3, { release: (n) => released.push(n), onDone: () => done++ });
    for (let i = 1; i <= 5; i++) q.push(i);
    expect(released).toEqual([1, 2]);
    q.end();
    q.end();
    expect(await readAll(q.readable)).toEqual([3, 4, 5]);
    expect(q.toJSON()).toMatchObject({ name: 'q', policy: 'drop-oldest', capacity: 3, in: 5, out: 3, dropped: 2, level: 0, maxLevel: 3 });
    expect(done).toBe(1);
  });

  it('video: drops up to the next keyframe; dropped through to the newest, it asks for one and refuses deltas until it comes', async () => {
    let asked = 0;
    const q = new PushQueue<string>('v', 3, { starts: { canStart, onNeedStart: () => asked++ } });
    for (const f of ['k0', 'd1', 'k2', 'd3']) q.push(f);
    expect(q.toJSON()).toMatchObject({ in: 4, dropped: 2, level: 2 });
    for (const f of ['d4', 'd5']) q.push(f);
    expect(q.toJSON()).toMatchObject({ in: 6, dropped: 6, level: 0 });
    expect(asked).toBe(1);
    for (const f of ['d6', 'k7', 'd8']) q.push(f);
    q.end();
    expect(await readAll(q.readable)).toEqual(['k7', 'd8']);
    const s = q.toJSON();
    expect(s).toMatchObject({ in: 9, out: 2, dropped: 7, level: 0 });
    expect(q.queue.skipped).toBe(5);
    expect(asked).toBe(1);
  });

  it('a reader waiting on an empty queue wakes for the next push, and ends after end()', async () => {
    const q = new PushQueue<number>('q', 4);
    const reader = q.readable.getReader();
    const first = reader.read();
    await new Promise((r) => setTimeout(r, 5));
    q.push(7);
    expect(await first).toEqual({ done: false, value: 7 });
    const last = reader.read();
    q.end();
    expect(await last).toEqual({ done: true, value: undefined });
  });

  it('after end() or cancel, pushes are turned away and counted; cancel releases what was held, once done', async () => {
    const released: number[] = [];
    let done = 0;
    const q = new PushQueue<number>('q', 4, { release: (n) => released.push(n), onDone: () => done++ });
    q.push(1);
    q.push(2);
    await q.readable.cancel();
    expect(released).toEqual([1, 2]);
    q.push(3);
    q.end();
    expect(released).toEqual([1, 2, 3]);
    expect(q.toJSON()).toMatchObject({ in: 3, out: 0, dropped: 3, level: 0 });
    expect(done).toBe(1);
  });
});
