import { describe, expect, it } from 'vitest';
import { EncodedVideoChunk } from '../../src/index.js';
import type { EncodedOutput } from '../../src/media/encoded-chunk.js';
import { Tee, type TeeItemOps } from '../../src/queues/tee.js';

const ops: TeeItemOps<EncodedOutput> = {
  share: (i) => i,
  release: () => undefined,
  canStart: (i) => (i.kind === 'video' ? i.chunk.type === 'key' : undefined),
  primeKey: (i) => i.kind,
  prime: (i, seen) => ({ ...i, metadata: { decoderConfig: seen.get(i.kind)!.metadata.decoderConfig } }) as EncodedOutput,
};
const config = { codec: 'avc1.42001e', codedWidth: 2, codedHeight: 2 };
const v = (n: number, key: boolean): EncodedOutput => ({
  kind: 'video', chunk: new EncodedVideoChunk({ type: key ? 'key' : 'delta', timestamp: n, data: new Uint8Array(1) }), metadata: n === 0 ? { decoderConfig: config } : {},
});
const sink = (got: EncodedOutput[], delayMs = 0, gate?: Promise<void>): WritableStream<EncodedOutput> => new WritableStream({
  write: async (i) => {
    if (gate !== undefined) await gate;
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    got.push(i);
  },
});
const tee = (onFatal: (e: Error) => void = () => undefined): Tee<EncodedOutput> => new Tee('t', ops, new AbortController().signal, onFatal);

describe('Tee', () => {
  it('blocking ports: the slowest output sets the pace, every output gets everything in order', async () => {
    const t = tee();
    const fast: EncodedOutput[] = [];
    const slow: EncodedOutput[] = [];
    t.addPort({ name: 'fast', consumer: sink(fast), bounds: 2, policy: 'block', onError: 'fail' });
    t.addPort({ name: 'slow', consumer: sink(slow, 2), bounds: 2, policy: 'block', onError: 'fail' });
    const w = t.writable.getWriter();
    for (let n = 0; n < 30; n++) {
      await w.write(v(n, n % 10 === 0));
      // The tee never runs more than the slow port's queue (and the item in its hands) ahead of it.
      expect(n - slow.length).toBeLessThanOrEqual(4);
    }
    await w.close();
    await t.done();
    expect(fast.map((i) => i.chunk.timestamp)).toEqual([...Array(30).keys()]);
    expect(slow.map((i) => i.chunk.timestamp)).toEqual([...Array(30).keys()]);
    expect(t.toJSON().map((s) => s.dropped)).toEqual([0, 0]);
  });

  it('drop-oldest ports: a stalled output drops and counts, then resumes at a keyframe; the others get everything', async () => {
    const t = tee();
    const good: EncodedOutput[] = [];
    const stalled: EncodedOutput[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    t.addPort({ name: 'good', consumer: sink(good), bounds: 4, policy: 'drop-oldest', onError: 'isolate' });
    t.addPort({ name: 'stalled', consumer: sink(stalled, 0, gate), bounds: 4, policy: 'drop-oldest', onError: 'isolate' });
    const w = t.writable.getWriter();
    for (let n = 0; n < 25; n++) await w.write(v(n, n % 10 === 0));
    release();
    await new Promise((r) => setTimeout(r, 10));
    for (let n = 25; n < 35; n++) await w.write(v(n, n % 10 === 0));
    await w.close();
    await t.done();
    expect(good.length).toBe(35);
    const ts = stalled.map((i) => i.chunk.timestamp);
    // After the gap, the stalled output picks up again at a keyframe: no delta frame without its reference.
    const gapAt = ts.findIndex((x, k) => k > 0 && x !== ts[k - 1]! + 1);
    expect(gapAt).toBeGreaterThan(0);
    expect(ts[gapAt]! % 10).toBe(0);
    const s = t.toJSON().find((p) => p.name === 'stalled-queue')!;
    expect(s.dropped).toBe(35 - stalled.length);
    expect(s.skipped).toBeGreaterThan(0);
    // Skipped items count as dropped, not delivered: the queue invariant holds for the port.
    expect(s.out).toBe(stalled.length);
    expect(s.in).toBe(s.out + s.dropped + s.level);
  });

  it('a port added while running starts at the next keyframe, with the decoder config on its first item', async () => {
    const t = tee();
    const first: EncodedOutput[] = [];
    const late: EncodedOutput[] = [];
    t.addPort({ name: 'first', consumer: sink(first), bounds: 4, policy: 'drop-oldest', onError: 'isolate' });
    const w = t.writable.getWriter();
    for (let n = 0; n < 13; n++) await w.write(v(n, n % 10 === 0));
    t.addPort({ name: 'late', consumer: sink(late), bounds: 4, policy: 'drop-oldest', onError: 'isolate' });
    for (let n = 13; n < 25; n++) await w.write(v(n, n % 10 === 0));
    await w.close();
    await t.done();
    expect(late[0]!.chunk.timestamp).toBe(20);
    expect(late[0]!.metadata.decoderConfig).toEqual(config);
    expect(late.length).toBe(5);
  });

  it('a failing isolated output is reported and left behind; a failing fatal one fails the run', async () => {
    const fatal: Error[] = [];
    const t = tee((e) => fatal.push(e));
    const ok: EncodedOutput[] = [];
    const broken = new WritableStream<EncodedOutput>({ write: () => Promise.reject(new Error('connection reset')) });
    t.addPort({ name: 'ok', consumer: sink(ok), bounds: 4, policy: 'drop-oldest', onError: 'isolate' });
    t.addPort({ name: 'rtmp', consumer: broken, bounds: 4, policy: 'drop-oldest', onError: 'isolate' });
    const w = t.writable.getWriter();
    for (let n = 0; n < 10; n++) await w.write(v(n, n === 0));
    await w.close();
    await t.done();
    expect(ok.length).toBe(10);
    expect(fatal).toEqual([]);
    expect(t.portError('rtmp')?.message).toContain('connection reset');

    const t2 = tee((e) => fatal.push(e));
    t2.addPort({ name: 'file', consumer: new WritableStream({ write: () => Promise.reject(new Error('disk full')) }), bounds: 4, policy: 'block', onError: 'fail' });
    const w2 = t2.writable.getWriter();
    await w2.write(v(0, true));
    await t2.done();
    expect(fatal.map((e) => e.message)).toEqual([expect.stringContaining('disk full')]);
  });
});
