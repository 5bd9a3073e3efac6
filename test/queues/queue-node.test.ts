import { describe, expect, it } from 'vitest';
import { QueueNode } from '../../src/queues/queue-node.js';

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

describe('QueueNode', () => {
  it('block: the writer waits while the queue is full, and nothing is lost', async () => {
    const node = new QueueNode<number>('q', 2, 'block');
    const writer = node.writable.getWriter();
    const reader = node.readable.getReader();
    await writer.write(1);
    await writer.write(2);
    let third = false;
    const w3 = writer.write(3).then(() => (third = true));
    await tick();
    expect(third).toBe(false);
    expect(node.toJSON()).toMatchObject({ level: 2, in: 2 });
    expect((await reader.read()).value).toBe(1);
    await w3;
    expect(third).toBe(true);
    await writer.close();
    const rest: number[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest.push(r.value);
    expect(rest).toEqual([2, 3]);
    expect(node.toJSON()).toMatchObject({ in: 3, out: 3, dropped: 0, level: 0, maxLevel: 2 });
  });

  it('drop-oldest: the writer never waits; dropped items are released and counted', async () => {
    const released: number[] = [];
    const node = new QueueNode<number>('q', 2, 'drop-oldest', (n) => released.push(n));
    const writer = node.writable.getWriter();
    for (let i = 1; i <= 6; i++) await writer.write(i);
    expect(released).toEqual([1, 2, 3, 4]);
    await writer.close();
    const reader = node.readable.getReader();
    const got: number[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) got.push(r.value);
    expect(got).toEqual([5, 6]);
    const s = node.toJSON();
    expect(s).toMatchObject({ in: 6, out: 2, dropped: 4, level: 0 });
    expect(s.in).toBe(s.out + s.dropped + s.level);
  });

  it('carries backpressure through pipeTo: a slow reader paces a fast source', async () => {
    const node = new QueueNode<number>('q', 3, 'block');
    let produced = 0;
    const source = new ReadableStream<number>({ pull: (c) => { if (produced < 50) c.enqueue(produced++); else c.close(); } }, { highWaterMark: 0 });
    const done = source.pipeTo(node.writable);
    const reader = node.readable.getReader();
    await tick();
    // Only the queue's capacity plus what the pipe holds in flight was pulled from the source.
    expect(produced).toBeLessThanOrEqual(3 + 2);
    let n = 0;
    for (let r = await reader.read(); !r.done; r = await reader.read()) n++;
    await done;
    expect(n).toBe(50);
    expect(node.toJSON().maxLevel).toBe(3);
  });

  it('keyframe-aware: what the core drops with a keyframe, or refuses before the next, is released', async () => {
    const released: string[] = [];
    const node = new QueueNode<string>('q', 2, 'drop-oldest', (s) => released.push(s), undefined, { canStart: (s) => s.startsWith('k') });
    const writer = node.writable.getWriter();
    for (const f of ['k0', 'd1', 'd2', 'd3', 'k4', 'd5']) await writer.write(f);
    expect(released).toEqual(['k0', 'd1', 'd2', 'd3']);
    await writer.close();
    const got: string[] = [];
    for await (const f of node.readable) got.push(f);
    expect(got).toEqual(['k4', 'd5']);
    expect(node.toJSON()).toMatchObject({ in: 6, out: 2, dropped: 4, level: 0 });
    expect(node.queue.skipped).toBe(3);
  });

  it('abort releases queued items and errors the reader', async () => {
    const released: number[] = [];
    const node = new QueueNode<number>('q', 4, 'block', (n) => released.push(n));
    const writer = node.writable.getWriter();
    await writer.write(1);
    await writer.write(2);
    await writer.abort(new Error('boom'));
    await expect(node.readable.getReader().read()).rejects.toThrow('boom');
    expect(released).toEqual([1, 2]);
  });
});
