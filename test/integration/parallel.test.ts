import { execFile, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createControllerWithSource, createPipelineConfig, type PipelineResult } from '../../src/index.js';
import { FileSource } from '../../src/sources/file-source.js';
import { TestPattern } from '../../src/sources/test-pattern.js';
import { frameTimestamp } from '../../src/time.js';
import { beepOnsets, flashTimes, frames, probe, streamOf, videoPackets } from '../helpers/ffprobe.js';
import { BEEP_SRC, FFMPEG, FLASH_SRC, fixture } from '../helpers/fixtures.js';
import { record } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const dir = tmpDir();
const W = 640;
const H = 360;
const FPS = 30;
const SECONDS = 24;
const FRAMES = SECONDS * FPS;

/**
 * Mean PSNR (ffmpeg's psnr filter) of an output's video against the source itself: the test pattern's
 * frames, made here and piped to ffmpeg as raw I420.
 */
async function psnr(path: string): Promise<number> {
  const ffmpeg = spawn(FFMPEG, ['-v', 'info', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${W}x${H}`, '-r', String(FPS), '-i', 'pipe:0', '-i', path, '-lavfi', '[1:v][0:v]psnr', '-f', 'null', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  ffmpeg.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => ffmpeg.on('close', () => resolve()));
  const pattern = new TestPattern(W, H, FPS);
  for (let i = 0; i < FRAMES; i++) {
    const f = pattern.frame(i, frameTimestamp(i, FPS), frameTimestamp(i + 1, FPS) - frameTimestamp(i, FPS));
    const buf = new Uint8Array(f.allocationSize());
    await f.copyTo(buf);
    f.close();
    if (!ffmpeg.stdin.write(buf)) await new Promise((resolve) => ffmpeg.stdin.once('drain', resolve));
  }
  ffmpeg.stdin.end();
  await exited;
  const m = / average:([\d.]+)/.exec(stderr);
  if (m === null) throw new Error(`no PSNR in ffmpeg's output:\n${stderr.slice(-1000)}`);
  return Number(m[1]);
}

/** 24 s at 640x360@30 with keyframes every 2.5 s (no scene cuts), AAC: a split's second chunk (from 12 s) starts mid-GOP. */
const SPLIT_INPUT = fixture('split-in.mp4', ['-f', 'lavfi', '-i', FLASH_SRC(24, '640x360'), '-f', 'lavfi', '-i', BEEP_SRC(24),
  '-c:v', 'libx264', '-preset', 'veryfast', '-g', '75', '-keyint_min', '75', '-sc_threshold', '0', '-c:a', 'aac']);

/** Mean PSNR of an export of {@link SPLIT_INPUT} (480x270@25) against the input, scaled and re-timed by ffmpeg the same way for each. */
async function filePsnr(name: string): Promise<number> {
  const { stderr } = await run(FFMPEG, ['-v', 'info', '-i', join(dir, name), '-i', await SPLIT_INPUT, '-lavfi', '[1:v]scale=480:270,fps=25[r];[0:v][r]psnr', '-f', 'null', '-'], { maxBuffer: 16 << 20 });
  const m = / average:([\d.]+)/.exec(stderr);
  if (m === null) throw new Error(`no PSNR in ffmpeg's output:\n${stderr.slice(-1000)}`);
  return Number(m[1]);
}

function exportPattern(name: string, parallel: number): Promise<PipelineResult> {
  return record({
    live: false, parallel, source: { type: 'test', duration: SECONDS },
    encoding: { width: W, height: H, fps: FPS, keyframeInterval: 2 },
    outputs: [{ path: join(dir, name) }],
  });
}

describe('a split video encode (parallel: 2): chunks on worker threads, joined into one stream', () => {
  const single = exportPattern('single.mp4', 1);
  const split = single.then(() => exportPattern('split.mp4', 2));

  it('reports its chunks: whole keyframe intervals covering the run once, both workers used', async () => {
    const r = await split;
    expect(r.error).toBeNull();
    expect(r.status).toBe('COMPLETE');
    // One chunk per worker.
    expect(r.chunks.map((c) => [c.index, c.startMs, c.endMs])).toEqual([[0, 0, 12_000], [1, 12_000, 24_000]]);
    expect(new Set(r.chunks.map((c) => c.worker))).toEqual(new Set([0, 1]));
    // Each chunk but the first warms its encoder up on half a second before its start, thrown away.
    expect(r.chunks.map((c) => c.leadInFrames)).toEqual([0, 15]);
    expect((await single).chunks).toEqual([]);
    expect(r.encoders.find((e) => e.name === 'video-encoder')).toMatchObject({ framesIn: FRAMES, chunksOut: FRAMES, keyframes: SECONDS / 2 });
  });

  it('every frame once, keyframes exactly on the grid as in a single encode, the flashes and beeps in place', async () => {
    await split;
    const out = join(dir, 'split.mp4');
    expect(frames(streamOf(await probe(out), 'video'))).toBe(FRAMES);
    const packets = await videoPackets(out);
    expect(packets).toHaveLength(FRAMES);
    packets.forEach((p, i) => expect(p.t).toBeCloseTo(i / FPS, 3));
    const keys = packets.filter((p) => p.key).map((p) => p.t);
    expect(keys).toEqual(Array.from({ length: SECONDS / 2 }, (_, i) => i * 2));
    expect(keys).toEqual((await videoPackets(join(dir, 'single.mp4'))).filter((p) => p.key).map((p) => p.t));
    const flashes = await flashTimes(out);
    expect(flashes).toHaveLength(SECONDS);
    flashes.forEach((t, i) => expect(Math.abs(t - i)).toBeLessThan(1 / FPS / 2));
    const beeps = await beepOnsets(out);
    expect(beeps).toHaveLength(SECONDS);
    beeps.forEach((t, i) => expect(Math.abs(t - flashes[i]!)).toBeLessThan(1 / FPS));
  });

  it('the bitrate within 5% of a single encode, the quality (PSNR against the source) no worse than 0.3 dB below it', async () => {
    await split;
    const bitRate = async (name: string): Promise<number> => Number(streamOf(await probe(join(dir, name)), 'video').bit_rate);
    expect(Math.abs((await bitRate('split.mp4')) / (await bitRate('single.mp4')) - 1)).toBeLessThan(0.05);
    const [pa, pb] = [await psnr(join(dir, 'single.mp4')), await psnr(join(dir, 'split.mp4'))];
    expect(pa).toBeGreaterThan(25);
    // The test pattern at this rate is near lossless (about 67 dB), where PSNR swings by dB on a trifle:
    // the split (single-threaded x264 per chunk) came out 2.5 dB above the threaded single encode. The
    // file test below checks both ways where PSNR means something.
    expect(pb).toBeGreaterThan(pa - 0.3);
  });
});

describe("a split encode on the wasm provider: each chunk decoded and encoded by ffmpeg.wasm workers of its own", () => {
  const exportWasm = async (name: string, parallel: number): Promise<PipelineResult> => record({
    live: false, parallel, codecProvider: 'wasm', codecMode: 'transcode', source: { type: 'file', inputs: [{ path: await SPLIT_INPUT }] },
    encoding: { width: 480, height: 270, fps: 25, keyframeInterval: 2, videoBitrateKbps: 800 }, outputs: [{ path: join(dir, name) }],
  });
  const single = exportWasm('wasm-single.mp4', 1);
  const split = single.then(() => exportWasm('wasm-split.mp4', 2));

  it('one chunk per worker; every frame once, keyframes on the grid, the flashes and beeps in place', async () => {
    const r = await split;
    expect(r.error).toBeNull();
    expect(r.codecProvider).toBe('wasm');
    expect(r.chunks.map((c) => [c.startMs, c.endMs, c.leadInFrames])).toEqual([[0, 12_000, 0], [12_000, 24_000, 13]]);
    expect(new Set(r.chunks.map((c) => c.worker))).toEqual(new Set([0, 1]));
    const out = join(dir, 'wasm-split.mp4');
    expect(frames(streamOf(await probe(out), 'video'))).toBe(600);
    const packets = await videoPackets(out);
    expect(packets).toHaveLength(600);
    packets.forEach((p, i) => expect(p.t).toBeCloseTo(i / 25, 3));
    // Exactly the grid: the wasm x264 runs with scene cuts off, so no keyframe of its own.
    expect(packets.filter((p) => p.key).map((p) => p.t)).toEqual(Array.from({ length: 12 }, (_, i) => i * 2));
    const [flashes, beeps] = await Promise.all([flashTimes(out), beepOnsets(out)]);
    expect(flashes).toHaveLength(24);
    flashes.forEach((t, i) => expect(Math.abs(t - i)).toBeLessThan(1 / 25 / 2 + 1e-6));
    expect(beeps).toHaveLength(24);
    beeps.forEach((t, i) => expect(Math.abs(t - flashes[i]!)).toBeLessThan(1 / 25));
  });

  it('the bitrate within 5% and the PSNR within 0.3 dB of a single wasm encode', async () => {
    await split;
    expect((await single).status).toBe('COMPLETE');
    const bitRate = async (name: string): Promise<number> => Number(streamOf(await probe(join(dir, name)), 'video').bit_rate);
    expect(Math.abs((await bitRate('wasm-split.mp4')) / (await bitRate('wasm-single.mp4')) - 1)).toBeLessThan(0.05);
    const [pa, pb] = [await filePsnr('wasm-single.mp4'), await filePsnr('wasm-split.mp4')];
    expect(pa).toBeGreaterThan(25);
    expect(Math.abs(pb - pa)).toBeLessThan(0.3);
  });
});

describe('a split encode stopped mid-run', () => {
  it('ends the video after the chunk being handed on, every frame of it there, and completes', async () => {
    const { createController, createPipelineConfig } = await import('../../src/index.js');
    const out = join(dir, 'stopped.mp4');
    const controller = createController(createPipelineConfig({
      live: false, parallel: 2, source: { type: 'test', duration: 60 }, encoding: { width: 320, height: 240, fps: FPS, keyframeInterval: 2 }, outputs: [{ path: out }],
    }));
    controller.on('progress', (p) => {
      if (p.mediaTimeMs > 12_000) void controller.stop();
    });
    const r = await controller.start();
    expect(r.status).toBe('COMPLETE');
    const last = r.chunks.at(-1)!;
    expect(last.endMs).toBeLessThan(60_000);
    expect(r.chunks.map((c) => c.index)).toEqual(r.chunks.map((_, i) => i));
    // The video is every frame up to the end of the last chunk handed on.
    expect(frames(streamOf(await probe(out), 'video'))).toBe((last.endMs / 1000) * FPS);
    // The counters are those of the chunks handed on, not of those encoded ahead and dropped.
    expect(r.encoders.find((e) => e.name === 'video-encoder')).toMatchObject({ framesIn: (last.endMs / 1000) * FPS, chunksOut: (last.endMs / 1000) * FPS });
  });
});

describe('a split encode whose keyframe interval is not a whole number of frames', () => {
  it('places the keyframes on the grid, as a single encode does (5 s HLS segments at 25 fps: every 1.667 s)', async () => {
    const run = (name: string, parallel: number): Promise<PipelineResult> => record({
      live: false, parallel, source: { type: 'test', duration: 20 }, encoding: { width: 320, height: 240, fps: 25, keyframeInterval: 2 },
      outputs: [{ path: join(dir, `${name}.mp4`) }, { playlist: join(dir, name, 'index.m3u8'), segmentDuration: 5 }],
    });
    const [one, two] = [await run('grid-1', 1), await run('grid-2', 2)];
    expect(one.status).toBe('COMPLETE');
    expect(two.status).toBe('COMPLETE');
    expect(two.chunks.length).toBeGreaterThan(1);
    const keys = async (name: string): Promise<number[]> => (await videoPackets(join(dir, `${name}.mp4`))).filter((p) => p.key).map((p) => p.t);
    // The grid: every 5/3 s (1 666 666 us: rounded down, so that 5 s, 10 s... fall on frames 125, 250...), from 0; its keyframe is the first frame at or after each point.
    const grid = Array.from({ length: 12 }, (_, k) => Math.max(0, Math.ceil((k * 1_666_666 * 25) / 1e6 - 1e-9)) / 25);
    // Both have a keyframe on every grid point (x264 adds its own at scene cuts, the flashes, as it sees fit).
    for (const name of ['grid-1', 'grid-2']) {
      const k = await keys(name);
      for (const t of grid) expect(k, `${name} at ${t} s`).toContainEqual(t);
    }
  });
});

describe('a split encode of a file (parallel: auto, one chunk per core): each chunk decoded from the keyframe before it, scaled and re-timed', () => {
  const input = SPLIT_INPUT;
  const exportFile = async (name: string, parallel: number | 'auto'): Promise<PipelineResult> => record({
    live: false, parallel, codecMode: 'transcode', source: { type: 'file', inputs: [{ path: await input }] },
    encoding: { width: 480, height: 270, fps: 25, keyframeInterval: 2, videoBitrateKbps: 800 }, outputs: [{ path: join(dir, name) }],
  });
  const single = exportFile('file-single.mp4', 1);
  const split = single.then(() => exportFile('file-split.mp4', 'auto'));

  it('reports a chunk on each worker and every frame once, at the new size and rate', async () => {
    const [one, two] = [await single, await split];
    expect(one.status).toBe('COMPLETE');
    expect(two.status).toBe('COMPLETE');
    expect(one.chunks).toEqual([]);
    // 24 s of 2 s keyframe intervals shared out over the cores (on 2: 0-12 s and 12-24 s; one core: no split).
    const cores = availableParallelism();
    const workers = cores < 2 ? 0 : Math.min(cores, 12);
    expect(two.chunks).toHaveLength(workers);
    expect(two.chunks.map((c) => [c.startMs, c.endMs])).toEqual(two.chunks.map((_, k) => [Math.floor((k * 12) / workers) * 2000, Math.floor(((k + 1) * 12) / workers) * 2000]));
    expect(new Set(two.chunks.map((c) => c.worker)).size).toBe(workers);
    expect(two.encoders.find((e) => e.name === 'video-encoder')).toMatchObject({ framesIn: 600, chunksOut: 600 });
    for (const name of ['file-single.mp4', 'file-split.mp4']) {
      const v = streamOf(await probe(join(dir, name)), 'video');
      expect([v.width, v.height, frames(v)]).toEqual([480, 270, 600]);
      const packets = await videoPackets(join(dir, name));
      packets.forEach((p, i) => expect(p.t, `${name} frame ${i}`).toBeCloseTo(i / 25, 3));
      const keys = packets.filter((p) => p.key).map((p) => p.t);
      for (let t = 0; t < 24; t += 2) expect(keys, `${name} at ${t} s`).toContainEqual(t);
    }
  });

  it('the flashes and beeps in place, the bitrate within 5% and the PSNR within 0.3 dB of the single encode', async () => {
    await split;
    const out = join(dir, 'file-split.mp4');
    const flashes = await flashTimes(out);
    expect(flashes).toHaveLength(24);
    flashes.forEach((t, i) => expect(Math.abs(t - i)).toBeLessThan(1 / 25 / 2 + 1e-6));
    const beeps = await beepOnsets(out);
    expect(beeps).toHaveLength(24);
    beeps.forEach((t, i) => expect(Math.abs(t - flashes[i]!)).toBeLessThan(1 / 25));
    const bitRate = async (name: string): Promise<number> => Number(streamOf(await probe(join(dir, name)), 'video').bit_rate);
    expect(Math.abs((await bitRate('file-split.mp4')) / (await bitRate('file-single.mp4')) - 1)).toBeLessThan(0.05);
    const [pa, pb] = [await filePsnr('file-single.mp4'), await filePsnr('file-split.mp4')];
    expect(pa).toBeGreaterThan(25);
    expect(Math.abs(pb - pa)).toBeLessThan(0.3);
  });

  it('holds a video that ends before the audio, across a chunk boundary, as a single encode does', async () => {
    // Video to 9.8 s, audio to 24.3 s: chunks 0-12 s and 12-24.3 s, so the video ends inside a chunk that is
    // not the last, and the last one is its last frame held.
    const short = await fixture('split-short-video.mp4', ['-f', 'lavfi', '-i', FLASH_SRC(9.8, '640x360'), '-f', 'lavfi', '-i', BEEP_SRC(24.3),
      '-c:v', 'libx264', '-preset', 'veryfast', '-g', '90', '-sc_threshold', '0', '-c:a', 'aac']);
    const go = (name: string, parallel: number): Promise<PipelineResult> => record({
      live: false, parallel, codecMode: 'transcode', source: { type: 'file', inputs: [{ path: short }] },
      encoding: { width: 480, height: 270, fps: 25, keyframeInterval: 2, videoBitrateKbps: 800 }, outputs: [{ path: join(dir, name) }],
    });
    const [one, two] = [await go('short-single.mp4', 1), await go('short-split.mp4', 2)];
    expect(one.status).toBe('COMPLETE');
    expect(two.error).toBeNull();
    expect(two.status).toBe('COMPLETE');
    expect(two.chunks.map((c) => [c.startMs, c.endMs])).toEqual([[0, 12_000], [12_000, 24_300]]);
    const count = async (name: string): Promise<number> => frames(streamOf(await probe(join(dir, name)), 'video'));
    expect(await count('short-split.mp4')).toBe(await count('short-single.mp4'));
    expect(await count('short-split.mp4')).toBeGreaterThanOrEqual(Math.round(24.3 * 25) - 1);
    // The second chunk is the video's last frame held: the same picture as the single encode's, frame for frame
    // (PSNR of the split against the single from 10 s on; a black or wrong held frame would be far below).
    const { stderr } = await run(FFMPEG, ['-v', 'info', '-ss', '10', '-i', join(dir, 'short-split.mp4'), '-ss', '10', '-i', join(dir, 'short-single.mp4'), '-lavfi', '[0:v][1:v]psnr', '-f', 'null', '-'], { maxBuffer: 16 << 20 });
    expect(Number(/ average:([\d.]+|inf)/.exec(stderr)?.[1]?.replace('inf', 'Infinity'))).toBeGreaterThan(35);
  });

  it('is refused, naming the reason, for a file whose timestamps jump (a worker could not close the jump up)', async () => {
    const jumpy = await fixture('jump-1h.mkv', ['-f', 'lavfi', '-i', FLASH_SRC(4), '-f', 'lavfi', '-i', 'sine=d=4',
      '-vf', 'setpts=PTS+if(gte(T\\,2)\\,3600/TB\\,0)', '-af', 'asetpts=PTS+if(gte(T\\,2)\\,3600/TB\\,0)', '-c:v', 'libx264', '-c:a', 'libopus']);
    const r = await record({ live: false, parallel: 2, codecMode: 'transcode', source: { type: 'file', inputs: [{ path: jumpy }] }, outputs: [{ path: join(dir, 'jumpy.mp4') }] });
    expect(r.status).toBe('FAILED');
    expect(r.error?.code).toBe('CONFIG_INVALID');
    expect(r.error?.message).toMatch(/parallel: 2 cannot split this run: input .*jump-1h.mkv, video track 1: its timestamps jump from [12]\.\d\d s to 360[12]\.\d\d s/);
  });

  it('with auto, encodes a file whole where its source finds it cannot be split', async () => {
    // The source's own checks (a jump, a repeat, no keyframe first, truncated) are tested above with a
    // number; here one says no to the split auto would make of the 24 s MP4, and the run goes on whole.
    class NoSplit extends FileSource {
      override splitProblem(): Promise<string | null> {
        return Promise.resolve('refused by the test');
      }
    }
    const out = join(dir, 'no-split-auto.mp4');
    const config = createPipelineConfig({ live: false, codecMode: 'transcode', encoding: { width: 480, height: 270, fps: 25, keyframeInterval: 2, videoBitrateKbps: 800 }, outputs: [{ path: out }] });
    const r = await createControllerWithSource(config, new NoSplit([{ path: await SPLIT_INPUT }])).start();
    expect(r.status).toBe('COMPLETE');
    expect(r.chunks).toEqual([]);
    expect(frames(streamOf(await probe(out), 'video'))).toBe(600);
  });
});
