import { describe, expect, it } from 'vitest';
import { AudioData, TestSource, VideoFrame, createPipelineConfig, type RawMedia } from '../../src/index.js';
import { TestPattern, FLASH_LUMA } from '../../src/sources/test-pattern.js';
import { TestTone, BEEP_MS } from '../../src/sources/test-tone.js';

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
    expect(meanY(frames[0]!)).toBe(FLASH_LUMA);
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
    const loud = buffers.map((b, i) => (rms(b) > 0.1 ? i : -1)).filter((i) => i >= 0);
    const perBeep = BEEP_MS / 20;
    expect(loud).toEqual([...Array.from({ length: perBeep }, (_, i) => i), ...Array.from({ length: perBeep }, (_, i) => 50 + i)]);
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
    const v = src.readable('test-video');
    const t0 = performance.now();
    src.start();
    const frames = await drain(v);
    const wall = performance.now() - t0;
    expect(frames).toHaveLength(10);
    // The last frame (media 900 ms) is due 900 ms after start.
    expect(wall).toBeGreaterThanOrEqual(880);
    expect(wall).toBeLessThan(1500);
  });

  it('stop() ends every track at once (end of stream)', async () => {
    const config = createPipelineConfig({ outputs: [{ path: 'x.mp4' }] });
    const src = new TestSource({ width: 32, height: 32, fps: 10 });
    await src.prepare(config);
    const v = drain(src.readable('test-video'));
    const a = drain(src.readable('test-audio'));
    src.start();
    setTimeout(() => src.stop(), 300);
    const [video, audio] = await Promise.all([v, a]);
    expect(video.length).toBeGreaterThanOrEqual(3);
    expect(video.length).toBeLessThanOrEqual(5);
    expect(audio.length).toBeGreaterThanOrEqual(15);
    await src.ended;
  });
});
