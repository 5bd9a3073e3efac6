import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, createPipelineConfig } from '../../src/index.js';
import { beepOnsets, flashTimes, frames, packetSpan, probe, streamOf } from '../helpers/ffprobe.js';
import { record } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const exec = promisify(execFile);
const dir = tmpDir();
const DIST = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

describe("codecProvider: 'wasm' (WebAssembly only)", () => {
  it.each([['opus', 'opus'], ['aac', 'aac']] as const)('records H.264 + %s to MP4: every frame, the audio whole, A/V within one frame, the provider named', async (audioCodec, probed) => {
    const out = join(dir, `wasm-${audioCodec}.mp4`);
    const result = await record({
      live: false, codecProvider: 'wasm', source: { type: 'test', duration: 4 }, outputs: [{ path: out }],
      encoding: { width: 640, height: 360, fps: 30, videoCodec: 'h264', audioCodec },
    });
    expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
    expect(result.codecProvider).toBe('wasm');
    const p = await probe(out);
    expect(streamOf(p, 'video')).toMatchObject({ codec_name: 'h264', width: 640, height: 360 });
    expect(streamOf(p, 'audio')).toMatchObject({ codec_name: probed, channels: 2 });
    expect(frames(streamOf(p, 'video'))).toBe(120);
    const audio = await packetSpan(out, 'audio');
    expect(audio.end - audio.start).toBeGreaterThan(3.97);
    const [flashes, beeps] = await Promise.all([flashTimes(out), beepOnsets(out)]);
    expect(flashes.length).toBe(4);
    expect(beeps.length).toBe(4);
    flashes.forEach((f, i) => expect(Math.abs(f - beeps[i]!)).toBeLessThanOrEqual(1 / 30));
  }, 60_000);

  it('records VP8 + Opus to WebM (libvpx in ffmpeg.wasm, realtime): every frame, A/V within one frame', async () => {
    const out = join(dir, 'wasm.webm');
    const result = await record({
      live: false, codecProvider: 'wasm', source: { type: 'test', duration: 4 }, outputs: [{ path: out }],
      encoding: { width: 640, height: 360, fps: 30 },
    });
    expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
    const p = await probe(out);
    expect(streamOf(p, 'video')).toMatchObject({ codec_name: 'vp8', width: 640, height: 360 });
    expect(frames(streamOf(p, 'video'))).toBe(120);
    const [flashes, beeps] = await Promise.all([flashTimes(out), beepOnsets(out)]);
    expect(flashes.length).toBe(4);
    flashes.forEach((f, i) => expect(Math.abs(f - beeps[i]!)).toBeLessThanOrEqual(1 / 30));
  }, 60_000);

  it('loads no native addon: the process that ran it has no .node object mapped', async () => {
    const out = join(dir, 'no-native.mp4');
    const script = `
      const { createController, createPipelineConfig } = await import(${JSON.stringify(DIST)});
      const config = createPipelineConfig({ live: false, codecProvider: 'wasm', source: { type: 'test', duration: 1 }, outputs: [{ path: ${JSON.stringify(out)} }], encoding: { width: 320, height: 240, videoCodec: 'h264', audioCodec: 'opus' } });
      const result = await createController(config).start();
      const objects = process.report.getReport().sharedObjects.filter((o) => o.endsWith('.node'));
      console.log(JSON.stringify({ status: result.status, provider: result.codecProvider, objects }));`;
    const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script]);
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ status: 'COMPLETE', provider: 'wasm', objects: [] });
  }, 60_000);

  it("'auto' takes the native provider where it loads; a bad choice is refused up front", async () => {
    const result = await record({ live: false, source: { type: 'test', duration: 0.5 }, outputs: [{ path: join(dir, 'auto.mp4') }], encoding: { width: 320, height: 240 } });
    expect(result.codecProvider).toBe('node-av');
    expect(() => createPipelineConfig({ outputs: [{ path: 'x.mp4' }], codecProvider: 'gpu' as never })).toThrow(ConfigError);
  }, 30_000);
});
