import { execFile, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, createWriteStream, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { FFPROBE, decodeErrors, flashTimes, frames, packetSpan, probe, streamOf } from '../helpers/ffprobe.js';
import { BEEP_SRC, FFMPEG, FLASH_SRC, fixture } from '../helpers/fixtures.js';
import { describeNeeding, itNeeding } from '../helpers/peers.js';
import { tmpDir } from '../helpers/tmp.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const run = promisify(execFile);
const dir = tmpDir();

/** The top-level boxes of an MP4, in order. */
function topLevel(path: string): { type: string; bytes: Buffer }[] {
  const b = readFileSync(path);
  const boxes: { type: string; bytes: Buffer }[] = [];
  for (let at = 0; at + 8 <= b.length;) {
    let size = b.readUInt32BE(at);
    if (size === 1) size = Number(b.readBigUInt64BE(at + 8));
    boxes.push({ type: b.toString('latin1', at + 4, at + 8), bytes: b.subarray(at, at + size) });
    if (size < 8) break;
    at += size;
  }
  return boxes;
}
const topBoxes = (path: string): string[] => topLevel(path).map((b) => b.type);

/** A failed run's result as the CLI prints it with --json. */
interface FailedRun {
  status: string;
  error: { code: string; message: string };
  outputs: { exists: boolean; durationMs: number; segmentCount?: number }[];
}

/**
 * Records live onto a disk that fills (`extra` picks the output's options) and checks what every such
 * run must end as: exit 1, FAILED with a SINK_FAILED naming ENOSPC. Returns the result.
 */
async function recordUntilFull(path: string, extra: string[] = []): Promise<FailedRun> {
  const r = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(process.execPath, [CLI, 'record', '--source', 'test', '--duration', '40', '--size', '640x360', '--video-bitrate', '800', ...extra, '--output', path, '--json'], (err, stdout) => resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout }));
  });
  expect(r.code).toBe(1);
  const result = JSON.parse(r.stdout) as FailedRun;
  expect(result.status).toBe('FAILED');
  expect(result.error.code).toBe('SINK_FAILED');
  expect(result.error.message).toContain('ENOSPC');
  return result;
}

/**
 * Seeded kill moments, ms after the process starts, in [from, from + span): of five drawn, the
 * earliest, the middle one and the latest (each kill waits its moment in real time, and the suite
 * keeps to its 15 minutes; the five of earlier runs clustered, so the three keep their spread), or
 * the earliest and the latest (WebM and HLS, whose writers share the MP4's crash-safety tests).
 */
function killMoments(seed: number, from: number, span: number, count: 2 | 3 = 3): number[] {
  const drawn = Array.from({ length: 5 }, () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return from + (seed % span);
  }).sort((a, b) => a - b);
  return count === 3 ? [drawn[0]!, drawn[2]!, drawn[4]!] : [drawn[0]!, drawn[4]!];
}

/** Starts a live recording with the built CLI and kills it with SIGKILL `afterMs` after the start. */
async function killedRecording(path: string, afterMs: number, extra: string[] = []): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, 'record', '--source', 'test', '--duration', '120', '--size', '320x240', ...extra, '--output', path], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise((r) => setTimeout(r, afterMs));
  child.kill('SIGKILL');
  await exited;
  return (performance.now() - t0) / 1000;
}

function repair(path: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'repair', path, '--json'], (err, stdout, stderr) => resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout, stderr }));
  });
}

describe('crash-safe live MP4: written in fragments, finalized in place, repaired after SIGKILL', () => {
  // Seeded kill moments (ms after the process starts): start-up is about 0.5 s of them.
  const moments = killMoments(12345, 2000, 5000, 2);

  it.each(moments)('SIGKILL %i ms in: the file plays at least (elapsed - 3 s) as it is, and `avpipe repair` makes it a regular MP4 holding the same', async (ms) => {
    const path = join(dir, `killed-${ms}.mp4`);
    const elapsed = await killedRecording(path, ms);
    // As the killed recorder left it: a fragmented MP4 an independent reader plays.
    const before = await packetSpan(path, 'video');
    expect(before.end).toBeGreaterThanOrEqual(elapsed - 3);
    expect(await decodeErrors(path)).toBe('');
    const r = await repair(path);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { fragments: number; tracks: { handler: string; samples: number; durationUs: number }[] };
    expect(report.fragments).toBeGreaterThan(0);
    // A regular MP4 now: the moov (sample tables, no mvex) at the end, the fragments' boxes made free.
    const boxes = topBoxes(path);
    expect(boxes.at(-1)).toBe('moov');
    expect(boxes).not.toContain('moof');
    const moov = topLevel(path).at(-1)!.bytes;
    expect(moov.includes('mvex')).toBe(false);
    expect(moov.includes('stco') || moov.includes('co64')).toBe(true);
    const after = await packetSpan(path, 'video');
    expect(after.end).toBeGreaterThanOrEqual(elapsed - 3);
    expect(after.packets).toBe(report.tracks.find((t) => t.handler === 'vide')!.samples);
    // The same media: every packet an independent reader found in the killed file.
    expect(after.packets).toBe(before.packets);
    expect(await decodeErrors(path)).toBe('');
    // The flashes are still on their seconds.
    const flashes = await flashTimes(path);
    expect(flashes.length).toBeGreaterThanOrEqual(Math.floor(elapsed - 3));
    flashes.forEach((f, i) => expect(Math.abs(f - i)).toBeLessThan(0.034));
  }, 30_000);

  it('a normal stop finalizes the fragments into a regular MP4 in place (moov at the end, no moof), every frame kept', async () => {
    const path = join(dir, 'stopped.mp4');
    const r = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, [CLI, 'record', '--source', 'test', '--duration', '3', '--size', '320x240', '--output', path, '--json'], (err, stdout) => resolve({ code: err === null ? 0 : 1, stdout }));
    });
    expect(r.code).toBe(0);
    const boxes = topBoxes(path);
    expect(boxes[0]).toBe('ftyp');
    expect(boxes.at(-1)).toBe('moov');
    expect(boxes).not.toContain('moof');
    expect(boxes.filter((b) => b === 'mdat').length).toBeGreaterThan(1);
    expect((await packetSpan(path, 'video')).packets).toBe(90);
    expect(await decodeErrors(path)).toBe('');
  });

  it('repair refuses what it cannot repair, naming the file: exit 1, the file untouched', async () => {
    const path = join(dir, 'not-fragmented.mp4');
    const r0 = await new Promise<number>((resolve) => {
      execFile(process.execPath, [CLI, 'record', '--source', 'test', '--duration', '1', '--size', '320x240', '--no-live', '--output', path], (err) => resolve(err === null ? 0 : 1));
    });
    expect(r0).toBe(0);
    const bytes = readFileSync(path);
    const r = await repair(path);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${path} is not a fragmented MP4`);
    expect(readFileSync(path)).toEqual(bytes);
  });
});

describe('an export writes to a temporary name beside its path and renames it on success', () => {
  it('killed mid-run, the file already at its path is untouched; run to the end, it is replaced and nothing else is left', async () => {
    const outDir = join(dir, 'aside');
    mkdirSync(outDir);
    const path = join(outDir, 'export.mp4');
    const before = Buffer.from('an earlier export that must survive a failed one');
    writeFileSync(path, before);
    // A size limit makes writes go out as they come (not gathered into 4 MiB), so the kill finds some.
    const args = ['record', '--source', 'test', '--size', '1280x720', '--no-live', '--max-size', '1000000000', '--output', path];
    const child = spawn(process.execPath, [CLI, ...args, '--duration', '120'], { stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    // Well into the export (start-up is about 0.5 s), with megabytes already written aside.
    await new Promise((r) => setTimeout(r, 2500));
    child.kill('SIGKILL');
    await exited;
    expect(readFileSync(path)).toEqual(before);
    expect(readdirSync(outDir).sort()).toEqual(['.export.mp4.partial', 'export.mp4']);
    const r = await new Promise<number>((resolve) => execFile(process.execPath, [CLI, ...args, '--duration', '2'], (err) => resolve(err === null ? 0 : 1)));
    expect(r).toBe(0);
    expect((await packetSpan(path, 'video')).packets).toBe(60);
    // The partial file of the killed run is its own name, left for the user; the new run used it and renamed it.
    expect(readdirSync(outDir)).toEqual(['export.mp4']);
  }, 30_000);
});

/** Mounts a tmpfs of `size` at a new directory (needs root, as CI has); undefined where it cannot. */
function smallDisk(size: string, name = `disk-${size}`): string | undefined {
  const mnt = join(dir, name);
  try {
    execFileSync('mkdir', ['-p', mnt]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt], { stdio: 'ignore' });
    return mnt;
  } catch {
    return undefined;
  }
}
const disk = smallDisk('256k');
/** The full-disk tests need a tmpfs of their own (mount: root, as CI has). */
const NO_DISK = 'cannot mount a small tmpfs to fill (needs root)';

// At the file's level, not a describe's: a run filtered to other tests (-t) unmounts it too.
afterAll(() => {
  if (disk === undefined) return;
  try {
    execFileSync('umount', [disk]);
  } catch {
    // already gone
  }
});

describeNeeding(disk === undefined ? NO_DISK : null)('a full disk (ENOSPC on a 256 KiB tmpfs) keeps what was safe', () => {

  it('a live MP4: the run FAILS naming the path and ENOSPC, and the file keeps over 2 s, as long as the result reports, finalized and decoding cleanly', async () => {
    const path = join(disk!, 'full.mp4');
    const result = await recordUntilFull(path);
    expect(result.error.message).toContain(path);
    expect(result.outputs[0]!.exists).toBe(true);
    // A regular MP4 holding what the result says it holds, every frame decoding.
    expect(topBoxes(path).at(-1)).toBe('moov');
    const span = await packetSpan(path, 'video');
    expect(span.end).toBeGreaterThan(2);
    expect(Math.abs(span.end - result.outputs[0]!.durationMs / 1000)).toBeLessThan(0.1);
    expect(await decodeErrors(path)).toBe('');
  }, 60_000);
});

/** An EBML element's ID, size (-1: unknown) and where its data starts, read at `at` of `b`. */
function ebmlAt(b: Buffer, at: number): { id: number; size: number; data: number } {
  const width = (x: number): number => Math.clz32(x) - 23;
  const idWidth = width(b[at]!);
  const id = b.readUIntBE(at, idWidth);
  const sizeWidth = width(b[at + idWidth]!);
  let size = b[at + idWidth]! & (0xff >> sizeWidth);
  let ones = size === 0xff >> sizeWidth;
  for (let i = 1; i < sizeWidth; i++) {
    size = size * 256 + b[at + idWidth + i]!;
    ones &&= b[at + idWidth + i] === 0xff;
  }
  return { id, size: ones ? -1 : size, data: at + idWidth + sizeWidth };
}

const CLUSTER = 0x1f43b675;
const CUES = 0x1c53bb6b;

/** A WebM's segment (its declared size, where its data starts) and its children, read independently of avpipe. */
function webmLayout(path: string): { segmentSize: number; segmentData: number; fileSize: number; children: { id: number; at: number; size: number; data: number }[] } {
  const b = readFileSync(path);
  const ebml = ebmlAt(b, 0);
  const segment = ebmlAt(b, ebml.data + ebml.size);
  expect(segment.id).toBe(0x18538067);
  const children: { id: number; at: number; size: number; data: number }[] = [];
  for (let at = segment.data; at < b.length;) {
    const e = ebmlAt(b, at);
    children.push({ ...e, at });
    if (e.size < 0) break;
    at = e.data + e.size;
  }
  return { segmentSize: segment.size, segmentData: segment.data, fileSize: b.length, children };
}

/** The cluster positions (relative to the segment's data) that a WebM's Cues point at. */
function cueClusterPositions(path: string, cues: { data: number; size: number }): number[] {
  const b = readFileSync(path);
  const out: number[] = [];
  const walk = (from: number, to: number): void => {
    for (let at = from; at < to;) {
      const e = ebmlAt(b, at);
      if (e.id === 0xbb || e.id === 0xb7) walk(e.data, e.data + e.size);
      if (e.id === 0xf1) out.push(b.readUIntBE(e.data, e.size));
      at = e.data + e.size;
    }
  };
  walk(cues.data, cues.data + cues.size);
  return out;
}

/** A finalized WebM: a segment of the file's exact size ending with Cues that point at its clusters, a duration. */
async function expectFinalizedWebm(path: string): Promise<number> {
  const layout = webmLayout(path);
  expect(layout.segmentData + layout.segmentSize).toBe(layout.fileSize);
  const cues = layout.children.at(-1)!;
  expect(cues.id).toBe(CUES);
  const clusters = new Set(layout.children.filter((c) => c.id === CLUSTER).map((c) => c.at - layout.segmentData));
  const positions = cueClusterPositions(path, cues);
  expect(positions.length).toBeGreaterThan(0);
  for (const p of positions) expect(clusters.has(p)).toBe(true);
  const format = (await probe(path)).format;
  expect(format.duration).toBeDefined();
  return Number(format.duration);
}

describe('crash-safe live WebM: whole clusters on disk, repaired after SIGKILL', () => {
  const moments = killMoments(4242, 2000, 5000, 2);

  it.each(moments)('SIGKILL %i ms in: the file plays at least (elapsed - 3 s) as it is, and `avpipe repair` gives it its duration and cues', async (ms) => {
    const path = join(dir, `killed-${ms}.webm`);
    const elapsed = await killedRecording(path, ms);
    // As the killed recorder left it: complete clusters in a segment of unknown size, no cues yet.
    const left = webmLayout(path);
    expect(left.segmentSize).toBe(-1);
    expect(left.children.some((c) => c.id === CUES)).toBe(false);
    const before = await packetSpan(path, 'video');
    expect(before.end).toBeGreaterThanOrEqual(elapsed - 3);
    expect(await decodeErrors(path)).toBe('');
    const r = await repair(path);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { container: string; clusters: number; durationUs: number; cuePoints: number; rewritten: boolean; tracks: { kind: string; blocks: number; durationUs: number }[] };
    expect(report.container).toBe('webm');
    // avpipe's own file has room for its duration and seek head: finished in place, not copied.
    expect(report.rewritten).toBe(false);
    expect(report.clusters).toBe(webmLayout(path).children.filter((c) => c.id === CLUSTER).length);
    expect(report.cuePoints).toBeGreaterThanOrEqual(report.clusters);
    const duration = await expectFinalizedWebm(path);
    expect(Math.abs(duration - report.durationUs / 1e6)).toBeLessThan(0.002);
    const after = await packetSpan(path, 'video');
    expect(after.end).toBeGreaterThanOrEqual(elapsed - 3);
    expect(after.packets).toBe(report.tracks.find((t) => t.kind === 'video')!.blocks);
    expect(await decodeErrors(path)).toBe('');
    // Seeking lands on the keyframe starting the cluster at or before the point asked for.
    const middle = after.end / 2;
    const { stdout } = await run(FFPROBE, ['-v', 'error', '-read_intervals', `${middle}%+0.2`, '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', path]);
    const [pts, flags] = stdout.trim().split('\n')[0]!.split(',');
    expect(flags).toMatch(/^K/);
    expect(Number(pts)).toBeLessThanOrEqual(middle);
    expect(Number(pts)).toBeGreaterThan(middle - 2.1);
    const flashes = await flashTimes(path);
    expect(flashes.length).toBeGreaterThanOrEqual(Math.floor(elapsed - 3));
    flashes.forEach((f, i) => expect(Math.abs(f - i)).toBeLessThan(0.034));
    // Repairing it again refuses: it is finalized.
    const again = await repair(path);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${path} is already a finalized WebM`);
  }, 30_000);

  it('SIGTERM stops it gracefully: exit 0, a finalized WebM (segment size, duration, cues)', async () => {
    const path = join(dir, 'terminated.webm');
    const child = spawn(process.execPath, [CLI, 'record', '--source', 'test', '--duration', '120', '--size', '320x240', '--output', path], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 4000));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const duration = await expectFinalizedWebm(path);
    expect(duration).toBeGreaterThan(2);
    const span = await packetSpan(path, 'video');
    expect(Math.abs(span.end - duration)).toBeLessThan(0.05);
    expect(await decodeErrors(path)).toBe('');
  }, 30_000);
});

/**
 * Writes a WebM (VP8 + Opus) as ffmpeg writes one to a pipe: it cannot go back, so the segment has no
 * size, the Info no duration and there are no cues, nor room left for them. `extra` are muxer options.
 */
async function pipedWebm(path: string, seconds: number, extra: string[] = []): Promise<void> {
  const child = spawn(FFMPEG, ['-v', 'error', '-f', 'lavfi', '-i', FLASH_SRC(seconds), '-f', 'lavfi', '-i', BEEP_SRC(seconds),
    '-c:v', 'libvpx', '-b:v', '500k', '-c:a', 'libopus', ...extra, '-f', 'webm', 'pipe:1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await pipeline(child.stdout, createWriteStream(path));
  expect(await exited).toBe(0);
}

/** Makes every cluster's size unknown (8 bytes of ones), as a browser's MediaRecorder writes them. */
function unknownClusterSizes(path: string): void {
  const clusters = webmLayout(path).children.filter((c) => c.id === CLUSTER && c.data - c.at === 12);
  expect(clusters.length).toBeGreaterThan(1);
  const b = readFileSync(path);
  for (const c of clusters) b.fill(0xff, c.at + 5, c.data)[c.at + 4] = 0x01;
  writeFileSync(path, b);
}

describe('a WebM another muxer left unfinished (no room for a duration or cues): `avpipe repair` writes it finished through a copy', () => {
  it.each<[string, string[], boolean]>([
    ['ffmpeg to a pipe (a seek head with no entry for cues)', [], false],
    ['ffmpeg -live 1 to a pipe (no seek head at all)', ['-live', '1'], false],
    ['clusters of unknown size too, as a browser writes them', [], true],
  ])('%s, cut mid-cluster: a duration, cues at the clusters\' new places, every frame kept', async (_what, extra, unknownClusters) => {
    const outDir = mkdtempSync(join(dir, 'piped-'));
    const path = join(outDir, 'piped.webm');
    await pipedWebm(path, 4, extra);
    if (unknownClusters) unknownClusterSizes(path);
    // Cut as a kill would leave it: a cluster and a block half-written.
    truncateSync(path, Math.floor(statSync(path).size * 0.8));
    const left = webmLayout(path);
    expect(left.segmentSize).toBe(-1);
    expect(left.children.some((c) => c.id === CUES)).toBe(false);
    const before = await probe(path);
    expect(before.format.duration).toBeUndefined();
    expect(frames(streamOf(before, 'video'))).toBeGreaterThan(60);

    const r = await repair(path);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { container: string; clusters: number; durationUs: number; cuesSkipped: string | null; truncatedBytes: number; rewritten: boolean };
    expect(report).toMatchObject({ container: 'webm', rewritten: true, cuesSkipped: null });
    expect(report.truncatedBytes).toBeGreaterThan(0);
    // The copy took the file's name: no temporary file is left beside it.
    expect(readdirSync(outDir)).toEqual(['piped.webm']);
    // A segment of the file's size ending with cues that point at its clusters where they now are, and a duration.
    const duration = await expectFinalizedWebm(path);
    expect(report.clusters).toBe(webmLayout(path).children.filter((c) => c.id === CLUSTER).length);
    expect(Math.abs(duration - report.durationUs / 1e6)).toBeLessThan(0.002);
    const kept = Math.max((await packetSpan(path, 'video')).end, (await packetSpan(path, 'audio')).end);
    expect(Math.abs(duration - kept)).toBeLessThan(0.1);
    // Every frame the cut file held is still there, and decodes.
    const after = await probe(path);
    for (const kind of ['video', 'audio'] as const) expect(frames(streamOf(after, kind))).toBe(frames(streamOf(before, kind)));
    expect(await decodeErrors(path)).toBe('');
    const again = await repair(path);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${path} is already a finalized WebM`);
  }, 30_000);

  it('repaired through a symlink: the link stays a link, the file it points to is the one finished', async () => {
    const real = mkdtempSync(join(dir, 'piped-real-'));
    const links = mkdtempSync(join(dir, 'piped-links-'));
    const target = join(real, 'piped.webm');
    await pipedWebm(target, 4);
    const link = join(links, 'piped.webm');
    symlinkSync(target, link);
    const r = await repair(link);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ rewritten: true });
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(target);
    // The copy was made beside the target and took its name: nothing left in either directory.
    expect(readdirSync(real)).toEqual(['piped.webm']);
    expect(readdirSync(links)).toEqual(['piped.webm']);
    expect(Number((await probe(target)).format.duration)).toBeGreaterThan(3.5);
  }, 30_000);

  itNeeding(disk === undefined ? NO_DISK : null)('on a disk with no room for the copy: exit 1 naming the file, the file untouched, no temporary file left', async () => {
    const made = join(dir, 'piped-full.webm');
    await pipedWebm(made, 4);
    // More than half the disk: the copy cannot fit beside it.
    expect(statSync(made).size).toBeGreaterThan(256 * 1024);
    const mnt = smallDisk('512k', 'disk-piped')!;
    try {
      const path = join(mnt, 'piped.webm');
      copyFileSync(made, path);
      const r = await repair(path);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${path}: its finished copy could not be written, the file is left as it was`);
      expect(r.stderr).toContain('ENOSPC');
      expect(readFileSync(path)).toEqual(readFileSync(made));
      expect(readdirSync(mnt)).toEqual(['piped.webm']);
    } finally {
      execFileSync('umount', [mnt]);
    }
  }, 30_000);
});

/** Video packets ffprobe counts in a file or playlist (packetSpan's rows count MPEG-TS's blank ones too). */
async function videoPackets(path: string): Promise<number> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-count_packets', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', path]);
  return Number(stdout.trim().split('\n')[0]);
}

/** An HLS playlist's segment URIs and its EXTINF total (s), and whether it is closed. */
function playlistOf(path: string): { uris: string[]; seconds: number; ended: boolean } {
  const lines = readFileSync(path, 'utf8').split('\n');
  return {
    uris: lines.filter((l) => l !== '' && !l.startsWith('#')),
    seconds: lines.filter((l) => l.startsWith('#EXTINF:')).reduce((n, l) => n + Number(l.slice(8).split(',')[0]), 0),
    ended: lines.includes('#EXT-X-ENDLIST'),
  };
}

describe('crash-safe live HLS: the playlist lists complete segments only, closed by `avpipe repair` after SIGKILL', () => {
  // From 3 s: the first segment is written about 2 s in, and before it there is no playlist.
  const moments = killMoments(777, 3000, 4000, 2);

  it.each(moments)('SIGKILL %i ms in: every listed segment is complete, at least (elapsed - 3 s) of them; repair closes the playlist', async (ms) => {
    const outDir = join(dir, `hls-${ms}`);
    mkdirSync(outDir);
    const path = join(outDir, 'rec.m3u8');
    // A segment is listed once it is whole, so what a kill loses is the segment being made and the
    // start-up: segments (and keyframes) of 1 s keep that within the 3 s (of 4 s segments, 4 s can be lost).
    const elapsed = await killedRecording(path, ms, ['--segment-duration', '1', '--keyframe-interval', '1']);
    const left = playlistOf(path);
    expect(left.ended).toBe(false);
    expect(left.seconds).toBeGreaterThanOrEqual(elapsed - 3);
    // Each listed segment is whole: it decodes cleanly and holds its 1 s (30 frames).
    for (const uri of left.uris) {
      expect(await decodeErrors(join(outDir, uri))).toBe('');
      expect(await videoPackets(join(outDir, uri))).toBe(30);
    }
    const r = await repair(path);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { container: string; segments: number; missing: string[]; removed: string[] };
    expect(report).toMatchObject({ container: 'hls', segments: left.uris.length, missing: [] });
    expect(readdirSync(outDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const closed = playlistOf(path);
    expect(closed.ended).toBe(true);
    expect(closed.uris).toEqual(left.uris);
    // Closed, it is a finished recording to any reader.
    const span = await packetSpan(path, 'video');
    expect(span.end - span.start).toBeGreaterThanOrEqual(elapsed - 3 - 0.05);
    expect(await videoPackets(path)).toBe(30 * left.uris.length);
  }, 30_000);
});

describeNeeding(disk === undefined ? NO_DISK : null)('a full disk (ENOSPC on 256 KiB tmpfs) keeps what was safe: WebM and HLS', () => {
  const mounts: string[] = [];
  afterAll(() => {
    for (const m of mounts) {
      try {
        execFileSync('umount', [m]);
      } catch {
        // already gone
      }
    }
  });
  it('a live WebM: the run FAILS naming the path and ENOSPC, and the file keeps over 2 s, as long as the result reports, finalized with its duration (and cues when they fit), decoding cleanly', async () => {
    const mnt = smallDisk('256k', 'disk-webm')!;
    mounts.push(mnt);
    const path = join(mnt, 'full.webm');
    const result = await recordUntilFull(path);
    expect(result.error.message).toContain(path);
    expect(result.outputs[0]!.exists).toBe(true);
    expect(readdirSync(mnt)).toEqual(['full.webm']);
    // Cues go after the media: on a disk filled to the last byte there may be no room for them (a WebM
    // without cues plays; it seeks less well). Either way the segment ends where the file does.
    const layout = webmLayout(path);
    const duration = layout.children.at(-1)!.id === CUES ? await expectFinalizedWebm(path) : Number((await probe(path)).format.duration);
    expect(layout.segmentData + layout.segmentSize).toBe(layout.fileSize);
    const span = await packetSpan(path, 'video');
    expect(span.end).toBeGreaterThan(2);
    expect(Math.abs(span.end - result.outputs[0]!.durationMs / 1000)).toBeLessThan(0.1);
    expect(Math.abs(duration - span.end)).toBeLessThan(0.1);
    expect(await decodeErrors(path)).toBe('');
  }, 60_000);

  it('HLS: the run FAILS naming the segment and ENOSPC; every finished segment is kept and listed, the playlist closed, no partial or temporary file left', async () => {
    const mnt = smallDisk('256k', 'disk-hls')!;
    mounts.push(mnt);
    const path = join(mnt, 'rec.m3u8');
    const result = await recordUntilFull(path, ['--segment-duration', '1']);
    expect(result.error.message).toMatch(new RegExp(`${mnt}/rec(_\\d{5}\\.ts|\\.m3u8)`));
    const playlist = playlistOf(path);
    expect(playlist.ended).toBe(true);
    expect(playlist.uris.length).toBe(result.outputs[0]!.segmentCount);
    expect(playlist.uris.length).toBeGreaterThanOrEqual(2);
    // On disk: the playlist and exactly the segments it lists, each complete and not empty.
    expect(readdirSync(mnt).sort()).toEqual(['rec.m3u8', ...playlist.uris].sort());
    for (const uri of playlist.uris) {
      expect(statSync(join(mnt, uri)).size).toBeGreaterThan(0);
      expect(await decodeErrors(join(mnt, uri))).toBe('');
    }
    expect(await videoPackets(path)).toBe(30 * playlist.uris.length);
    expect(Math.abs(playlist.seconds - result.outputs[0]!.durationMs / 1000)).toBeLessThan(0.01);
  }, 60_000);
});

describe('an MP4 remux onto a disk that fills (ENOSPC on a 1 MiB tmpfs)', () => {
  const small = smallDisk('1m', 'disk-remux');
  afterAll(() => {
    if (small !== undefined) execFileSync('umount', [small]);
  });

  itNeeding(small === undefined ? NO_DISK : null)('FAILS naming the path and ENOSPC, leaves no partial file, and the path keeps what it held', async () => {
    // More than one 8 MiB block: the disk fills while the next block is read.
    const input = await fixture('remux-12mb.mp4', ['-f', 'lavfi', '-i', FLASH_SRC(10, '1280x720'), '-f', 'lavfi', '-i', BEEP_SRC(10),
      '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '10M', '-pix_fmt', 'yuv420p', '-c:a', 'aac']);
    expect(statSync(input).size).toBeGreaterThan(9 * 2 ** 20);
    const out = join(small!, 'export.mp4');
    writeFileSync(out, 'what the user had');
    const { createController, createPipelineConfig } = await import('../../src/index.js');
    const r = await createController(createPipelineConfig({ live: false, source: { type: 'file', inputs: [{ path: input }] }, outputs: [{ path: out }] })).start();
    expect(r.remux).toEqual({ used: true, reason: null });
    expect(r.status).toBe('FAILED');
    expect(r.error?.code).toBe('SINK_FAILED');
    expect(r.error?.message).toContain('ENOSPC');
    expect(r.error?.message).toContain(out);
    expect(readdirSync(small!)).toEqual(['export.mp4']);
    expect(readFileSync(out, 'utf8')).toBe('what the user had');
  });
});
