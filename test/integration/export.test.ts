import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createController, createPipelineConfig, type PipelineConfigInit, type PipelineResult } from '../../src/index.js';
import { beepOnsets, flashTimes, frames, packetHashes, packetSpan, probe, streamOf, videoPackets } from '../helpers/ffprobe.js';
import { audioFixture, avFixture, fixture, FLASH_SRC } from '../helpers/fixtures.js';
import { tmpDir } from '../helpers/tmp.js';

const dir = tmpDir();
const FRAME = 1 / 30;

function exportFiles(inputs: PipelineConfigInit['source'] & { type: 'file' } | string[], output: string, extra: Partial<PipelineConfigInit> = {}): Promise<PipelineResult> {
  const source = Array.isArray(inputs) ? { type: 'file' as const, inputs: inputs.map((path) => ({ path })) } : inputs;
  return createController(createPipelineConfig({ live: false, source, outputs: [{ path: output }], ...extra })).start();
}

const containers = [
  { name: 'h264-aac.mp4', args: ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac'] },
  { name: 'h264-aac.mov', args: ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac'] },
  { name: 'vp8-opus.webm', args: ['-c:v', 'libvpx', '-b:v', '1M', '-c:a', 'libopus'] },
  { name: 'vp9-opus.mkv', args: ['-c:v', 'libvpx-vp9', '-b:v', '1M', '-deadline', 'realtime', '-cpu-used', '8', '-c:a', 'libopus'] },
  { name: 'h264-aac.ts', args: ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac'] },
  { name: 'hevc-vorbis.mkv', args: ['-c:v', 'libx265', '-x265-params', 'log-level=error', '-pix_fmt', 'yuv420p', '-c:a', 'libvorbis'] },
];

/** Both codec providers run the same matrix: native FFmpeg (node-av), and WebAssembly alone. */
const providers = [{ codecProvider: 'native' }, { codecProvider: 'wasm' }] as const;

describe.each(providers)('$codecProvider codecs:', ({ codecProvider }) => describe.each(containers)('export of $name (made by ffmpeg) to MP4, transcoded', ({ name, args }) => {
  it('keeps every frame (from MPEG-TS within one: it states no duration for its last), the beeps and the flashes in place', async () => {
    const input = await avFixture(name, args);
    const out = join(dir, `${codecProvider}-${name}.mp4`);
    const result = await exportFiles([input], out, { codecMode: 'transcode', codecProvider, encoding: { audioCodec: 'opus' } });
    expect(result.codecProvider).toBe(codecProvider === 'native' ? 'node-av' : 'wasm');
    expect(result.error).toBeNull();
    expect(result.status).toBe('COMPLETE');
    expect(result.tracks.map((t) => t.mode)).toEqual(['transcode', 'transcode']);
    expect(result.queues.length).toBeGreaterThanOrEqual(2);
    expect(result.queues.every((q) => q.dropped === 0)).toBe(true);
    const v = streamOf(await probe(out), 'video');
    expect([v.codec_name, v.width, v.height]).toEqual(['h264', 320, 240]);
    // MPEG-TS states no duration, so how long its last frame lasts is a guess: one frame of slack there.
    if (name.endsWith('.ts')) expect(Math.abs(frames(v) - 120)).toBeLessThanOrEqual(1);
    else expect(frames(v)).toBe(120);
    const flashes = await flashTimes(out);
    const beeps = await beepOnsets(out);
    expect(flashes).toHaveLength(4);
    expect(beeps).toHaveLength(4);
    flashes.forEach((t, k) => expect(Math.abs(t - k)).toBeLessThanOrEqual(FRAME));
    beeps.forEach((t, k) => expect(Math.abs(t - k)).toBeLessThanOrEqual(FRAME));
  });
}));

const audioOnly = [
  { name: 'beep.mp3', args: ['-c:a', 'libmp3lame', '-b:a', '128k'] },
  { name: 'beep.wav', args: ['-c:a', 'pcm_s16le'] },
  { name: 'beep.aac', args: ['-c:a', 'aac', '-f', 'adts'] },
  { name: 'beep.flac', args: ['-c:a', 'flac'] },
  { name: 'beep.ogg', args: ['-c:a', 'libopus'] },
  { name: 'beep-s24.wav', args: ['-c:a', 'pcm_s24le'] },
  { name: 'beep-ulaw.wav', args: ['-c:a', 'pcm_mulaw', '-ar', '8000', '-ac', '1'] },
];

describe.each(providers)('$codecProvider codecs:', ({ codecProvider }) => describe.each(audioOnly)('export of $name (made by ffmpeg) to Ogg Opus', ({ name, args }) => {
  it('keeps the beeps in place and the duration', async () => {
    const input = await audioFixture(name, args);
    const out = join(dir, `${codecProvider}-${name}.ogg`);
    const result = await exportFiles([input], out, { codecProvider });
    expect(result.error).toBeNull();
    expect(result.status).toBe('COMPLETE');
    const a = streamOf(await probe(out), 'audio');
    expect(a.codec_name).toBe('opus');
    // As long as the input decodes to (MP3 and ADTS carry their encoder's padding, which no reader can tell from audio).
    const [src, span] = [await packetSpan(input, 'audio'), await packetSpan(out, 'audio')];
    expect(Math.abs(span.end - Math.max(0, span.start) - (src.end - Math.max(0, src.start)))).toBeLessThanOrEqual(0.03);
    const beeps = await beepOnsets(out);
    expect(beeps).toHaveLength(4);
    beeps.forEach((t, k) => expect(Math.abs(t - k)).toBeLessThanOrEqual(FRAME));
  });
}));

describe('passthrough', () => {
  it('copies H.264 + AAC from MP4 to MP4 without re-encoding, packet for packet', async () => {
    const input = await avFixture('h264-aac.mp4', containers[0]!.args);
    const out = join(dir, 'copy.mp4');
    const result = await exportFiles([input], out);
    expect(result.status).toBe('COMPLETE');
    expect(result.tracks.map((t) => [t.kind, t.mode])).toEqual([['video', 'copy'], ['audio', 'copy']]);
    expect(result.encoders).toEqual([]);
    expect(result.decoders).toEqual([]);
    // Every packet's bytes, in order, as the input holds them (ffprobe's MD5 of each), both tracks.
    for (const kind of ['video', 'audio'] as const) {
      const theirs = await packetHashes(input, kind);
      expect(theirs.length).toBeGreaterThan(100);
      expect(await packetHashes(out, kind)).toEqual(theirs);
    }
    expect(frames(streamOf(await probe(out), 'video'))).toBe(120);
    expect((await flashTimes(out)).length).toBe(4);
  });

  it('copies VP8 + Opus from WebM to WebM, and transcodes only the track that must change', async () => {
    const input = await avFixture('vp8-opus.webm', containers[2]!.args);
    const copied = await exportFiles([input], join(dir, 'copy.webm'));
    expect(copied.tracks.map((t) => t.mode)).toEqual(['copy', 'copy']);
    const mixed = await exportFiles([input], join(dir, 'mixed.mp4'));
    expect(mixed.tracks.map((t) => [t.kind, t.mode])).toEqual([['video', 'transcode'], ['audio', 'copy']]);
    const p = await probe(join(dir, 'mixed.mp4'));
    expect(streamOf(p, 'video').codec_name).toBe('h264');
    expect(streamOf(p, 'audio').codec_name).toBe('opus');
  });

  it('--copy refuses a track that cannot be copied, before any file exists', async () => {
    const input = await avFixture('vp8-opus.webm', containers[2]!.args);
    const out = join(dir, 'refused.mp4');
    const result = await exportFiles([input], out, { codecMode: 'copy' });
    expect(result.status).toBe('FAILED');
    expect(result.error?.message).toMatch(/cannot be copied.*vp8/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('per-track recordings (IVF video, Ogg Opus audio)', () => {
  const ivf = (codec: 'libvpx' | 'libvpx-vp9'): Promise<string> => fixture(`${codec}.ivf`, ['-f', 'lavfi', '-i', FLASH_SRC(4), '-c:v', codec, '-b:v', '1M',
    ...(codec === 'libvpx-vp9' ? ['-deadline', 'realtime', '-cpu-used', '8'] : []), '-f', 'ivf']);

  it('copies an IVF VP8 track and an Ogg Opus track into one WebM, in sync', async () => {
    const audio = await audioFixture('beep.ogg', ['-c:a', 'libopus']);
    const out = join(dir, 'tracks.webm');
    const result = await exportFiles([await ivf('libvpx'), audio], out);
    expect(result.status).toBe('COMPLETE');
    expect(result.tracks.map((t) => [t.kind, t.mode])).toEqual([['video', 'copy'], ['audio', 'copy']]);
    const p = await probe(out);
    expect(frames(streamOf(p, 'video'))).toBe(120);
    const flashes = await flashTimes(out);
    const beeps = await beepOnsets(out);
    expect(flashes).toHaveLength(4);
    flashes.forEach((t, k) => expect(Math.abs(t - beeps[k]!)).toBeLessThanOrEqual(FRAME));
  });

  it('transcodes an IVF VP9 track to H.264 with every frame', async () => {
    const out = join(dir, 'ivf-vp9.mp4');
    const result = await exportFiles([await ivf('libvpx-vp9')], out);
    expect(result.status).toBe('COMPLETE');
    const v = streamOf(await probe(out), 'video');
    expect([v.codec_name, v.width, v.height, frames(v)]).toEqual(['h264', 320, 240, 120]);
  });

  it('reads raw H.264 (Annex B) at its frame rate, copied into MP4 or transcoded, every frame kept', async () => {
    for (const profile of ['baseline', 'high']) {
      const h264 = await fixture(`${profile}.h264`, ['-f', 'lavfi', '-i', FLASH_SRC(4, '320x180'), '-c:v', 'libx264', '-profile:v', profile, '-bf', '0', '-pix_fmt', 'yuv420p', '-f', 'h264']);
      const copied = join(dir, `annexb-${profile}.mp4`);
      const result = await exportFiles([h264], copied);
      expect(result.status).toBe('COMPLETE');
      expect(result.tracks).toEqual([{ id: '0:video', kind: 'video', mode: 'copy', reasons: [] }]);
      const v = streamOf(await probe(copied), 'video');
      expect([v.width, v.height, frames(v)]).toEqual([320, 180, 120]);
      const flashes = await flashTimes(copied);
      expect(flashes).toHaveLength(4);
      flashes.forEach((t, k) => expect(Math.abs(t - k)).toBeLessThanOrEqual(FRAME));
    }
    const transcoded = join(dir, 'annexb.webm');
    const r = await exportFiles([await fixture('baseline.h264', ['-f', 'lavfi', '-i', FLASH_SRC(4, '320x180'), '-c:v', 'libx264', '-profile:v', 'baseline', '-bf', '0', '-pix_fmt', 'yuv420p', '-f', 'h264'])], transcoded);
    expect(r.status).toBe('COMPLETE');
    // The result says why the track was not copied.
    expect(r.tracks).toEqual([{ id: '0:video', kind: 'video', mode: 'transcode', reasons: ['avc is not allowed in the output', 'the encoding asks for vp8'] }]);
    expect(frames(streamOf(await probe(transcoded), 'video'))).toBe(120);
  });

  it('a truncated IVF keeps every complete frame (as many as its frame headers show whole)', async () => {
    const whole = readFileSync(await ivf('libvpx'));
    const cut = whole.subarray(0, Math.floor(whole.length / 2));
    const path = join(dir, 'cut.ivf');
    writeFileSync(path, cut);
    // IVF: a 32-byte file header (its length at byte 6), then per frame a 12-byte header (size, pts) and the frame.
    let complete = 0;
    for (let at = cut.readUInt16LE(6); at + 12 <= cut.length && at + 12 + cut.readUInt32LE(at) <= cut.length; at += 12 + cut.readUInt32LE(at)) complete++;
    expect(complete).toBeGreaterThan(10);
    expect(complete).toBeLessThan(120);
    const out = join(dir, 'cut-ivf.webm');
    const result = await exportFiles([path], out);
    expect(result.status).toBe('COMPLETE');
    expect(frames(streamOf(await probe(out), 'video'))).toBe(complete);
  });
});

describe('timing', () => {
  it('variable frame rate input becomes exactly the output rate', async () => {
    // Every third frame removed and timestamps kept: 20 frames/s on average, irregular.
    const input = await fixture('vfr.mp4', ['-f', 'lavfi', '-i', FLASH_SRC(4), '-vf', "select='not(eq(mod(n\\,3)\\,1))'", '-vsync', '0', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
    expect(frames(streamOf(await probe(input), 'video'))).toBe(80);
    const out = join(dir, 'cfr.mp4');
    const result = await exportFiles([input], out, { encoding: { fps: 30 } });
    expect(result.status).toBe('COMPLETE');
    const v = streamOf(await probe(out), 'video');
    expect(frames(v)).toBe(120);
    expect(v.avg_frame_rate).toBe('30/1');
  });

  it('a copied variable-rate track keeps its own timestamps', async () => {
    const input = await fixture('vfr.mp4', ['-f', 'lavfi', '-i', FLASH_SRC(4), '-vf', "select='not(eq(mod(n\\,3)\\,1))'", '-vsync', '0', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
    const out = join(dir, 'vfr-copy.mp4');
    const result = await exportFiles([input], out);
    expect(result.tracks.map((t) => t.mode)).toEqual(['copy']);
    const pts = async (p: string): Promise<string[]> => {
      const { execFile } = await import('node:child_process');
      const { FFPROBE } = await import('../helpers/ffprobe.js');
      const so = await new Promise<string>((res, rej) => execFile(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time', '-of', 'csv=p=0', p], (e, o) => (e ? rej(e) : res(o))));
      return so.trim().split('\n').map((x) => Number(x).toFixed(3)).sort();
    };
    expect(await pts(out)).toEqual(await pts(input));
  });

  it('a duration limit cuts an export at that media time (no padding past it)', async () => {
    const input = await avFixture('h264-aac.mp4', containers[0]!.args);
    const out = join(dir, 'limited.mp4');
    const result = await exportFiles([input], out, { codecMode: 'transcode', limits: { maxDuration: 2 } });
    expect(result.status).toBe('LIMIT_REACHED');
    expect(frames(streamOf(await probe(out), 'video'))).toBe(60);
    const a = await packetSpan(out, 'audio');
    expect(a.end).toBeLessThanOrEqual(2.03);
  });

  it('replays a file at 1x as a live source (live: true), dropping nothing when the encoder keeps up', async () => {
    const input = await avFixture('h264-aac.mp4', containers[0]!.args);
    const out = join(dir, 'replayed.mp4');
    const t0 = performance.now();
    const result = await exportFiles([input], out, { live: true, codecMode: 'transcode' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(3900);
    expect(result.status).toBe('COMPLETE');
    expect(result.queues.map((q) => [q.policy, q.dropped])).toEqual([['drop-oldest', 0], ['drop-oldest', 0], ['drop-oldest', 0]]);
    expect(frames(streamOf(await probe(out), 'video'))).toBe(120);
  });

  it('takes 4:4:4 and odd-sized input (converted to 4:2:0, the odd line left out)', async () => {
    const i444 = await fixture('yuv444.mp4', ['-f', 'lavfi', '-i', FLASH_SRC(4), '-c:v', 'libx264', '-pix_fmt', 'yuv444p']);
    const odd = await fixture('odd.mp4', ['-f', 'lavfi', '-i', FLASH_SRC(4, '321x241'), '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
    for (const [input, size] of [[i444, [320, 240]], [odd, [320, 240]]] as const) {
      const out = join(dir, `conv-${size.join('x')}-${input.split('-').pop()}`);
      const result = await exportFiles([input], out, { codecMode: 'transcode' });
      expect(result.status).toBe('COMPLETE');
      const v = streamOf(await probe(out), 'video');
      expect([v.width, v.height, frames(v)]).toEqual([...size, 120]);
      expect(await flashTimes(out)).toHaveLength(4);
    }
  });

  it('scales to a size asked for with swscale', async () => {
    const input = await avFixture('h264-aac.mp4', containers[0]!.args);
    const out = join(dir, 'scaled.webm');
    const result = await exportFiles([input], out, { encoding: { width: 640, height: 480 } });
    expect(result.status).toBe('COMPLETE');
    const v = streamOf(await probe(out), 'video');
    expect([v.codec_name, v.width, v.height, frames(v)]).toEqual(['vp8', 640, 480, 120]);
  });
});

describe('bad input', () => {
  const expectBad = async (path: string, problem: RegExp): Promise<void> => {
    const out = join(dir, `bad-${path.split('/').pop()}.mp4`);
    const t0 = performance.now();
    const result = await exportFiles([path], out);
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(result.status).toBe('FAILED');
    expect(result.error?.code).toBe('INPUT_INVALID');
    expect(result.error?.message).toContain(path);
    expect(result.error?.message).toMatch(problem);
    expect(existsSync(out)).toBe(false);
  };

  it('a missing file', () => expectBad(join(dir, 'missing.mp4'), /no such file/));

  it('an IVF whose timestamps are all 0 (it divided by zero)', async () => {
    const b = Buffer.from(readFileSync(await fixture('libvpx.ivf', ['-f', 'lavfi', '-i', FLASH_SRC(4), '-c:v', 'libvpx', '-b:v', '1M', '-f', 'ivf'])));
    // 32-byte file header, then per frame a 4-byte size and an 8-byte pts.
    for (let at = b.readUInt16LE(6); at + 12 <= b.length; at += 12 + b.readUInt32LE(at)) b.writeBigUInt64LE(0n, at + 4);
    const path = join(dir, 'zero-pts.ivf');
    writeFileSync(path, b);
    await expectBad(path, /frame 1 has pts 0, not after frame 0's 0/);
  });

  it('an empty file', () => {
    const path = join(dir, 'empty.mp4');
    writeFileSync(path, '');
    return expectBad(path, /empty/);
  });

  it('an unknown container', () => {
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'this is not media\n'.repeat(100));
    return expectBad(path, /unknown or unsupported container/);
  });

  it('a file cut before its index (truncated MP4)', async () => {
    const input = await avFixture('h264-aac.mp4', containers[0]!.args);
    const path = join(dir, 'truncated.mp4');
    writeFileSync(path, readFileSync(input).subarray(0, 20_000));
    await expectBad(path, /corrupt|truncated|track|container/);
  });

  it('random bytes with a media name', () => {
    const path = join(dir, 'corrupt.webm');
    const bytes = Buffer.alloc(50_000);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + 13) & 0xff;
    writeFileSync(path, bytes);
    return expectBad(path, /unknown or unsupported container|corrupt/);
  });

  it('a codec avpipe cannot decode (Cinepak: not named by mediabunny, not among the decoders FFmpeg\'s demuxer is trusted with)', async () => {
    const path = await fixture('cinepak.mov', ['-f', 'lavfi', '-i', FLASH_SRC(1, '160x120'), '-c:v', 'cinepak']);
    await expectBad(path, /video track 1 has a codec avpipe cannot decode/);
  });

  it('a truncated WebM completes with INPUT_TRUNCATED (where its data ends) and keeps every frame of its complete clusters, up to the cut one', async () => {
    const input = await avFixture('vp8-opus.webm', containers[2]!.args);
    const path = join(dir, 'cut.webm');
    const whole = readFileSync(input);
    writeFileSync(path, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const out = join(dir, 'cut-out.mp4');
    const result = await exportFiles([path], out);
    expect(result.status).toBe('COMPLETE');
    expect(result.warnings.map((w) => [w.code, w.input])).toEqual([['INPUT_TRUNCATED', path]]);
    // What ffprobe reads of the cut file: its clusters start on keyframes; the cut one is the last.
    const read = await videoPackets(path);
    const cutCluster = read.map((p) => p.key).lastIndexOf(true);
    expect(cutCluster).toBeGreaterThan(0);
    expect(result.warnings[0]!.atMs).toBeCloseTo(read[cutCluster]!.t * 1000, -1);
    // Every frame before it is kept. The cut cluster's own readable frames (12 here) are not: the
    // demuxer (mediabunny's) reads whole clusters only (a known limit, in docs/reliability.md).
    expect(frames(streamOf(await probe(out), 'video'))).toBe(cutCluster);
    copyFileSync(input, join(dir, 'whole.webm'));
  });
});
