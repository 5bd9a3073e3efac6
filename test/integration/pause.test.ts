import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createController, createPipelineConfig } from '../../src/index.js';
import { beepOnsets, FFPROBE, flashTimes, frames, probe, streamOf } from '../helpers/ffprobe.js';
import { tmpDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const dir = tmpDir();
const FRAME = 1 / 30;

describe('pause and resume of a live recording', () => {
  it('cuts the paused media out of the MP4 and of both renditions of an HLS ladder (one continuous timeline), A/V in sync across the cut, a keyframe after it in each', async () => {
    const mp4 = join(dir, 'paused.mp4');
    const master = join(dir, 'hls', 'paused.m3u8');
    const rungs = [join(dir, 'hls', 'paused_240p.m3u8'), join(dir, 'hls', 'paused_120p.m3u8')];
    const c = createController(createPipelineConfig({
      source: { type: 'test', duration: 6 }, encoding: { renditions: [{ width: 320, height: 240 }, { width: 160, height: 120 }] },
      outputs: [{ path: mp4 }, { path: master, segmentDuration: 1 }],
    }));
    const events: boolean[] = [];
    const calls: boolean[] = [];
    c.on('pause', (p) => events.push(p));
    c.on('status', (s) => {
      if (s !== 'ACTIVE') return;
      setTimeout(() => calls.push(c.pause(), c.pause()), 1400);
      setTimeout(() => calls.push(c.resume()), 3000);
    });
    const result = await c.start();
    expect(result.error).toBeNull();
    // Paused, already paused, resumed.
    expect(calls).toEqual([true, false, true]);
    expect(events).toEqual([true, false]);
    expect(result.pauses).toHaveLength(1);
    const [p] = result.pauses;
    // Cut on the frame grid, about as long as the pause lasted on the wall clock.
    const at = p!.atMs / 1000;
    const cut = p!.durationMs / 1000;
    expect(Math.abs(at * 30 - Math.round(at * 30))).toBeLessThan(0.01);
    expect(Math.abs(cut * 30 - Math.round(cut * 30))).toBeLessThan(0.01);
    // (Where the media stands at a wall-clock moment depends on the machine's load: loose bounds.)
    expect(Math.abs(cut - (p!.resumedAt! - p!.pausedAt) / 1000)).toBeLessThan(0.5);
    expect(at).toBeGreaterThan(0.5);
    expect(at).toBeLessThan(2.5);

    // 6 s recorded, the cut gone: as many frames as the rest holds, and every mark (the test source
    // flashes and beeps at every whole second) where the cut puts it: before it at its time, inside it
    // gone, after it moved back by the cut.
    const v = streamOf(await probe(mp4), 'video');
    expect(frames(v)).toBe(180 - Math.round(cut * 30));
    const seconds = [0, 1, 2, 3, 4, 5];
    const marks = seconds.filter((t) => t < at || t >= at + cut).map((t) => (t < at ? t : t - cut));
    // A beep lasts 0.1 s: one the cut ends inside goes on right at the cut.
    const beepMarks = seconds.flatMap((t) => (t < at ? [t] : t >= at + cut ? [t - cut] : t + 0.1 > at + cut ? [at] : []));
    for (const path of [mp4, ...rungs]) {
      const flashes = await flashTimes(path);
      const beeps = await beepOnsets(path);
      expect(flashes).toHaveLength(marks.length);
      expect(beeps).toHaveLength(beepMarks.length);
      marks.forEach((m, k) => expect(Math.abs(flashes[k]! - m)).toBeLessThan(FRAME / 2 + 1e-3));
      beepMarks.forEach((m, k) => expect(Math.abs(beeps[k]! - m)).toBeLessThanOrEqual(0.002));
    }
    // The first frame after the cut is a keyframe, in the file and in both renditions, and the
    // renditions' keyframes are at the same times (a player can switch at any segment).
    const keys: number[][] = [];
    for (const path of [mp4, ...rungs]) {
      const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', path]);
      const packets = stdout.trim().split('\n').map((l) => l.split(','));
      expect(packets.find(([t]) => Math.abs(Number(t) - at) < 1e-3)?.[1]).toMatch(/^K/);
      keys.push(packets.filter(([, f]) => f?.startsWith('K') === true).map(([t]) => Number(t)));
    }
    expect(keys[2]).toEqual(keys[1]);
    // HLS: no discontinuity, each rendition's segments add up to the file's length.
    for (const path of rungs) {
      const playlist = readFileSync(path, 'utf8');
      expect(playlist).not.toContain('EXT-X-DISCONTINUITY');
      const total = [...playlist.matchAll(/#EXTINF:([\d.]+)/g)].reduce((n, m) => n + Number(m[1]), 0);
      expect(Math.abs(total - (6 - cut))).toBeLessThanOrEqual(FRAME + 0.03);
    }
  });

  it('is refused on a non-live run, and before the run is active', async () => {
    const c = createController(createPipelineConfig({ live: false, source: { type: 'test', duration: 1 }, outputs: [{ path: join(dir, 'np.mp4') }] }));
    expect(() => c.pause()).toThrow(/a non-live run cannot be paused/);
    const live = createController(createPipelineConfig({ source: { type: 'test', duration: 1 }, outputs: [{ path: join(dir, 'idle.mp4') }] }));
    expect(() => live.pause()).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
  });
});
