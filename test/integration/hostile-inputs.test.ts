import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createController, createPipelineConfig } from '../../src/index.js';
import { fixture, FLASH_SRC } from '../helpers/fixtures.js';
import { frames, probe, streamOf } from '../helpers/ffprobe.js';
import { tmpDir } from '../helpers/tmp.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const RSS = fileURLToPath(new URL('../fixtures/max-rss/report.mjs', import.meta.url));
const dir = tmpDir();

/** Peak RSS every hostile input must stay under, and the time each may take (the targets). */
const MAX_RSS_MB = 600;
const MAX_MS = 60_000;

interface Run {
  code: number;
  result: { status: string; durationMs: number; error: { code: string; message: string } | null; warnings: { code: string; input: string; atMs: number; message: string }[] } | undefined;
  stderr: string;
  rssMb: number;
  ms: number;
}

/** Exports through the built CLI with --json, measuring its peak RSS and wall time. */
function exportCli(args: string[]): Promise<Run> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', RSS, CLI, 'export', ...args, '--json'], { timeout: MAX_MS * 2, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      const rss = /AVPIPE_MAX_RSS_KB=(\d+)/.exec(stderr);
      let result: Run['result'];
      try {
        result = JSON.parse(stdout) as Run['result'];
      } catch {
        result = undefined;
      }
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, result, stderr, rssMb: rss === null ? Infinity : Number(rss[1]) / 1024, ms: performance.now() - t0 });
    });
  });
}

/** An MP4 whose mvhd/tkhd/mdhd/elst durations all say `seconds`, whatever its samples hold. */
function declareDuration(src: string, dst: string, seconds: number): void {
  const b = Buffer.from(readFileSync(src));
  let movieScale = 1000;
  const walk = (start: number, end: number): void => {
    for (let p = start; p + 8 <= end;) {
      const size = b.readUInt32BE(p);
      const type = b.toString('latin1', p + 4, p + 8);
      if (size < 8) return;
      const body = p + 8;
      if (['moov', 'trak', 'mdia', 'edts'].includes(type)) walk(body, p + size);
      if (type === 'mvhd') {
        movieScale = b.readUInt32BE(body + 12);
        b.writeUInt32BE(seconds * movieScale, body + 16);
      }
      if (type === 'tkhd') b.writeUInt32BE(seconds * movieScale, body + 20);
      if (type === 'mdhd') b.writeUInt32BE(Math.min(0xffffffff, seconds * b.readUInt32BE(body + 12)), body + 16);
      if (type === 'elst') for (let i = 0; i < b.readUInt32BE(body + 4); i++) b.writeUInt32BE(seconds * movieScale, body + 8 + i * 12);
      p += size;
    }
  };
  walk(0, b.length);
  writeFileSync(dst, b);
}

/** An MP4 whose first track (the video) has every sample delta 0: all its frames at one time. */
function zeroDeltas(src: string, dst: string): void {
  const b = Buffer.from(readFileSync(src));
  let done = false;
  const walk = (start: number, end: number): void => {
    for (let p = start; p + 8 <= end && !done;) {
      const size = b.readUInt32BE(p);
      const type = b.toString('latin1', p + 4, p + 8);
      if (size < 8) return;
      if (['moov', 'trak', 'mdia', 'minf', 'stbl'].includes(type)) walk(p + 8, p + size);
      if (type === 'stts') {
        for (let i = 0; i < b.readUInt32BE(p + 12); i++) b.writeUInt32BE(0, p + 16 + i * 8 + 4);
        done = true;
      }
      p += size;
    }
  };
  walk(0, b.length);
  writeFileSync(dst, b);
}

/** An IVF whose every frame header says pts 0. */
function zeroIvfPts(src: string, dst: string): void {
  const b = Buffer.from(readFileSync(src));
  for (let p = b.readUInt16LE(6); p + 12 <= b.length; p += 12 + b.readUInt32LE(p)) b.writeBigUInt64LE(0n, p + 4);
  writeFileSync(dst, b);
}

/**
 * An Annex B H.264 stream whose SPS declares `mbs`x`mbs` macroblocks, everything else in it kept: the
 * SPS is unescaped, its fields read up to the picture size (Baseline, POC type 0 or 2, as x264 writes
 * it), the two sizes rewritten and the rest of its bits copied.
 */
function declareMacroblocks(src: string, dst: string, mbs: number): void {
  const b = readFileSync(src);
  const sps = b.indexOf(Buffer.from([0, 0, 0, 1, 0x67]));
  const end = b.indexOf(Buffer.from([0, 0, 1]), sps + 5);
  const rbsp: number[] = [];
  for (let i = sps + 5; i < end; i++) {
    if (i >= sps + 7 && b[i] === 3 && b[i - 1] === 0 && b[i - 2] === 0) continue;
    rbsp.push(b[i]!);
  }
  const bits = rbsp.flatMap((x) => [7, 6, 5, 4, 3, 2, 1, 0].map((k) => (x >> k) & 1));
  let at = 0;
  const u = (n: number): number[] => bits.slice(at, (at += n));
  const ue = (): number[] => {
    let zeros = 0;
    while (bits[at + zeros] === 0) zeros++;
    return u(zeros * 2 + 1);
  };
  const value = (code: number[]): number => parseInt(code.join(''), 2) - 1;
  const encode = (v: number): number[] => {
    const code = (v + 1).toString(2).split('').map(Number);
    return [...new Array<number>(code.length - 1).fill(0), ...code];
  };
  const head = [...u(24), ...ue(), ...ue()];
  const poc = ue();
  head.push(...poc);
  if (value(poc) === 0) head.push(...ue());
  else if (value(poc) !== 2) throw new Error('declareMacroblocks: POC type 1 not handled');
  head.push(...ue(), ...u(1));
  ue();
  ue();
  const out = [...head, ...encode(mbs - 1), ...encode(mbs - 1), ...bits.slice(at)];
  while (out.length % 8 !== 0) out.push(0);
  const bytes: number[] = [];
  for (let i = 0; i < out.length; i += 8) {
    const x = parseInt(out.slice(i, i + 8).join(''), 2);
    if (bytes.length >= 2 && bytes.at(-1) === 0 && bytes.at(-2) === 0 && x <= 3) bytes.push(3);
    bytes.push(x);
  }
  writeFileSync(dst, Buffer.concat([b.subarray(0, sps + 5), Buffer.from(bytes), b.subarray(end)]));
}

describe('hostile input files: the errors and warnings named; memory and time bounded where measured', () => {
  let oneSecond: string;
  let tenSeconds: string;

  beforeAll(async () => {
    oneSecond = await fixture('one-second.mp4', ['-f', 'lavfi', '-i', FLASH_SRC(1), '-f', 'lavfi', '-i', 'sine=d=1', '-c:v', 'libx264', '-c:a', 'aac', '-shortest']);
    tenSeconds = await fixture('ten-seconds-faststart.mp4', ['-f', 'lavfi', '-i', FLASH_SRC(10), '-f', 'lavfi', '-i', 'sine=d=10', '-c:v', 'libx264', '-c:a', 'aac', '-movflags', '+faststart']);
  }, 60_000);
  afterAll(() => undefined);

  it('a 1 s MP4 whose headers declare 10 h: its 1 s is exported (nothing built up to the declared end) and INPUT_TRUNCATED says so', async () => {
    const input = join(dir, 'declares-10h.mp4');
    declareDuration(oneSecond, input, 36_000);
    const out = join(dir, 'declares-10h-out.mp4');
    const r = await exportCli([input, '--output', out, '--transcode']);
    expect(r.code).toBe(0);
    expect(r.result!.status).toBe('COMPLETE');
    expect(r.result!.durationMs).toBeGreaterThan(950);
    expect(r.result!.durationMs).toBeLessThan(1100);
    expect(r.result!.warnings).toEqual([expect.objectContaining({ code: 'INPUT_TRUNCATED', input, atMs: expect.closeTo(1000, -2) as number })]);
    expect(r.result!.warnings[0]!.message).toContain('declares 36000.00 s');
    expect(r.stderr).toContain('warning: INPUT_TRUNCATED');
    expect(Number((await probe(out)).format.duration)).toBeLessThan(1.1);
    expect(r.rssMb).toBeLessThan(MAX_RSS_MB);
    expect(r.ms).toBeLessThan(MAX_MS);
  });

  it('a faststart MP4 cut to 30%: what is there is exported, INPUT_TRUNCATED names where the data ended', async () => {
    const whole = readFileSync(tenSeconds);
    const input = join(dir, 'cut-faststart.mp4');
    writeFileSync(input, whole.subarray(0, Math.floor(whole.length * 0.3)));
    const out = join(dir, 'cut-faststart-out.mp4');
    const r = await exportCli([input, '--output', out, '--transcode']);
    expect(r.code).toBe(0);
    expect(r.result!.status).toBe('COMPLETE');
    const w = r.result!.warnings;
    expect(w.map((x) => x.code)).toEqual(['INPUT_TRUNCATED']);
    expect(w[0]!.message).toContain('declares 10.00 s');
    const endedAt = w[0]!.atMs;
    expect(endedAt).toBeGreaterThan(1500);
    expect(endedAt).toBeLessThan(5000);
    // Not padded to the declared 10 s: at most the encoder's lookahead past where the data ended.
    expect(r.result!.durationMs).toBeGreaterThanOrEqual(endedAt - 100);
    expect(r.result!.durationMs).toBeLessThan(endedAt + 1000);
    expect(r.rssMb).toBeLessThan(MAX_RSS_MB);
  });

  it('a timestamp jump of +1 h in a file is closed up, counted and reported, never filled; copied too', async () => {
    const input = await fixture('jump-1h.mkv', ['-f', 'lavfi', '-i', FLASH_SRC(4), '-f', 'lavfi', '-i', 'sine=d=4',
      '-vf', 'setpts=PTS+if(gte(T\\,2)\\,3600/TB\\,0)', '-af', 'asetpts=PTS+if(gte(T\\,2)\\,3600/TB\\,0)', '-c:v', 'libx264', '-c:a', 'libopus']);
    for (const [name, extra] of [['jump-transcoded.mp4', ['--transcode']], ['jump-copied.mp4', []]] as const) {
      const out = join(dir, name);
      const r = await exportCli([input, '--output', out, ...extra]);
      expect(r.code).toBe(0);
      expect(r.result!.status).toBe('COMPLETE');
      expect(r.result!.durationMs).toBeGreaterThan(3800);
      expect(r.result!.durationMs).toBeLessThan(4200);
      expect(r.result!.warnings).toEqual([expect.objectContaining({ code: 'TIMESTAMP_JUMP', input })]);
      expect(r.result!.warnings[0]!.message).toMatch(/jumped once by more than limits.maxGap \(10 s\), first at [12]\.\d\d s by \+3600\.\d\d s/);
      const p = await probe(out);
      expect(Number(p.format.duration)).toBeLessThan(4.2);
      expect(frames(streamOf(p, 'video'))).toBeGreaterThanOrEqual(117);
      expect(r.rssMb).toBeLessThan(MAX_RSS_MB);
    }
  });

  it('a picture larger than limits.maxPixels (8192x8192 H.264) is refused up front, naming the file: no output', async () => {
    const input = await fixture('huge.h264', ['-f', 'lavfi', '-i', 'color=s=8192x8192:r=1:d=1', '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'h264']);
    const out = join(dir, 'huge.mp4');
    const r = await exportCli([input, '--output', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`INPUT_INVALID: input ${input}: its 8192x8192 video is larger than limits.maxPixels (35389440 pixels)`);
    expect(existsSync(out)).toBe(false);
    expect(r.rssMb).toBeLessThan(MAX_RSS_MB);
  }, 60_000);

  it('an SPS declaring 16384x16384 is refused by limits.maxPixels, naming the file; past a raised limit by the plan (no encoding that size) or, the size set, by the decoder, each naming the file and track', async () => {
    const small = await fixture('baseline.h264', ['-f', 'lavfi', '-i', FLASH_SRC(1), '-c:v', 'libx264', '-profile:v', 'baseline', '-f', 'h264']);
    const input = join(dir, 'declares-16384.h264');
    declareMacroblocks(small, input, 1024);
    const out = join(dir, 'declares-16384.mp4');
    const r = await exportCli([input, '--output', out, '--transcode']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`INPUT_INVALID: input ${input}: its 16384x16384 video is larger than limits.maxPixels (35389440 pixels)`);
    expect(existsSync(out)).toBe(false);
    expect(r.rssMb).toBeLessThan(MAX_RSS_MB);
    // A limit raised past it: the encoding would follow the input to 16384x16384, which avpipe does not
    // encode (8192 at most); refused before anything opens, naming the track and the fields to set.
    const raisedInit = { live: false, source: { type: 'file' as const, inputs: [{ path: input }] }, codecMode: 'transcode' as const, limits: { maxPixels: 16384 * 16384 }, outputs: [{ path: out }] };
    const raised = await createController(createPipelineConfig(raisedInit)).start();
    expect(raised.status).toBe('FAILED');
    expect(raised.error).toMatchObject({ code: 'INPUT_INVALID' });
    expect(raised.error!.message).toBe(`input ${input}, video track 1: the encoding taken from it cannot be made (encoding.width must be at most 8192, got 16384; encoding.height must be at most 8192, got 16384): set encoding.width and encoding.height to encode it`);
    // The size set: FFmpeg's decoder refuses a picture that large when it opens; the error says whose it is.
    const sized = await createController(createPipelineConfig({ ...raisedInit, encoding: { width: 1280, height: 720 } })).start();
    expect(sized.status).toBe('FAILED');
    expect(sized.error!.message).toMatch(new RegExp(`^input ${input}, video track 1: open h264 decoder: `));
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('an MP4 whose video sample deltas are all 0 (every frame at one time) is refused naming the file and track, copied or transcoded', async () => {
    const input = join(dir, 'zero-deltas.mp4');
    zeroDeltas(oneSecond, input);
    for (const extra of [[], ['--transcode']]) {
      const r = await exportCli([input, '--output', join(dir, 'zero-deltas-out.mp4'), ...extra]);
      expect(r.code).not.toBe(0);
      expect(r.result!.error).toMatchObject({ code: 'INPUT_INVALID' });
      expect(r.result!.error!.message).toMatch(new RegExp(`^input ${input}: its video track 1 has two packets at \\d\\.\\d\\d s: its timestamps repeat`));
      expect(r.rssMb).toBeLessThan(MAX_RSS_MB);
    }
  });

  it('an IVF whose every frame says pts 0 is refused naming the file and the frame (no division by a zero frame rate)', async () => {
    const vp8 = await fixture('vp8-15fps.ivf', ['-f', 'lavfi', '-i', FLASH_SRC(1, '160x120', 15), '-c:v', 'libvpx', '-f', 'ivf']);
    const input = join(dir, 'zero-pts.ivf');
    zeroIvfPts(vp8, input);
    const out = join(dir, 'zero-pts.webm');
    const r = await exportCli([input, '--output', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`INPUT_INVALID: input ${input}: corrupt IVF: frame 1 has pts 0, not after frame 0's 0 (timestamps must rise)`);
    expect(existsSync(out)).toBe(false);
  });

  it('a WebM cut where mediabunny\'s Matroska resync finds no element (865 bytes of this one) fails as INPUT_INVALID in bounded time, not a spinning core', async () => {
    const whole = await fixture('fuzz-vp8-opus.webm', ['-f', 'lavfi', '-i', 'testsrc2=s=160x120:r=15:d=1', '-f', 'lavfi', '-i', 'sine=d=1', '-c:v', 'libvpx', '-g', '5', '-c:a', 'libopus', '-shortest']);
    const input = join(dir, 'cut-865.webm');
    writeFileSync(input, readFileSync(whole).subarray(0, 865));
    const r = await exportCli([input, '--output', join(dir, 'cut-865-out.webm')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`INPUT_INVALID: input ${input}: corrupt or truncated: the demuxer kept reading bytes`);
    expect(r.ms).toBeLessThan(10_000);
  });

  it('what FFmpeg\'s demuxer would read as something else (a text file: ANSI art) or not at all (random bytes) is refused naming the file: no crash, no output', async () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'hello world\n'.repeat(8000));
    const noise = join(dir, 'noise.bin');
    writeFileSync(noise, Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 2654435761) >>> 24)));
    for (const input of [text, noise]) {
      const out = join(dir, `${input.endsWith('.txt') ? 'text' : 'noise'}-out.mp4`);
      const r = await exportCli([input, '--output', out]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`INPUT_INVALID: input ${input}: unknown or unsupported container`);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('an AVI cut to a third (read by FFmpeg\'s demuxer) exports every frame it still holds', async () => {
    const whole = await fixture('hostile-mpeg4.avi', ['-f', 'lavfi', '-i', FLASH_SRC(3, '160x120'), '-c:v', 'mpeg4', '-vtag', 'xvid']);
    const input = join(dir, 'cut.avi');
    const bytes = readFileSync(whole);
    writeFileSync(input, bytes.subarray(0, Math.floor(bytes.length / 3)));
    const out = join(dir, 'cut-avi.mp4');
    const r = await exportCli([input, '--output', out]);
    expect(r.result?.status).toBe('COMPLETE');
    // Every frame the cut file still holds, as ffprobe decodes it.
    const there = frames(streamOf(await probe(input), 'video'));
    expect(there).toBeGreaterThan(10);
    expect(frames(streamOf(await probe(out), 'video'))).toBe(there);
    expect(r.rssMb).toBeLessThan(MAX_RSS_MB);
  });

  it('40 MB of access unit delimiters (Annex B) is indexed in flat memory and refused: no SPS', async () => {
    const input = join(dir, 'aud-flood.h264');
    writeFileSync(input, Buffer.alloc(40 * 1024 * 1024 - (40 * 1024 * 1024) % 6).fill(Buffer.from([0, 0, 0, 1, 9, 0xf0])));
    const r = await exportCli([input, '--output', join(dir, 'aud.mp4')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`INPUT_INVALID: input ${input}: corrupt H.264 Annex B stream: no SPS`);
    expect(r.rssMb).toBeLessThan(200);
    expect(r.ms).toBeLessThan(MAX_MS);
  });
});
