import { describe, expect, it } from 'vitest';
import { VideoFrame } from '../../src/index.js';
import { VideoRate } from '../../src/convert/video-rate.js';

const init = { format: 'I420' as const, codedWidth: 4, codedHeight: 2, timestamp: 0 };

describe('VideoFrame', () => {
  it('reads planes from one buffer with a layout, or from three plane views', async () => {
    const tight = new VideoFrame(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), init);
    expect(tight.planes().map((p) => [p.stride, p.rows, p.width])).toEqual([[4, 2, 4], [2, 1, 2], [2, 1, 2]]);
    const views = new VideoFrame([
      { data: Uint8Array.from([1, 2, 3, 4, 0, 0, 5, 6, 7, 8]), stride: 6 },
      { data: Uint8Array.from([9, 10]), stride: 2 },
      { data: Uint8Array.from([11, 12]), stride: 2 },
    ], init);
    const out = new Uint8Array(12);
    await views.copyTo(out);
    expect(Array.from(out)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('reads planes given as a function only when asked, once for a frame and its retimed copies', async () => {
    let reads = 0;
    const planes = () => {
      reads++;
      return [{ data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), stride: 4 }, { data: Uint8Array.from([9, 10]), stride: 2 }, { data: Uint8Array.from([11, 12]), stride: 2 }];
    };
    const f = new VideoFrame(planes, init);
    const held = f.retimed(40_000, 40_000);
    expect(reads).toBe(0);
    const out = new Uint8Array(12);
    await held.copyTo(out);
    expect(Array.from(out)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(f.planes()[2]!.data).toEqual(Uint8Array.from([11, 12]));
    expect(f.clone().planes()[0]!.stride).toBe(4);
    expect(reads).toBe(1);
    f.close();
    expect(() => f.planes()).toThrow(/closed/);
    expect(held.planes()[1]!.data).toEqual(Uint8Array.from([9, 10]));
    const bad = new VideoFrame(() => [], init);
    expect(() => bad.planes()).toThrow(/Y, U and V/);
  });

  it('releases shared memory once, when the frame and all its retimed copies are closed', () => {
    let released = 0;
    const f = new VideoFrame(new Uint8Array(12), init, () => released++);
    const a = f.retimed(33_333, 33_333);
    const b = a.retimed(66_667, 33_333);
    f.close();
    a.close();
    a.close();
    expect(released).toBe(0);
    b.close();
    expect(released).toBe(1);
    expect(() => b.planes()).toThrow(TypeError);
  });

  it('the constant-rate converter closes each input once no output can show it', () => {
    let released = 0;
    const rate = new VideoRate(30);
    const outs = [0, 66_667, 133_333].flatMap((ts) => rate.push(new VideoFrame(new Uint8Array(12), { ...init, timestamp: ts, duration: 66_667 }, () => released++)));
    outs.push(...rate.finish());
    expect(outs).toHaveLength(6);
    expect(released).toBe(0);
    for (const o of outs) o.close();
    expect(released).toBe(3);
  });
});
