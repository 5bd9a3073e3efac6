import { describe, expect, it } from 'vitest';
import { VideoFrame } from '../../src/index.js';
import { axisFilter, scalePlane, TsFrameScaler } from '../../src/convert/frame-scaler.js';

/** Scales one w x h plane made by `pixel` to dw x dh. */
function scaled(w: number, h: number, dw: number, dh: number, pixel: (x: number, y: number) => number): Uint8Array {
  const src = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) src[y * w + x] = pixel(x, y);
  const out = new Uint8Array(dw * dh);
  scalePlane(src, w, h, out, 0, dw, dh, axisFilter(w, dw), axisFilter(h, dh), new Uint16Array(dw * h));
  return out;
}

describe('the TypeScript scaler', () => {
  it('keeps a flat plane exactly flat, shrinking or growing (the weights add to one)', () => {
    for (const [dw, dh] of [[213, 120], [1280, 720], [640, 360], [17, 9]] as const) {
      expect(new Set(scaled(640, 360, dw, dh, () => 77))).toEqual(new Set([77]));
    }
  });

  it('averages when it shrinks: a one-pixel checkerboard halved is mid-grey, not aliased back to black and white', () => {
    const out = scaled(64, 64, 32, 32, (x, y) => ((x + y) % 2) * 255);
    // Inside (the edge rows and columns repeat the edge pixel, as swscale does, and lean to it).
    for (let y = 1; y < 31; y++) for (let x = 1; x < 31; x++) expect(Math.abs(out[y * 32 + x]! - 127.5)).toBeLessThanOrEqual(1);
    // A plain bilinear tap pair would read only even or only odd pixels: 0 or 255.
    expect(Math.min(...out)).toBeGreaterThan(60);
    expect(Math.max(...out)).toBeLessThan(195);
  });

  it('keeps a ramp a ramp: monotonic, ends near its ends, the middle in the middle', () => {
    const out = scaled(256, 4, 100, 2, (x) => x);
    const row = Array.from(out.subarray(0, 100));
    row.slice(1).forEach((v, i) => expect(v).toBeGreaterThanOrEqual(row[i]!));
    expect(row[0]).toBeLessThanOrEqual(3);
    expect(row[99]).toBeGreaterThanOrEqual(252);
    expect(Math.abs(row[50]! - 129)).toBeLessThanOrEqual(2);
  });

  it('scales I420 frames: size, time and duration carried, the input closed; a frame already the size passes as it is', () => {
    const s = new TsFrameScaler(320, 180);
    const frame = new VideoFrame(new Uint8Array(640 * 360 * 1.5).fill(200), { format: 'I420', codedWidth: 640, codedHeight: 360, timestamp: 33_333, duration: 33_334 });
    const out = s.scale(frame);
    expect([out.codedWidth, out.codedHeight, out.timestamp, out.duration]).toEqual([320, 180, 33_333, 33_334]);
    expect(frame.closed).toBe(true);
    expect(out.planes().map((p) => [p.width, p.rows])).toEqual([[320, 180], [160, 90], [160, 90]]);
    expect(new Set(out.planes()[1]!.data)).toEqual(new Set([200]));
    expect(s.scale(out)).toBe(out);
  });
});
