import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeErrors, flashTimes, packetSpan } from '../helpers/ffprobe.js';
import { tmpDir } from '../helpers/tmp.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
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

/** Starts a live MP4 recording with the built CLI and kills it with SIGKILL `afterMs` after the start. */
async function killedRecording(path: string, afterMs: number): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, 'record', '--source', 'test', '--duration', '120', '--size', '320x240', '--output', path], { stdio: 'ignore' });
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
  let seed = 12345;
  const moments = Array.from({ length: 5 }, () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return 2000 + (seed % 6000);
  });

  it.each(moments)('SIGKILL %i ms in: the file plays at least (elapsed - 3 s) as it is, and `avpipe repair` makes it a regular MP4 holding the same', async (ms) => {
    const path = join(dir, `killed-${ms}.mp4`);
    const elapsed = await killedRecording(path, ms);
    // As the killed recorder left it: a fragmented MP4 an independent reader plays.
    const before = await packetSpan(path, 'video');
    expect(before.end).toBeGreaterThanOrEqual(elapsed - 3);
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
function smallDisk(size: string): string | undefined {
  const mnt = join(dir, `disk-${size}`);
  try {
    execFileSync('mkdir', ['-p', mnt]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mnt], { stdio: 'ignore' });
    return mnt;
  } catch {
    return undefined;
  }
}
const disk = smallDisk('512k');
if (disk === undefined) process.stderr.write('ENOSPC test skipped: cannot mount a tmpfs (needs root)\n');

describe.skipIf(disk === undefined)('a full disk (ENOSPC on a 512 KiB tmpfs) keeps what was safe', () => {
  afterAll(() => {
    try {
      execFileSync('umount', [disk!]);
    } catch {
      // already gone
    }
  });

  it('a live MP4: the run FAILS naming the path and ENOSPC, and the file keeps every complete fragment, finalized', async () => {
    const path = join(disk!, 'full.mp4');
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, 'record', '--source', 'test', '--duration', '40', '--size', '320x240', '--video-bitrate', '800', '--output', path, '--json'], (err, stdout, stderr) => resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout, stderr }));
    });
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout) as { status: string; error: { code: string; message: string }; outputs: { exists: boolean; durationMs: number }[] };
    expect(result.status).toBe('FAILED');
    expect(result.error.code).toBe('SINK_FAILED');
    expect(result.error.message).toContain(path);
    expect(result.error.message).toContain('ENOSPC');
    expect(result.outputs[0]!.exists).toBe(true);
    // A regular MP4 holding what the result says it holds, every frame decoding.
    expect(topBoxes(path).at(-1)).toBe('moov');
    const span = await packetSpan(path, 'video');
    expect(span.end).toBeGreaterThan(5);
    expect(Math.abs(span.end - result.outputs[0]!.durationMs / 1000)).toBeLessThan(0.1);
    expect(await decodeErrors(path)).toBe('');
  }, 60_000);
});
