import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createController, createPipelineConfig, type FileSourceInit, type PipelineConfigInit, type PipelineResult } from '../../src/index.js';
import { beepOnsets, decodeErrors, FFPROBE, flashTimes, frames, packetSpan, probe, streamOf } from '../helpers/ffprobe.js';
import { audioFixture, avFixture } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const dir = tmpDir();
const FRAME = 1 / 30;
/**
 * The span 2.51..6.51 s: its start falls within frame 75 (2.5 to 2.533 s), which shows first. The
 * flash/beep fixture marks every whole second: in the span at 0.49, 1.49, 2.49, 3.49 s.
 */
const START = 2.51;
const END = 6.51;
const MARKS = [0.49, 1.49, 2.49, 3.49];
/** 8 s of H.264 (keyframes every 2 s, B-frames) and AAC, made by ffmpeg. */
const input = (): Promise<string> => avFixture('trim-8s.mp4', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '60', '-c:a', 'aac'], 8);

function exportSpan(source: FileSourceInit, output: string, extra: Partial<PipelineConfigInit> = {}): Promise<PipelineResult> {
  return createController(createPipelineConfig({ live: false, source, outputs: [{ path: output }], ...extra })).start();
}

/** Every mark at its time: beeps read back in 1 ms windows (sample-accurate to that), flashes on the frame nearest. */
async function expectMarks(path: string, beeps: number[] = MARKS, flashSlack = FRAME / 2): Promise<void> {
  const flashes = await flashTimes(path);
  expect(flashes).toHaveLength(MARKS.length);
  flashes.forEach((t, k) => expect(Math.abs(t - MARKS[k]!)).toBeLessThan(flashSlack));
  const heard = await beepOnsets(path);
  expect(heard).toHaveLength(beeps.length);
  heard.forEach((t, k) => expect(Math.abs(t - beeps[k]!)).toBeLessThanOrEqual(0.002));
}

describe('export of a span (--start 2.51 --end 6.51 of 8 s)', () => {
  it.each([1, 2])('transcoded in %i chunk(s): the frame showing at the start first, 120 frames, audio ending within an AAC frame of the cut and beeps within 2 ms', async (parallel) => {
    const out = join(dir, `transcoded-${parallel}.mp4`);
    const result = await exportSpan({ type: 'file', inputs: [{ path: await input() }], start: START, end: END }, out, { codecMode: 'transcode', parallel });
    expect(result.error).toBeNull();
    expect(result.chunks).toHaveLength(parallel === 1 ? 0 : 2);
    const p = await probe(out);
    expect(frames(streamOf(p, 'video'))).toBe(120);
    const audio = await packetSpan(out, 'audio');
    // AAC comes in 1024-sample frames: the last one reaches at most one frame past the cut.
    expect(audio.end).toBeGreaterThanOrEqual(4);
    expect(audio.end - 4).toBeLessThan(1024 / 48000);
    await expectMarks(out);
  });

  it('copied into MP4: from the keyframe before the start (2 s), which an edit list hides: it plays from the start, every frame decoding', async () => {
    const out = join(dir, 'copied.mp4');
    const source = await input();
    const result = await exportSpan({ type: 'file', inputs: [{ path: source }], start: START, end: END }, out);
    expect(result.error).toBeNull();
    expect(result.tracks.map((t) => t.mode)).toEqual(['copy', 'copy']);
    // What the copy holds, from the input's own packets (decode order, by ffprobe): from the last
    // keyframe at or before the start to the last packet before the end, with whatever lies between
    // (a later reference a B-frame before the end needs); what a player shows is what of it lies
    // from the start on.
    const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', source]);
    const packets = stdout.trim().split('\n').map((l) => l.split(',')).map(([t, f]) => ({ t: Number(t), key: f?.startsWith('K') === true }));
    const first = packets.findLastIndex((p) => p.key && p.t <= START);
    const last = packets.findLastIndex((p) => p.t < END);
    const kept = packets.slice(first, last + 1);
    expect(packets[first]!.t).toBe(2);
    // The edit list starts on the video's own time scale (a frame): at the first frame at or after the start.
    const video = await packetSpan(out, 'video');
    expect(2 - video.start).toBeGreaterThanOrEqual(START - 1e-3);
    expect(2 - video.start - START).toBeLessThan(FRAME);
    expect(video.packets).toBe(kept.length);
    expect(await decodeErrors(out)).toBe('');
    expect(frames(streamOf(await probe(out), 'video'))).toBe(kept.filter((p) => p.t >= 2 - video.start - 1e-3).length);
    // The video starts up to a frame after the exact start (the audio's edit list is exact to the sample): A/V within a frame.
    await expectMarks(out, MARKS, FRAME);
  });

  it('is not copied where no edit list can hide the lead-in (WebM): refused with --copy, saying why; a span after the end is refused', async () => {
    const webm = await avFixture('vp8-opus.webm', ['-c:v', 'libvpx', '-b:v', '1M', '-c:a', 'libopus']);
    const result = await exportSpan({ type: 'file', inputs: [{ path: webm }], start: 1 }, join(dir, 'copied.webm'), { codecMode: 'copy' });
    expect(result.status).toBe('FAILED');
    expect(result.error?.code).toBe('CONFIG_INVALID');
    expect(result.error?.message).toContain('it is trimmed at its start, which only an MP4 file (an edit list) keeps exact in a copy');
    // A span that starts after the media ends leaves nothing: the input is named.
    const after = await exportSpan({ type: 'file', inputs: [{ path: webm, start: 10 }] }, join(dir, 'after.webm'));
    expect(after.error?.code).toBe('INPUT_INVALID');
    expect(after.error?.message).toMatch(/^input .*vp8-opus\.webm: its span starts at 10 s, at or after its media ends \(4\.0\d s\): nothing is left to export$/);
  });

  it('composes with offsets, per-input spans and mixing; an input wholly before the start is left out, with a warning', async () => {
    // b.wav's own 0.5.. at 3.25 s: its beeps at its own 1, 2, 3 s fall at 3.75, 4.75, 5.75, so at
    // 1.24, 2.24, 3.24 in the span. c.wav (2 s at 0) ends before the span starts.
    const b = await audioFixture('trim-b.wav', ['-c:a', 'pcm_s16le']);
    const c = await audioFixture('trim-c.wav', ['-c:a', 'pcm_s16le'], 2);
    const out = join(dir, 'mixed.mp4');
    const result = await exportSpan({
      type: 'file', start: START, end: END,
      inputs: [{ path: await input() }, { path: b, offset: 3.25, start: 0.5 }, { path: c }],
    }, out, { codecMode: 'transcode' });
    expect(result.error).toBeNull();
    expect(result.warnings).toEqual([expect.objectContaining({ code: 'INPUT_OUTSIDE_SPAN', input: c })]);
    expect(frames(streamOf(await probe(out), 'video'))).toBe(120);
    await expectMarks(out, [0.49, 1.24, 1.49, 2.24, 2.49, 3.24, 3.49]);
  });
});
