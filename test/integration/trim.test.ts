import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createController, createPipelineConfig, type FileSourceInit, type PipelineConfigInit, type PipelineResult } from '../../src/index.js';
import { beepOnsets, flashTimes, frames, packetSpan, probe, streamOf } from '../helpers/ffprobe.js';
import { audioFixture, avFixture } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';

const dir = tmpDir();
const FRAME = 1 / 30;
/** The flash/beep fixture marks every whole second; the span 2.5..6.5 puts them at 0.5, 1.5, 2.5, 3.5. */
const MARKS = [0.5, 1.5, 2.5, 3.5];
/** 8 s of H.264 (keyframes every 2 s, B-frames) and AAC, made by ffmpeg. */
const input = (): Promise<string> => avFixture('trim-8s.mp4', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-g', '60', '-c:a', 'aac'], 8);

function exportSpan(source: FileSourceInit, output: string, extra: Partial<PipelineConfigInit> = {}): Promise<PipelineResult> {
  return createController(createPipelineConfig({ live: false, source, outputs: [{ path: output }], ...extra })).start();
}

/** Every mark at its time: beeps read back in 1 ms windows (sample-accurate to that), flashes on their frame. */
async function expectMarks(path: string, beeps: number[] = MARKS): Promise<void> {
  const flashes = await flashTimes(path);
  expect(flashes).toHaveLength(MARKS.length);
  flashes.forEach((t, k) => expect(Math.abs(t - MARKS[k]!)).toBeLessThan(FRAME / 2));
  const heard = await beepOnsets(path);
  expect(heard).toHaveLength(beeps.length);
  heard.forEach((t, k) => expect(Math.abs(t - beeps[k]!)).toBeLessThanOrEqual(0.002));
}

describe('export of a span (--start 2.5 --end 6.5 of 8 s)', () => {
  it.each([1, 2])('transcoded in %i chunk(s): the frame showing at the start first, 120 frames, audio cut to the sample', async (parallel) => {
    const out = join(dir, `transcoded-${parallel}.mp4`);
    const result = await exportSpan({ type: 'file', inputs: [{ path: await input() }], start: 2.5, end: 6.5 }, out, { codecMode: 'transcode', parallel });
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

  it('copied into MP4: from the keyframe before the start (2 s), which an edit list hides: it plays from 2.5 s', async () => {
    const out = join(dir, 'copied.mp4');
    const result = await exportSpan({ type: 'file', inputs: [{ path: await input() }], start: 2.5, end: 6.5 }, out);
    expect(result.error).toBeNull();
    expect(result.tracks.map((t) => t.mode)).toEqual(['copy', 'copy']);
    // The packets run from the keyframe at 2 s (0.5 s before the start) to the end; ffmpeg decodes
    // what the edit list shows: 4 s, 120 frames, the marks in place.
    const video = await packetSpan(out, 'video');
    expect(video.start).toBeCloseTo(-0.5, 3);
    expect(video.end).toBeCloseTo(4, 3);
    expect(video.packets).toBe(135);
    expect(frames(streamOf(await probe(out), 'video'))).toBe(120);
    await expectMarks(out);
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
    // 1.25, 2.25, 3.25 in the span. c.wav (2 s at 0) ends before the span starts.
    const b = await audioFixture('trim-b.wav', ['-c:a', 'pcm_s16le']);
    const c = await audioFixture('trim-c.wav', ['-c:a', 'pcm_s16le'], 2);
    const out = join(dir, 'mixed.mp4');
    const result = await exportSpan({
      type: 'file', start: 2.5, end: 6.5,
      inputs: [{ path: await input() }, { path: b, offset: 3.25, start: 0.5 }, { path: c }],
    }, out);
    expect(result.error).toBeNull();
    expect(result.warnings).toEqual([expect.objectContaining({ code: 'INPUT_OUTSIDE_SPAN', input: c })]);
    expect(frames(streamOf(await probe(out), 'video'))).toBe(120);
    await expectMarks(out, [0.5, 1.25, 1.5, 2.25, 2.5, 3.25, 3.5]);
  });
});
