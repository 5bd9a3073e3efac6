import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { beepOnsets, decodeErrors, flashTimes, frames, packetSpan, probe, streamOf } from '../helpers/ffprobe.js';
import { avFixture, BEEP_SRC, fixture, FLASH_SRC } from '../helpers/fixtures.js';
import { record } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const dir = tmpDir();
const FRAME = 1 / 30;
const SECONDS = 2;

/**
 * Files as TV captures and film releases carry them, written by ffmpeg (not avpipe): the flash and
 * beep source in H.264 with broadcast audio codecs, in MP4, MPEG-TS and Matroska.
 */
const cases = [
  { file: 'ac3.mp4', args: ['-c:v', 'libx264', '-c:a', 'ac3', '-b:a', '192k'], codec: 'ac3' },
  { file: 'eac3.ts', args: ['-c:v', 'libx264', '-c:a', 'eac3', '-b:a', '192k'], codec: 'eac3' },
  { file: 'dts.mkv', args: ['-c:v', 'libx264', '-c:a', 'dca', '-strict', '-2', '-b:a', '768k'], codec: 'dts' },
  { file: 'mp2.ts', args: ['-c:v', 'libx264', '-c:a', 'mp2', '-b:a', '192k'], codec: 'mp2' },
];

/** The same export through either provider: the duration, every beep and flash, read back by ffprobe. */
async function exportsWhole(input: string, out: string, codecProvider: 'native' | 'wasm'): Promise<void> {
  const result = await record({ live: false, codecProvider, source: { type: 'file', inputs: [{ path: input }] }, codecMode: 'transcode', encoding: { width: 320, height: 240, audioCodec: 'aac' }, outputs: [{ path: out }] });
  expect(result.error).toBeNull();
  expect(result.status).toBe('COMPLETE');
  expect(streamOf(await probe(out), 'audio').codec_name).toBe('aac');
  const audio = await packetSpan(out, 'audio');
  expect(Math.abs(audio.end - Math.max(0, audio.start) - SECONDS)).toBeLessThanOrEqual(Math.max(0.25, 0.03 * SECONDS));
  const beeps = await beepOnsets(out);
  expect(beeps).toHaveLength(SECONDS);
  beeps.forEach((t, k) => expect(Math.abs(t - k)).toBeLessThanOrEqual(FRAME));
  const flashes = await flashTimes(out);
  expect(flashes).toHaveLength(SECONDS);
  flashes.forEach((t, k) => expect(Math.abs(t - beeps[k]!)).toBeLessThanOrEqual(FRAME));
}

describe.each(cases)('a $file input (H.264 + $codec, written by ffmpeg) exports to MP4', (c) => {
  it('decoded by node-av\'s FFmpeg: the duration within max(0.25 s, 3%), every beep and flash in place, read back by ffprobe', async () => {
    const input = await avFixture(`broadcast-${c.file}`, c.args, SECONDS);
    // What ffmpeg wrote, as its reader sees it (the reader here, a 2018 build, crashes on MPEG-TS).
    if (!c.file.endsWith('.ts')) expect(streamOf(await probe(input), 'audio').codec_name).toBe(c.codec);
    await exportsWhole(input, join(dir, `${c.file}.mp4`), 'native');
  });
});

/**
 * Video codecs of real-world files (TV captures, DVDs, older camcorders and downloads, phones),
 * written by ffmpeg's own encoders (x265, libaom, its MPEG-2 and MPEG-4 Part 2 encoders): HEVC and AV1
 * through mediabunny's demuxers; MPEG-2 and MPEG-4 Part 2, which mediabunny does not name (and in
 * MPEG-TS leaves out), and AVI, which it does not read, through FFmpeg's demuxer.
 */
const videoCases = [
  { file: 'hevc.mp4', args: ['-c:v', 'libx265', '-preset', 'ultrafast', '-tag:v', 'hvc1', '-c:a', 'aac'], codec: 'hevc' },
  { file: 'hevc.mkv', args: ['-c:v', 'libx265', '-preset', 'ultrafast', '-c:a', 'libopus'], codec: 'hevc' },
  // libaom (2018) encodes at some 10 fps at 320x240: this one is made at 160x120.
  { file: 'av1.mkv', args: ['-c:v', 'libaom-av1', '-strict', '-2', '-cpu-used', '8', '-b:v', '200k', '-c:a', 'libopus'], codec: 'av1', size: '160x120' },
  // With B-frames, as broadcasts and DVDs have them (AVI and MPEG-PS state no presentation times for them).
  { file: 'mpeg2.ts', args: ['-c:v', 'mpeg2video', '-bf', '2', '-b:v', '2M', '-c:a', 'mp2'], codec: 'mpeg2video' },
  { file: 'mpeg2.m2ts', args: ['-c:v', 'mpeg2video', '-bf', '2', '-b:v', '2M', '-c:a', 'ac3', '-f', 'mpegts', '-mpegts_m2ts_mode', '1'], codec: 'mpeg2video' },
  { file: 'mpeg2.vob', args: ['-c:v', 'mpeg2video', '-bf', '2', '-b:v', '2M', '-c:a', 'ac3', '-f', 'vob'], codec: 'mpeg2video' },
  { file: 'mpeg2.mkv', args: ['-c:v', 'mpeg2video', '-bf', '2', '-b:v', '2M', '-c:a', 'ac3'], codec: 'mpeg2video' },
  { file: 'mpeg4.mp4', args: ['-c:v', 'mpeg4', '-bf', '2', '-q:v', '3', '-c:a', 'aac'], codec: 'mpeg4' },
  // AVI cannot state MP3's encoder delay and padding: the audio decodes 2.05 s long, and the video's
  // last frame is held to the session's end (one frame more).
  { file: 'mpeg4.avi', args: ['-c:v', 'mpeg4', '-bf', '2', '-vtag', 'xvid', '-q:v', '3', '-c:a', 'libmp3lame'], codec: 'mpeg4', frames: 61 },
];

describe.each(videoCases)('a $file input ($codec video, written by ffmpeg) exports to MP4', (c) => {
  it('transcoded: every frame (60; AVI 61), the duration within max(0.25 s, 3%), every beep and flash in place, read back by ffprobe', async () => {
    const input = c.size === undefined ? await avFixture(`video-${c.file}`, c.args, SECONDS)
      : await fixture(`video-${c.file}`, ['-f', 'lavfi', '-i', FLASH_SRC(SECONDS, c.size), '-f', 'lavfi', '-i', BEEP_SRC(SECONDS), ...c.args]);
    if (!/\.(m2)?ts$/.test(c.file)) expect(streamOf(await probe(input), 'video').codec_name).toBe(c.codec);
    const out = join(dir, `video-${c.file}.mp4`);
    await exportsWhole(input, out, 'native');
    expect(frames(streamOf(await probe(out), 'video'))).toBe(c.frames ?? SECONDS * 30);
    expect(await decodeErrors(out)).toBe('');
  });
});

describe('a track read through FFmpeg\'s demuxer', () => {
  it('is trimmed (MPEG-2 in MPEG-TS, --start 1 of 2 s): 30 frames from the second flash, no warning', async () => {
    const input = await avFixture('video-mpeg2.ts', videoCases.find((c) => c.file === 'mpeg2.ts')!.args, SECONDS);
    const out = join(dir, 'mpeg2-trim.mp4');
    const result = await record({ live: false, source: { type: 'file', inputs: [{ path: input }], start: 1 }, encoding: { width: 320, height: 240, audioCodec: 'aac' }, outputs: [{ path: out }] });
    expect(result.status).toBe('COMPLETE');
    expect(result.warnings).toEqual([]);
    expect(frames(streamOf(await probe(out), 'video'))).toBe(30);
    expect(await flashTimes(out)).toEqual([0]);
    const beeps = await beepOnsets(out);
    expect(beeps).toHaveLength(1);
    // MP2's decoder delay (481 samples, 10 ms), which a transport stream does not state, is in every reader's decode of it.
    expect(Math.abs(beeps[0]!)).toBeLessThanOrEqual(FRAME);
  });

  it('MPEG-2 video in MPEG-TS is decoded by ffmpeg.wasm just as well (the track fed to it in Matroska as V_MPEG2)', async () => {
    const input = await avFixture('video-mpeg2.ts', videoCases.find((c) => c.file === 'mpeg2.ts')!.args, SECONDS);
    const out = join(dir, 'wasm-mpeg2.mp4');
    await exportsWhole(input, out, 'wasm');
    expect(frames(streamOf(await probe(out), 'video'))).toBe(SECONDS * 30);
  });

  it('is decoded, never copied: codecMode copy is refused up front saying why', async () => {
    const input = await avFixture('video-mpeg2.ts', videoCases.find((c) => c.file === 'mpeg2.ts')!.args, SECONDS);
    const result = await record({ live: false, source: { type: 'file', inputs: [{ path: input }] }, codecMode: 'copy', outputs: [{ path: join(dir, 'mpeg2-copy.mp4') }] });
    expect(result.status).toBe('FAILED');
    expect(result.error!.code).toBe('CONFIG_INVALID');
    expect(result.error!.message).toMatch(/cannot be copied: it is read through FFmpeg's demuxer/);
    expect(existsSync(join(dir, 'mpeg2-copy.mp4'))).toBe(false);
  });
});

describe.each(cases.filter((c) => c.file === 'dts.mkv'))('on the wasm provider, a $file input', (c) => {
  it('is decoded by ffmpeg.wasm just as well', async () => {
    await exportsWhole(await avFixture(`broadcast-${c.file}`, c.args, SECONDS), join(dir, `wasm-${c.file}.mp4`), 'wasm');
  });
});

describe('an input codec a provider cannot decode', () => {
  it('8-bit signed PCM (QuickTime): node-av decodes it; on wasm (no Matroska name for it) the run fails naming the file and the track', async () => {
    const { fixture, BEEP_SRC } = await import('../helpers/fixtures.js');
    const input = await fixture('pcm-s8.mov', ['-f', 'lavfi', '-i', BEEP_SRC(SECONDS), '-c:a', 'pcm_s8']);
    expect(streamOf(await probe(input), 'audio').codec_name).toBe('pcm_s8');
    const native = await record({ live: false, source: { type: 'file', inputs: [{ path: input }] }, encoding: { audioCodec: 'aac' }, outputs: [{ path: join(dir, 'pcm-s8.mp4') }] });
    expect(native.status).toBe('COMPLETE');
    expect(await beepOnsets(join(dir, 'pcm-s8.mp4'))).toHaveLength(SECONDS);
    const wasm = await record({ live: false, codecProvider: 'wasm', source: { type: 'file', inputs: [{ path: input }] }, encoding: { audioCodec: 'aac' }, outputs: [{ path: join(dir, 'wasm-pcm-s8.mp4') }] });
    expect(wasm.status).toBe('FAILED');
    expect(wasm.error!.code).toBe('SOURCE_FAILED');
    expect(wasm.error!.message).toBe(`input ${input}, audio track 1: the wasm decoders cannot read codec "pcm-s8"`);
  });
});

describe('an input whose tracks hold no media', () => {
  it('an MP4 that is its moov alone (its media cut off) is INPUT_INVALID naming the file, and nothing is left behind', async () => {
    const { fixture } = await import('../helpers/fixtures.js');
    const { readFileSync, writeFileSync, existsSync } = await import('node:fs');
    // ffmpeg's MP4 with the moov first, cut where its mdat starts: tracks declared, no media.
    const whole = readFileSync(await fixture('moov-first.mp4', ['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=30:d=1', '-c:v', 'libx264', '-movflags', '+faststart']));
    const input = join(dir, 'moov-only.mp4');
    writeFileSync(input, whole.subarray(0, whole.indexOf(Buffer.from('mdat')) - 4));
    const out = join(dir, 'moov-only-out.mp4');
    const result = await record({ live: false, source: { type: 'file', inputs: [{ path: input }] }, outputs: [{ path: out }] });
    expect(result.status).toBe('FAILED');
    expect(result.error!.code).toBe('INPUT_INVALID');
    expect(result.error!.message).toContain(input);
    expect(existsSync(out)).toBe(false);
  });
});

describe('an MPEG-TS capture that starts mid-GOP (cut at a TS packet, as a recorder joining a broadcast)', () => {
  it.each(['copy', 'transcode'] as const)('%s: the video starts at its first keyframe, the packets before it dropped and reported; every frame after it decodes', async (codecMode) => {
    const { readFileSync, writeFileSync } = await import('node:fs');
    const { avFixture: av } = await import('../helpers/fixtures.js');
    // 4 s at 30 fps, a keyframe every 60 frames; 30% of the packets cut off lands inside the first GOP.
    const whole = readFileSync(await av('gop60.ts', ['-c:v', 'libx264', '-g', '60', '-c:a', 'aac'], 4));
    const input = join(dir, 'mid-gop.ts');
    writeFileSync(input, whole.subarray(Math.floor((whole.length / 188) * 0.3) * 188));
    const out = join(dir, `mid-gop-${codecMode}.mp4`);
    const result = await record({ live: false, codecMode, source: { type: 'file', inputs: [{ path: input }] }, ...(codecMode === 'transcode' ? { encoding: { width: 320, height: 240 } } : {}), outputs: [{ path: out }] });
    expect(result.error).toBeNull();
    expect(result.status).toBe('COMPLETE');
    expect(result.warnings.map((w) => w.code)).toEqual(['LEADING_PACKETS_DROPPED']);
    expect(result.warnings[0]!.message).toMatch(new RegExp(`^input ${input}: its video track \\d+ starts mid-GOP: its first \\d+ packets .* were dropped$`));
    expect(await decodeErrors(out)).toBe('');
    const video = frames(streamOf(await probe(out), 'video'));
    const beeps = await beepOnsets(out);
    const flashes = await flashTimes(out);
    // The audio starts at the cut: its beeps (3, a second apart) are the reference.
    expect(beeps).toHaveLength(3);
    if (codecMode === 'copy') {
      // The second GOP whole, from its keyframe (a flash) on: 60 frames, each flash on its beep.
      expect(video).toBe(60);
      expect(flashes).toHaveLength(2);
      flashes.forEach((t, k) => expect(Math.abs(t - beeps[k + 1]!)).toBeLessThanOrEqual(FRAME));
    } else {
      // Constant-rate video over the session, held on its first frame until it starts (as for any
      // late video track); the last flash on its beep.
      expect(video).toBe(Math.round((await packetSpan(out, 'audio')).end * 30));
      expect(Math.abs(flashes.at(-1)! - beeps.at(-1)!)).toBeLessThanOrEqual(FRAME);
    }
  });
});
