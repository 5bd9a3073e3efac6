import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatProgress } from '../../src/cli/progress-bar.js';
import { parseRecordArgs } from '../../src/cli/args.js';
import { frames, probe, streamOf } from '../helpers/ffprobe.js';
import { tmpDir } from '../helpers/tmp.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const dir = tmpDir();

function avpipe(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout, stderr });
    });
  });
}

describe('avpipe record (built CLI)', () => {
  it('--json prints the result object and nothing else on stdout', async () => {
    const path = join(dir, 'cli.mp4');
    const r = await avpipe(['record', '--source', 'test', '--duration', '2', '--size', '320x240', '--fps', '30', '--video-codec', 'h264', '--audio-codec', 'aac', '--no-live', '--output', path, '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ status: 'COMPLETE', live: false, outputs: [{ path, size: expect.any(Number), durationMs: expect.any(Number) }] });
    expect(result['durationMs']).toBeGreaterThanOrEqual(2000);
    expect(result['wallMs']).toEqual(expect.any(Number));
    expect(result['speed']).toEqual(expect.any(Number));
    expect(result['queues']).toEqual([
      expect.objectContaining({ name: 'video-queue', policy: 'block', in: 60, out: 60, dropped: 0, maxLevel: expect.any(Number) }),
      expect.objectContaining({ name: 'audio-queue', policy: 'block', in: 100, out: 100, dropped: 0 }),
    ]);
    const p = await probe(path);
    expect(frames(streamOf(p, 'video'))).toBe(60);
    expect(streamOf(p, 'audio').codec_name).toBe('aac');
  });

  it('records live by default', async () => {
    const path = join(dir, 'cli-live.webm');
    const t0 = performance.now();
    const r = await avpipe(['record', '--duration', '1', '--size', '160x120', '--video-codec', 'vp8', '--output', path, '--json']);
    expect(r.code).toBe(0);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'COMPLETE', live: true });
  });

  it('a rejected config exits non-zero, lists the problems on stderr and creates no file', async () => {
    const path = join(dir, 'rejected.mp4');
    const r = await avpipe(['record', '--no-live', '--size', '321x240', '--output', path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('encoding.width');
    expect(existsSync(path)).toBe(false);
    const s = await avpipe(['record', '--no-live', '--output', 'rtmp://127.0.0.1/live/key']);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/outputs\[0\]\.url: .*non-live/);
    expect(s.stdout).toBe('');
  });
});

describe('CLI pieces', () => {
  it('parses the documented flags into a config', () => {
    const r = parseRecordArgs(['--duration', '5', '--preset', 'H264_1080P_30', '--no-live', '--output', 'a.ogg']);
    expect(r).toMatchObject({ json: false, init: { live: false, source: { type: 'test', duration: 5 }, encoding: { preset: 'H264_1080P_30', videoCodec: null }, outputs: [{ path: 'a.ogg' }] } });
    expect(parseRecordArgs(['--size', 'big', '--output', 'a.mp4'])).toEqual({ problems: [{ field: '--size', message: 'must be WxH, got "big"' }] });
  });

  it('draws a progress bar with speed', () => {
    const line = formatProgress({ status: 'ACTIVE', mediaTimeMs: 5000, frames: { video: 150, audio: 250 }, speed: 4.25, dropped: 0, bytes: 1 }, 10_000, 10);
    expect(line).toBe('[#####-----]  50% 5.0s/10.0s 4.25x');
  });
});
