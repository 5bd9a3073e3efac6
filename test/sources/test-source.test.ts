import { describe, expect, it } from 'vitest';
import { AudioData, TestSource, VideoFrame, createPipelineConfig, type RawMedia } from '../../src/index.js';
import { TestPattern } from '../../src/sources/test-pattern.js';
import { TestTone } from '../../src/sources/test-tone.js';

async function drain(stream: ReadableStream<RawMedia>): Promise<RawMedia[]> {
  const out: RawMedia[] = [];
  const reader = stream.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) out.push(r.value);
  return out;
}

function meanY(frame: VideoFrame): number {
  const y = frame.planes()[0]!;
  let sum = 0;
  for (let r = 0; r < y.rows; r++) for (let x = 0; x < y.width; x++) sum += y.data[r * y.stride + x]!;
  return sum / (y.rows * y.width);
}

describe('TestPattern', () => {
  it('flashes white on the first frame of each second only, and moves between frames', () => {
    const p = new TestPattern(64, 48, 10);
    const frames = Array.from({ length: 21 }, (_, i) => p.frame(i, i * 100_000, 100_000));
    const flashes = frames.map((f, i) => (meanY(f) > 200 ? i : -1)).filter((i) => i >= 0);
    expect(flashes).toEqual([0, 10, 20]);
    // White in video (limited) range, as BT.601/709 define it: Y = 235.
    expect(meanY(frames[0]!)).toBe(235);
    expect(p.meanLuma()).toBeLessThan(150);
    const a = frames[1]!.planes()[0]!;
    const b = frames[2]!.planes()[0]!;
    expect(Buffer.compare(Buffer.from(a.data.subarray(0, 64 * 48)), Buffer.from(b.data.subarray(0, 64 * 48)))).not.toBe(0);
  });
});

describe('TestTone', () => {
  it('beeps for 100 ms from each whole second and is silent otherwise', () => {
    const t = new TestTone(48000, 2);
    const rms = (a: AudioData): number => Math.sqrt(a.planes()[0]!.reduce((s, x) => s + x * x, 0) / a.numberOfFrames);
    const buffers = Array.from({ length: 100 }, (_, i) => t.buffer(i, i * 20_000));
    // 20 ms buffers: 960 samples at 48 kHz; a 100 ms beep is then the first 5 of each second's 50.
    for (const b of buffers) expect(b.numberOfFrames).toBe(960);
    const loud = buffers.map((b, i) => (rms(b) > 0.1 ? i : -1)).filter((i) => i >= 0);
    expect(loud).toEqual([0, 1, 2, 3, 4, 50, 51, 52, 53, 54]);
    expect(buffers[0]!.planes()[0]![0]).toBe(0);
    expect(Math.abs(buffers[0]!.planes()[0]![12]!)).toBeGreaterThan(0.1);
  });
});

describe('TestSource', () => {
  it('declares its tracks and produces exact counts and microsecond timestamps (non-live)', async () => {
    const config = createPipelineConfig({ live: false, outputs: [{ path: 'x.mp4' }] });
    const src = new TestSource({ width: 64, height: 48, fps: 30, duration: 2 });
    const before = structuredClone({ ...config });
    const tracks = await src.prepare(config);
    // The source returns its tracks and leaves the config as it was, field for field.
    expect({ ...config }).toEqual(before);
    expect(tracks.map((t) => t.kind)).toEqual(['video', 'audio']);
    const v = src.readable('test-video');
    const a = src.readable('test-audio');
    src.start();
    const [video, audio] = await Promise.all([drain(v), drain(a)]);
    expect(video).toHaveLength(60);
    expect(video.map((f) => f.timestamp).slice(0, 4)).toEqual([0, 33_333, 66_667, 100_000]);
    expect(video[59]!.timestamp).toBe(1_966_667);
    expect(audio).toHaveLength(100);
    expect(audio.reduce((n, x) => n + (x as AudioData).numberOfFrames, 0)).toBe(96_000);
    expect(audio[99]!.timestamp).toBe(1_980_000);
    await src.ended;
    expect(src.endedAt).toBeGreaterThanOrEqual(src.startedAt!);
  });

  it('is paced by the wall clock when live', async () => {
    const config = createPipelineConfig({ outputs: [{ path: 'x.mp4' }] });
    const src = new TestSource({ width: 32, height: 32, fps: 10, duration: 1, audio: false });
    await src.prepare(config);
    const reader = src.readable('test-video').getReader();
    const t0 = performance.now();
    src.start();
    const arrivals: number[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) arrivals.push(performance.now() - t0);
    expect(arrivals).toHaveLength(10);
    // Paced: frame i (media i x 100 ms) never comes before its time on the run's own clock; a loaded
    // machine may make one late, so the pace is the median gap between frames, not a wall-time bound.
    arrivals.forEach((t, i) => expect(t).toBeGreaterThanOrEqual(i * 100 - 2));
    const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!).sort((a, b) => a - b);
    expect(gaps[Math.floor(gaps.length / 2)]!).toBeGreaterThan(90);
    expect(gaps[Math.floor(gaps.length / 2)]!).toBeLessThan(110);
  });

  it('stop() ends every track at once (end of stream)', async () => {
    const config = createPipelineConfig({ outputs: [{ path: 'x.mp4' }] });
    const src = new TestSource({ width: 32, height: 32, fps: 10 });
    await src.prepare(config);
    const v = drain(src.readable('test-video'));
    const a = drain(src.readable('test-audio'));
    const t0 = performance.now();
    src.start();
    let stoppedAt = 0;
    setTimeout(() => {
      stoppedAt = performance.now() - t0;
      src.stop();
    }, 300);
    const [video, audio] = await Promise.all([v, a]);
    // What was due by the stop on the run's own clock (10 fps, 20 ms audio buffers), a frame either way
    // (two buffers) for the timers' order, and nothing after it.
    const due = (periodMs: number): number => Math.floor(stoppedAt / periodMs) + 1;
    expect(Math.abs(video.length - due(100))).toBeLessThanOrEqual(1);
    expect(Math.abs(audio.length - due(20))).toBeLessThanOrEqual(2);
    await src.ended;
  });
});
