import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AudioCodecName, VideoCodecName } from '../../src/index.js';
import { beepOnsets, flashTimes, frames, packetSpan, probe, streamOf } from '../helpers/ffprobe.js';
import { record } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const dir = tmpDir();
const FRAME = 1 / 30;

interface Case { file: string; video: VideoCodecName | null; audio: AudioCodecName; vName?: string; aName: string; audioFrame: number }
const cases: Case[] = [
  { file: 'h264-opus.mp4', video: 'h264', audio: 'opus', vName: 'h264', aName: 'opus', audioFrame: 0.02 },
  { file: 'h264-aac.mp4', video: 'h264', audio: 'aac', vName: 'h264', aName: 'aac', audioFrame: 1024 / 48000 },
  { file: 'vp8-opus.webm', video: 'vp8', audio: 'opus', vName: 'vp8', aName: 'opus', audioFrame: 0.02 },
  { file: 'vp9-opus.webm', video: 'vp9', audio: 'opus', vName: 'vp9', aName: 'opus', audioFrame: 0.02 },
  { file: 'opus.ogg', video: null, audio: 'opus', aName: 'opus', audioFrame: 0.02 },
];

/** Both codec providers run the same matrix: native FFmpeg (node-av), and WebAssembly alone. */
const SECONDS = 5;
const providers = [{ codecProvider: 'native', name: 'node-av' }, { codecProvider: 'wasm', name: 'wasm' }] as const;

describe.each(providers)('$codecProvider codecs:', ({ codecProvider, name }) => describe.each(cases)(`${SECONDS} s of the test source, non-live, to $file`, (c) => {
  const path = join(dir, `${codecProvider}-${c.file}`);
  let result: Awaited<ReturnType<typeof record>>;

  it('completes with nothing dropped and media-time durations', async () => {
    result = await record({ live: false, codecProvider, source: { type: 'test', duration: SECONDS }, encoding: { width: 640, height: 360, videoCodec: c.video, audioCodec: c.audio }, outputs: [{ path }] });
    expect(result.error).toBeNull();
    expect(result.codecProvider).toBe(name);
    expect(result.status).toBe('COMPLETE');
    expect(result.queues.length).toBeGreaterThanOrEqual(2);
    expect(result.queues.every((q) => q.dropped === 0 && q.policy === 'block' && q.in === q.out)).toBe(true);
    expect(result.durationMs).toBeGreaterThanOrEqual(SECONDS * 1000);
    expect(result.durationMs).toBeLessThanOrEqual(SECONDS * 1000 + c.audioFrame * 1000);
    expect(result.outputs[0]).toMatchObject({ path, exists: true, container: c.file.split('.')[1] });
  });

  it('is read back by ffprobe with the exact codec, size and frame count', async () => {
    const p = await probe(path);
    expect(p.streams).toHaveLength(c.video === null ? 1 : 2);
    const a = streamOf(p, 'audio');
    expect(a.codec_name).toBe(c.aName);
    expect(Number(a.sample_rate)).toBe(48000);
    expect(a.channels).toBe(2);
    const audio = await packetSpan(path, 'audio');
    expect(Math.abs(audio.end - Math.max(0, audio.start) - SECONDS)).toBeLessThanOrEqual(c.audioFrame + 0.001);
    if (c.video !== null) {
      const v = streamOf(p, 'video');
      expect(v.codec_name).toBe(c.vName);
      expect([v.width, v.height]).toEqual([640, 360]);
      expect(frames(v)).toBe(SECONDS * 30);
      if (c.video === 'h264') expect(v.profile).toBe('Main');
      const video = await packetSpan(path, 'video');
      expect(Math.abs(video.start - Math.max(0, audio.start))).toBeLessThanOrEqual(FRAME);
      expect(video.end).toBeCloseTo(SECONDS, 3);
    }
  });

  it('has every beep (and flash) where the source put it, within one video frame', async () => {
    const beeps = await beepOnsets(path);
    expect(beeps).toHaveLength(SECONDS);
    beeps.forEach((t, k) => expect(Math.abs(t - k)).toBeLessThanOrEqual(FRAME));
    if (c.video !== null) {
      const flashes = await flashTimes(path);
      expect(flashes).toHaveLength(SECONDS);
      flashes.forEach((t, k) => {
        expect(Math.abs(t - k)).toBeLessThanOrEqual(FRAME / 2);
        expect(Math.abs(t - beeps[k]!)).toBeLessThanOrEqual(FRAME);
      });
    }
  });
}));

describe('H.264 profiles', () => {
  it.each([['baseline', /Baseline/], ['main', /^Main$/], ['high', /^High$/]] as const)('the file holds the %s profile asked for', async (profile, expected) => {
    const path = join(dir, `profile-${profile}.mp4`);
    const result = await record({ live: false, source: { type: 'test', duration: 1 }, encoding: { width: 320, height: 240, h264Profile: profile }, outputs: [{ path }] });
    expect(result.status).toBe('COMPLETE');
    const v = streamOf(await probe(path), 'video');
    expect(v.profile).toMatch(expected);
    expect(frames(v)).toBe(30);
  });
});

describe('keyframes', () => {
  it('come every keyframe interval of media time', async () => {
    const path = join(dir, 'gop.mp4');
    await record({ live: false, source: { type: 'test', duration: 6 }, encoding: { width: 320, height: 240, keyframeInterval: 2 }, outputs: [{ path }] });
    const { execFile } = await import('node:child_process');
    const { FFPROBE } = await import('../helpers/ffprobe.js');
    const out = await new Promise<string>((resolve, reject) => execFile(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', path], (e, so) => (e ? reject(e) : resolve(so))));
    const keys = out.trim().split('\n').map((l) => l.split(',')).filter((c) => c[1]?.startsWith('K')).map((c) => Number(c[0]));
    expect(keys).toEqual([0, 2, 4]);
  });
});
