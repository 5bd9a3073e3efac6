import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, createPipelineConfig } from '../../src/index.js';
import { beepOnsets, FFPROBE, flashTimes, frames, probe, streamOf } from '../helpers/ffprobe.js';
import { avFixture } from '../helpers/fixtures.js';
import { record } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const exec = promisify(execFile);
const dir = tmpDir();
const DIST = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

describe("codecProvider: 'wasm' (WebAssembly only)", () => {
  // The container/codec matrix and its A/V checks run against both providers in test/integration/files.test.ts
  // (encoding) and export.test.ts (decoding); here, what is the wasm provider's own.

  it('loads no native addon: an export that decodes, scales, resamples, encodes and makes thumbnails maps no .node object', async () => {
    const input = await avFixture('h264-aac-44k.mp4', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-ar', '44100']);
    const out = join(dir, 'no-native.mp4');
    const script = `
      const { createController, createPipelineConfig } = await import(${JSON.stringify(DIST)});
      const config = createPipelineConfig({ live: false, codecProvider: 'wasm', codecMode: 'transcode',
        source: { type: 'file', inputs: [{ path: ${JSON.stringify(input)} }] },
        outputs: [{ path: ${JSON.stringify(out)} }, { images: ${JSON.stringify(join(dir, 'thumb_%05d.jpg'))}, interval: 1, width: 160 }],
        encoding: { width: 256, height: 144, sampleRate: 48000, videoCodec: 'h264', audioCodec: 'aac' } });
      const result = await createController(config).start();
      const objects = process.report.getReport().sharedObjects.filter((o) => o.endsWith('.node'));
      console.log(JSON.stringify({ status: result.status, provider: result.codecProvider, images: result.outputs[1].count, objects }));`;
    const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script]);
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ status: 'COMPLETE', provider: 'wasm', images: 4, objects: [] });
    const p = await probe(out);
    expect(streamOf(p, 'video')).toMatchObject({ codec_name: 'h264', width: 256, height: 144 });
    expect(streamOf(p, 'audio')).toMatchObject({ codec_name: 'aac', sample_rate: '48000' });
    expect(frames(streamOf(p, 'video'))).toBe(120);
    const [flashes, beeps] = await Promise.all([flashTimes(out), beepOnsets(out)]);
    expect(flashes).toHaveLength(4);
    expect(beeps).toHaveLength(4);
    flashes.forEach((f, i) => expect(Math.abs(f - beeps[i]!)).toBeLessThanOrEqual(1 / 30));
  }, 60_000);

  it('runs x264 as natively (lookahead, B-frames) with keyframes forced on the media-time grid: HLS segments each 2 s within an AAC frame', async () => {
    const hls = join(dir, 'hls', 'index.m3u8');
    const mp4 = join(dir, 'bframes.mp4');
    const result = await record({
      live: false, codecProvider: 'wasm', source: { type: 'test', duration: 6 }, encoding: { width: 320, height: 240, keyframeInterval: 1 },
      outputs: [{ path: mp4 }, { playlist: hls, segmentDuration: 2 }],
    });
    expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
    expect(Number((streamOf(await probe(mp4), 'video') as { has_b_frames?: number }).has_b_frames)).toBeGreaterThan(0);
    const { stdout } = await exec(FFPROBE, ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', mp4]);
    const keys = stdout.trim().split('\n').filter((l) => l.includes('K')).map((l) => Number(l.split(',')[0]));
    expect(keys).toEqual([0, 1, 2, 3, 4, 5]);
    // Each segment is 2 s of video, starting on a keyframe (its EXTINF may run on by the AAC frame the audio ends in, as native's does).
    const lines = readFileSync(hls, 'utf8').split('\n');
    const segments = lines.filter((l) => l.startsWith('#EXTINF:')).map((l) => Number(l.slice(8).split(',')[0]));
    expect(segments).toHaveLength(3);
    segments.forEach((d) => expect(Math.abs(d - 2)).toBeLessThanOrEqual(1024 / 48000 + 0.001));
    for (const uri of lines.filter((l) => l.endsWith('.ts'))) {
      const first = await exec(FFPROBE, ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=pts_time,flags', '-read_intervals', '%+#1', '-of', 'csv=p=0', join(dir, 'hls', uri)]);
      expect(first.stdout.trim().split('\n')[0]).toMatch(/K/);
    }
  }, 60_000);

  it.each([['jpg', 'mjpeg'], ['png', 'png']] as const)('makes %s thumbnails (ffmpeg.wasm) that an independent reader opens, one per interval, at the size asked', async (ext, codec) => {
    const template = join(dir, ext, `img_%05d.${ext}`);
    const result = await record({
      live: false, codecProvider: 'wasm', source: { type: 'test', duration: 3 }, encoding: { width: 640, height: 360 },
      outputs: [{ images: template, interval: 1, width: 320 }],
    });
    expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
    expect(result.outputs[0]).toMatchObject({ type: 'images', count: 3, width: 320, height: 180 });
    for (const k of [0, 1, 2]) expect(streamOf(await probe(join(dir, ext, `img_0000${k}.${ext}`)), 'video')).toMatchObject({ codec_name: codec, width: 320, height: 180 });
  }, 60_000);

  it("'auto' takes the native provider where it loads; a bad choice is refused up front", async () => {
    const result = await record({ live: false, source: { type: 'test', duration: 0.5 }, outputs: [{ path: join(dir, 'auto.mp4') }], encoding: { width: 320, height: 240 } });
    expect(result.codecProvider).toBe('node-av');
    expect(() => createPipelineConfig({ outputs: [{ path: 'x.mp4' }], codecProvider: 'gpu' as never })).toThrow(ConfigError);
  }, 30_000);
});
