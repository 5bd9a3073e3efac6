import { describe, expect, it } from 'vitest';
import { VideoFrame } from '../../src/index.js';
import { VideoRate } from '../../src/convert/video-rate.js';

const data = new Uint8Array(16 * 16 * 3 / 2);
const frame = (ts: number, dur?: number): VideoFrame => new VideoFrame(data, { format: 'I420', codedWidth: 16, codedHeight: 16, timestamp: ts, ...(dur === undefined ? {} : { duration: dur }) });

/** Runs input (timestamp, duration) pairs through the converter; returns the output timestamps. */
function run(rate: VideoRate, inputs: [number, number?][], end?: number): { ts: number }[] {
  const out = inputs.flatMap(([ts, dur]) => rate.push(frame(ts, dur)));
  out.push(...rate.finish(end));
  return out.map((o) => ({ ts: o.timestamp }));
}

describe('VideoRate', () => {
  it('passes a constant-rate stream through frame for frame', () => {
    const r = new VideoRate(30);
    const out = run(r, Array.from({ length: 30 }, (_, i) => [Math.round((i * 1e6) / 30), 33_333] as [number, number]));
    expect(out).toHaveLength(30);
    expect(out.map((o) => o.ts).slice(0, 3)).toEqual([0, 33_333, 66_667]);
    expect(r.counters).toEqual({ in: 30, out: 30, repeated: 0, dropped: 0 });
  });

  it('doubles 15 fps to 30 fps and fills a hole by repeating, without drift', () => {
    const r = new VideoRate(30);
    const inputs: [number, number][] = Array.from({ length: 30 }, (_, i) => [Math.round((i * 1e6) / 15), 66_667]);
    const out = run(r, inputs.filter((_, i) => i < 10 || i >= 15));
    expect(out).toHaveLength(60);
    expect(out.at(-1)!.ts).toBe(1_966_667);
    expect(r.counters.in).toBe(25);
    expect(r.counters.repeated).toBe(35);
  });

  it('turns millisecond-rounded variable timestamps into exact frame counts', () => {
    const r = new VideoRate(30);
    const ts = Array.from({ length: 90 }, (_, i) => Math.round((i * 1000) / 30) * 1000);
    const out = run(r, ts.map((t) => [t, 33_000 + (t % 2000)]));
    expect(out).toHaveLength(90);
    expect(r.counters.dropped + r.counters.repeated).toBe(0);
  });

  it('drops frames from a faster stream, counting them', () => {
    const r = new VideoRate(30);
    const out = run(r, Array.from({ length: 120 }, (_, i) => [Math.round((i * 1e6) / 60), 16_667] as [number, number]));
    expect(out).toHaveLength(60);
    expect(r.counters.dropped).toBe(60);
  });

  it('holds the last frame step by step as far as asked, then finishes at the end', () => {
    const r = new VideoRate(10);
    expect(r.hold(1_000_000)).toEqual([]);
    expect(r.push(frame(0, 100_000))).toEqual([]);
    expect(r.hold(260_000).map((f) => f.timestamp)).toEqual([0, 100_000, 200_000]);
    expect(r.hold(260_000)).toEqual([]);
    expect(r.finish(500_000).map((f) => f.timestamp)).toEqual([300_000, 400_000]);
    expect(r.counters).toEqual({ in: 1, out: 5, repeated: 4, dropped: 0 });
  });

  it('says how many slots a stream ending anywhere has, as finishing one makes them (a split encode plans by it)', () => {
    for (const [fps, endUs] of [[25, 24_300_000], [25, 24_000_000], [30, 23_816_667], [29.97, 10_010_000], [24, 1_020_833], [25, 20_000]] as const) {
      const r = new VideoRate(fps);
      // 30 fps input to a little before the end, then held to it.
      let made = 0;
      for (let t = 0; t < endUs - 100_000; t += 33_333) made += r.push(frame(t, 33_333)).length;
      made += r.finish(endUs).length;
      expect(made, `${fps} fps to ${endUs} us`).toBe(VideoRate.slotsBefore(endUs, fps));
    }
    // Exactly half a slot before the end is not a slot; more than half is.
    expect(VideoRate.slotsBefore(24_300_000, 25)).toBe(607);
    expect(VideoRate.slotsBefore(24_300_001, 25)).toBe(608);
  });
});
