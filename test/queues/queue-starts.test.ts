import { describe, expect, it } from 'vitest';
import { BoundedQueue, type QueueMeasure, type QueueStarts } from '../../src/queues/bounded-queue.js';

/** A video frame (key or delta) or an audio frame, numbered in push order, 20 ms each. */
interface Item {
  n: number;
  kind: 'v' | 'a';
  key: boolean;
}
const K = (n: number): Item => ({ n, kind: 'v', key: true });
const D = (n: number): Item => ({ n, kind: 'v', key: false });
const A = (n: number): Item => ({ n, kind: 'a', key: false });
const ns = (items: readonly Item[]): number[] => items.map((i) => i.n);

/** Audio stands alone; video can start at a keyframe only. */
const starts = (extra: Partial<QueueStarts<Item>> = {}): QueueStarts<Item> => ({ canStart: (i) => (i.kind === 'v' ? i.key : undefined), ...extra });
/** Each item 100 bytes and 20 ms, on its kind's track (or all on one, to mix audio and video in a track). */
const measure = (oneTrack = false): QueueMeasure<Item> => ({
  bytes: () => 100,
  span: (i) => ({ track: oneTrack ? 'x' : i.kind, start: i.n * 20_000, end: i.n * 20_000 + 20_000 }),
});

function invariant(q: BoundedQueue<Item>): void {
  const s = q.toJSON();
  expect(s.in).toBe(s.out + s.dropped + s.level);
  expect(s.level).toBeLessThanOrEqual(s.capacity);
  expect(q.skipped).toBeLessThanOrEqual(s.dropped);
}

function drain(q: BoundedQueue<Item>): number[] {
  const got: Item[] = [];
  for (let i = q.shift(); i !== undefined; i = q.shift()) got.push(i);
  return ns(got);
}

describe('BoundedQueue with starts (keyframe-aware)', () => {
  it('drops the oldest keyframe with the deltas that depend on it, up to the next keyframe', () => {
    let asked = 0;
    const q = new BoundedQueue<Item>('q', 4, 'drop-oldest', undefined, starts({ onNeedStart: () => asked++ }));
    for (const i of [K(0), D(1), D(2), K(3)]) expect(q.push(i)).toEqual([]);
    expect(ns(q.push(D(4)))).toEqual([0, 1, 2]);
    expect(q.toJSON()).toMatchObject({ in: 5, out: 0, dropped: 3, level: 2, maxLevel: 4 });
    expect(q.skipped).toBe(2);
    expect(q.waitingForStart).toBe(false);
    expect(asked).toBe(0);
    expect(drain(q)).toEqual([3, 4]);
    invariant(q);
  });

  it('a dropped delta takes the deltas after it too: they reference it', () => {
    const q = new BoundedQueue<Item>('q', 3, 'drop-oldest', undefined, starts());
    for (const i of [D(1), D(2), K(3)]) q.push(i);
    expect(ns(q.push(D(4)))).toEqual([1, 2]);
    expect(q.toJSON()).toMatchObject({ in: 4, dropped: 2, level: 2 });
    expect(q.skipped).toBe(1);
    expect(drain(q)).toEqual([3, 4]);
  });

  it('dropped through every delta: the newest goes too, the callback is told once, deltas are refused until a keyframe', () => {
    let asked = 0;
    const q = new BoundedQueue<Item>('q', 3, 'drop-oldest', undefined, starts({ onNeedStart: () => asked++ }));
    for (const i of [K(0), D(1), D(2)]) q.push(i);
    expect(ns(q.push(D(3)))).toEqual([0, 1, 2, 3]);
    expect(q.toJSON()).toMatchObject({ in: 4, out: 0, dropped: 4, level: 0, maxLevel: 3 });
    expect(q.skipped).toBe(3);
    expect(q.waitingForStart).toBe(true);
    expect(asked).toBe(1);
    invariant(q);
    // Deltas are refused (handed back for release, counted in and dropped), never held.
    expect(ns(q.push(D(4)))).toEqual([4]);
    expect(ns(q.push(D(5)))).toEqual([5]);
    expect(q.toJSON()).toMatchObject({ in: 6, dropped: 6, level: 0 });
    expect(q.skipped).toBe(5);
    invariant(q);
    // A keyframe starts the chain again.
    expect(q.push(K(6))).toEqual([]);
    expect(q.push(D(7))).toEqual([]);
    expect(q.waitingForStart).toBe(false);
    expect(q.toJSON()).toMatchObject({ in: 8, out: 0, dropped: 6, level: 2 });
    expect(drain(q)).toEqual([6, 7]);
    expect(q.toJSON()).toMatchObject({ in: 8, out: 2, dropped: 6, level: 0 });
    expect(asked).toBe(1);
    invariant(q);
  });

  it('a newest keyframe survives the drop: the chain goes on from it, nothing refused', () => {
    let asked = 0;
    const q = new BoundedQueue<Item>('q', 3, 'drop-oldest', undefined, starts({ onNeedStart: () => asked++ }));
    for (const i of [K(0), D(1), D(2)]) q.push(i);
    expect(ns(q.push(K(3)))).toEqual([0, 1, 2]);
    expect(q.push(D(4))).toEqual([]);
    expect(q.toJSON()).toMatchObject({ in: 5, dropped: 3, level: 2 });
    expect([q.waitingForStart, asked]).toEqual([false, 0]);
  });

  it('items that stand alone stay in their place while the deltas around them go', () => {
    let asked = 0;
    const q = new BoundedQueue<Item>('q', 5, 'drop-oldest', undefined, starts({ onNeedStart: () => asked++ }));
    for (const i of [K(0), A(1), D(2), A(3), D(4)]) q.push(i);
    // Over the bound: K0 goes, D2 and D4 with it (no keyframe follows); the audio stays, in order.
    expect(ns(q.push(A(5)))).toEqual([0, 2, 4]);
    expect(q.toJSON()).toMatchObject({ in: 6, dropped: 3, level: 3 });
    expect(q.skipped).toBe(2);
    expect(asked).toBe(1);
    // Deltas are refused until a keyframe; audio is not.
    expect(ns(q.push(D(6)))).toEqual([6]);
    expect(q.push(A(7))).toEqual([]);
    expect(q.push(K(8))).toEqual([]);
    // Full again: the oldest, audio, goes alone.
    expect(ns(q.push(D(9)))).toEqual([1]);
    expect(q.toJSON()).toMatchObject({ in: 10, dropped: 5, level: 5 });
    expect(q.skipped).toBe(3);
    expect(drain(q)).toEqual([3, 5, 7, 8, 9]);
    invariant(q);
  });

  it('a dropped audio item takes nothing with it', () => {
    const q = new BoundedQueue<Item>('q', 3, 'drop-oldest', undefined, starts());
    for (const i of [A(0), D(1), D(2)]) q.push(i);
    expect(ns(q.push(A(3)))).toEqual([0]);
    expect(q.skipped).toBe(0);
    expect(drain(q)).toEqual([1, 2, 3]);
  });

  it('waitForStart (a late consumer): deltas are refused until the first keyframe, without asking for one', () => {
    let asked = 0;
    const q = new BoundedQueue<Item>('q', 10, 'block', undefined, starts({ waitForStart: true, onNeedStart: () => asked++ }));
    expect(q.waitingForStart).toBe(true);
    expect(ns(q.push(D(1)))).toEqual([1]);
    expect(q.push(A(2))).toEqual([]);
    expect(ns(q.push(D(3)))).toEqual([3]);
    expect(q.push(K(4))).toEqual([]);
    expect(q.push(D(5))).toEqual([]);
    expect(q.toJSON()).toMatchObject({ in: 5, out: 0, dropped: 2, level: 3 });
    expect(q.skipped).toBe(2);
    expect(asked).toBe(0);
    expect(drain(q)).toEqual([2, 4, 5]);
    invariant(q);
  });

  it('a refused delta takes no room: a full blocking queue waiting for a start does not throw for it', () => {
    const q = new BoundedQueue<Item>('q', 1, 'block', undefined, starts({ waitForStart: true }));
    q.push(A(0));
    expect(ns(q.push(D(1)))).toEqual([1]);
    expect(() => q.push(K(2))).toThrow(RangeError);
    expect(q.toJSON()).toMatchObject({ in: 2, dropped: 1, level: 1 });
  });

  it('by media time: what the chain drops leaves the byte and time levels exact', () => {
    // Keyframes every 3 frames of 20 ms; 100 ms held at most.
    const q = new BoundedQueue<Item>('q', { items: 1000, timeUs: 100_000 }, 'drop-oldest', measure(), starts());
    const frame = (n: number): Item => (n % 3 === 0 ? K(n) : D(n));
    for (let n = 0; n < 5; n++) expect(q.push(frame(n))).toEqual([]);
    expect(q.toJSON()).toMatchObject({ level: 5, levelTimeMs: 100, levelBytes: 500 });
    // 120 ms: K0 goes, and D1, D2 with it.
    expect(ns(q.push(frame(5)))).toEqual([0, 1, 2]);
    expect(q.toJSON()).toMatchObject({ in: 6, dropped: 3, level: 3, levelTimeMs: 60, levelBytes: 300 });
    q.push(frame(6));
    q.push(frame(7));
    expect(ns(q.push(frame(8)))).toEqual([3, 4, 5]);
    expect(q.toJSON()).toMatchObject({ in: 9, dropped: 6, level: 3, levelTimeMs: 60, levelBytes: 300, maxLevelTimeMs: 100, maxLevel: 5 });
    expect(q.skipped).toBe(4);
    invariant(q);
  });

  it('a track that mixes deltas and items that stand alone: the time level follows the oldest item left', () => {
    const q = new BoundedQueue<Item>('q', 4, 'drop-oldest', measure(true), starts());
    for (const i of [K(0), A(1), D(2), A(3)]) q.push(i);
    expect(q.toJSON()).toMatchObject({ levelTimeMs: 80, levelBytes: 400 });
    // K0 and D2 go; A1 is now the oldest on the track.
    expect(ns(q.push(A(4)))).toEqual([0, 2]);
    expect(q.toJSON()).toMatchObject({ level: 3, levelTimeMs: 80, levelBytes: 300 });
    expect(q.shift()!.n).toBe(1);
    expect(q.toJSON()).toMatchObject({ level: 2, levelTimeMs: 40, levelBytes: 200 });
    q.shift();
    q.shift();
    expect(q.toJSON()).toMatchObject({ level: 0, levelTimeMs: 0, levelBytes: 0 });
  });

  it('random walk: the invariant holds at every step, order is kept, and every delta delivered can be decoded', () => {
    for (const oneTrack of [false, true]) {
      let asked = 0;
      const q = new BoundedQueue<Item>('q', { items: 12, timeUs: 200_000 }, 'drop-oldest', measure(oneTrack), starts({ onNeedStart: () => asked++ }));
      let seed = 11;
      const rand = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
      /** Per video item pushed, the video item pushed before it (what a delta references). */
      const previousVideo = new Map<number, number>();
      let lastVideo = -1;
      const got: Item[] = [];
      let waits = 0;
      for (let n = 0; n < 5000; n++) {
        if (rand() % 3 !== 0) {
          const r = rand() % 10;
          const item = r < 4 ? A(n) : r === 4 ? K(n) : D(n);
          if (item.kind === 'v') {
            previousVideo.set(n, lastVideo);
            lastVideo = n;
          }
          const was = q.waitingForStart;
          q.push(item);
          if (!was && q.waitingForStart) waits++;
        } else {
          const i = q.shift();
          if (i !== undefined) got.push(i);
        }
        invariant(q);
        expect(q.toJSON().levelBytes).toBe(q.level * 100);
      }
      expect(ns(got)).toEqual([...ns(got)].sort((a, b) => a - b));
      const video = got.filter((i) => i.kind === 'v');
      video.forEach((i, k) => {
        if (!i.key) expect({ n: i.n, after: k > 0 ? video[k - 1]!.n : -1 }).toEqual({ n: i.n, after: previousVideo.get(i.n) });
      });
      expect(asked).toBe(waits);
      expect(asked).toBeGreaterThan(0);
      expect(q.skipped).toBeGreaterThan(0);
    }
  });
});
