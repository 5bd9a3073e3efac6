import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatProgress } from '../../src/cli/progress-bar.js';
import { parseExportArgs, parseRecordArgs } from '../../src/cli/args.js';
import { createPipelineConfig, type PipelineConfigInit } from '../../src/index.js';
import { decodeErrors, frames, probe, streamOf } from '../helpers/ffprobe.js';
import { avFixture } from '../helpers/fixtures.js';
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

describe('help where hands go (built CLI)', () => {
  it('--version prints the package\'s version, exit 0', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V', 'version']) {
      const r = await avpipe([flag]);
      expect(r).toMatchObject({ code: 0, stdout: `avpipe ${version}\n` });
    }
  });

  it('COMMAND --help and help COMMAND print that command\'s options only (and the shared ones where it takes them), exit 0', async () => {
    const exp = await avpipe(['export', '--help']);
    expect(exp.code).toBe(0);
    expect(exp.stdout).toMatch(/^usage: avpipe export INPUT\.\.\. --output PATH/);
    expect(exp.stdout).toContain('--start S, --end S');
    expect(exp.stdout).toContain('--segment-format F');
    expect(exp.stdout).not.toContain('--whip');
    expect(exp.stdout).not.toContain('--redis');
    expect((await avpipe(['help', 'export'])).stdout).toBe(exp.stdout);
    // -h anywhere among the command's arguments (before --).
    expect((await avpipe(['export', 'in.mp4', '-h'])).stdout).toBe(exp.stdout);
    const serve = await avpipe(['help', 'serve']);
    expect(serve.stdout).toContain('AVPIPE_WHIP_TOKEN');
    expect(serve.stdout).not.toContain('--start S');
    const repair = await avpipe(['repair', '--help']);
    expect(repair.code).toBe(0);
    expect(repair.stdout).toContain('.m3u8 (lists complete segments only)');
    expect(repair.stdout).not.toContain('options of all');
  });

  it('a mistyped command or option: exit 2, the one it looks like named', async () => {
    const cmd = await avpipe(['exprot', 'a.mp4']);
    expect(cmd.code).toBe(2);
    expect(cmd.stderr).toContain('avpipe: unknown command "exprot" (did you mean export?)');
    const opt = await avpipe(['export', 'a.mp4', '--outptu', 'b.mp4']);
    expect(opt.code).toBe(2);
    expect(opt.stderr).toContain('unknown option --outptu (did you mean --output?)');
    // Far from every option: no guess.
    const far = await avpipe(['record', '--zzzzzzzz']);
    expect(far.code).toBe(2);
    expect(far.stderr).toContain("Unknown option '--zzzzzzzz'");
    expect(far.stderr).not.toContain('did you mean');
  });
});

describe('logs (built CLI): --log-level and --log-format on every command, stderr only', () => {
  interface LogRecord { level: string; time: string; msg: string; event: string; code?: string; status?: string; mediaTimeMs?: number }
  const records = (stderr: string): LogRecord[] => stderr.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as LogRecord);

  it('json: one pino record per line (level name, ISO time, msg, the event\'s fields); stdout keeps the result', async () => {
    const r = await avpipe(['export', join(dir, 'nope.mkv'), '--output', join(dir, 'nope.mp4'), '--log-format', 'json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^FAILED: /);
    const [error, ...more] = records(r.stderr);
    expect(more).toEqual([]);
    expect(error).toMatchObject({ level: 'error', event: 'error', code: 'INPUT_INVALID' });
    expect(error!.msg).toContain('nope.mkv: no such file');
    expect(Number.isNaN(Date.parse(error!.time))).toBe(false);
    // The same run, pretty (the default): the line a person reads.
    expect((await avpipe(['export', join(dir, 'nope.mkv'), '--output', join(dir, 'nope.mp4')])).stderr).toBe(`avpipe: ${error!.msg}\n`);
  });

  it('debug adds progress records with rising media time and the result; silent says nothing, the exit code still tells', async () => {
    const out = join(dir, 'logged.mp4');
    const r = await avpipe(['record', '--source', 'test', '--duration', '3', '--size', '160x120', '--output', out, '--log-level=debug', '--log-format=json']);
    expect(r.code, r.stderr).toBe(0);
    const logged = records(r.stderr);
    const progress = logged.filter((l) => l.event === 'progress');
    expect(progress.length).toBeGreaterThanOrEqual(2); // once a second of a 3 s live run
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.mediaTimeMs!).toBeGreaterThan(progress[i - 1]!.mediaTimeMs!);
    expect(logged.at(-1)).toMatchObject({ level: 'debug', event: 'result', status: 'COMPLETE' });
    expect(frames(streamOf(await probe(out), 'video'))).toBe(90);
    // Pretty (the default) off a terminal: the same records as lines with their figures.
    const pretty = await avpipe(['record', '--source', 'test', '--duration', '2', '--size', '160x120', '--output', join(dir, 'logged-pretty.mp4'), '--log-level', 'debug']);
    expect(pretty.code, pretty.stderr).toBe(0);
    expect(pretty.stderr).toMatch(/^\[[#-]{30}\] +\d+% \d+\.\ds\/2\.0s /m);
    expect(pretty.stderr).toMatch(/^COMPLETE: 2\.\d\d s of media in \d+\.\d\d s \(\d\.\d\dx\)$/m);
    const silent = await avpipe(['export', join(dir, 'nope.mkv'), '--output', join(dir, 'nope.mp4'), '--log-level', 'silent']);
    expect(silent).toMatchObject({ code: 1, stderr: '' });
    expect(silent.stdout).toMatch(/^FAILED: /);
  });

  it('a value that is not one of the choices: exit 2, the choices named; every command\'s help lists both options', async () => {
    const level = await avpipe(['record', '--log-level', 'loud']);
    expect(level.code).toBe(2);
    expect(level.stderr).toContain('--log-level: "loud" is not one: silent | error | warn | info | debug');
    const format = await avpipe(['repair', 'x.mp4', '--log-format=yaml']);
    expect(format.code).toBe(2);
    expect(format.stderr).toContain('--log-format: "yaml" is not one: pretty | json');
    // With JSON logs asked for, refused arguments are a JSON record too (no help text).
    const json = await avpipe(['export', 'a.mp4', '--outptu', 'b.mp4', '--log-format', 'json']);
    expect(json.code).toBe(2);
    expect(records(json.stderr)).toMatchObject([{ level: 'error', event: 'refused', msg: 'invalid arguments' }]);
    expect(json.stderr).toContain('did you mean --output?');
    for (const command of ['record', 'export', 'serve', 'repair', 'worker', 'submit']) {
      const help = (await avpipe(['help', command])).stdout;
      expect(help, command).toContain('--log-level L');
      expect(help, command).toContain('--log-format F');
    }
  });
});

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
      // The file's own queue after the tee: every encoded packet of both tracks.
      expect.objectContaining({ name: `${path}-queue`, policy: 'block', dropped: 0, level: 0 }),
    ]);
    // 60 video packets and about 94 AAC packets went through the file's queue, all of them out.
    const fileQueue = (result['queues'] as { in: number; out: number }[])[2]!;
    expect(fileQueue.in).toBeGreaterThanOrEqual(60 + 90);
    expect(fileQueue.out).toBe(fileQueue.in);
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

/** Runs the CLI, sends `signals` (each after its delay in ms), resolves with its exit code and stdout. */
function signalled(args: string[], signals: [NodeJS.Signals, number][]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let at = 0;
  for (const [signal, delay] of signals) setTimeout(() => child.kill(signal), (at += delay));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('avpipe record: signals (built CLI)', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s stops a live recording gracefully: exit 0, a finalized file holding what was recorded', async (signal) => {
    const path = join(dir, `signal-${signal}.mp4`);
    const r = await signalled(['record', '--source', 'test', '--duration', '60', '--size', '320x240', '--output', path, '--json'], [[signal, 2500]]);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { status: string; outputs: { tracks: { kind: string; packets: number }[] }[] };
    expect(result.status).toBe('COMPLETE');
    // Stopped about 2.5 s in (start-up included): what was recorded is there and plays to its end.
    const p = await probe(path);
    const seconds = Number(p.format.duration);
    expect(seconds).toBeGreaterThan(1);
    expect(seconds).toBeLessThan(4);
    // Every frame the muxer took is in the file.
    expect(frames(streamOf(p, 'video'))).toBe(result.outputs[0]!.tracks.find((t) => t.kind === 'video')!.packets);
  });

  it('a second signal aborts the graceful stop: exit 130, and what was muxed is still a file that plays (over 1 s, no decode error)', async () => {
    // A stream output to a server that never answers holds the graceful stop (its queue gets 1.5 s to
    // drain): the second signal lands inside it.
    const hole = createServer((socket) => socket.on('error', () => undefined));
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    try {
      const path = join(dir, 'signal-twice.mp4');
      const url = `rtmp://127.0.0.1:${(hole.address() as AddressInfo).port}/live/x`;
      const r = await signalled(['record', '--source', 'test', '--duration', '60', '--size', '320x240', '--audio-codec', 'aac', '--output', path, '--output', url, '--json'], [['SIGTERM', 2500], ['SIGTERM', 300]]);
      expect(r.code, r.stderr).toBe(130);
      expect((JSON.parse(r.stdout) as { status: string }).status).toBe('ABORTED');
      expect(Number((await probe(path)).format.duration)).toBeGreaterThan(1);
      expect(await decodeErrors(path)).toBe('');
    } finally {
      hole.close();
    }
  });
});

describe('avpipe export (built CLI)', () => {
  it('exports a file made by ffmpeg, reports copy/transcode per track, and exits 0', async () => {
    const input = await avFixture('h264-aac.mp4', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac']);
    const path = join(dir, 'exported.webm');
    const r = await avpipe(['export', input, '--output', path, '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { status: string; live: boolean; tracks: { kind: string; mode: string }[]; queues: { dropped: number }[] };
    expect(result).toMatchObject({ status: 'COMPLETE', live: false, tracks: [{ kind: 'video', mode: 'transcode' }, { kind: 'audio', mode: 'transcode' }] });
    expect(result.queues.length).toBeGreaterThanOrEqual(2);
    expect(result.queues.every((q) => q.dropped === 0)).toBe(true);
    expect(frames(streamOf(await probe(path), 'video'))).toBe(120);
  });

  it('a missing input exits non-zero with a typed error naming it, and writes nothing', async () => {
    const path = join(dir, 'never-exported.mp4');
    const r = await avpipe(['export', join(dir, 'nope.mkv'), '--output', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('INPUT_INVALID');
    expect(r.stderr).toContain('nope.mkv: no such file');
    expect(existsSync(path)).toBe(false);
  });
});

describe('CLI pieces', () => {
  it('parses the documented flags into a config', () => {
    const r = parseRecordArgs(['--duration', '5', '--preset', 'H264_1080P_30', '--no-live', '--output', 'a.ogg']);
    expect(r).toMatchObject({ json: false, init: { live: false, source: { type: 'test', duration: 5 }, encoding: { preset: 'H264_1080P_30' }, outputs: [{ path: 'a.ogg' }] } });
    // An Ogg output holds audio only: with no video codec given, the config has none.
    expect(createPipelineConfig((r as { init: PipelineConfigInit }).init).encoding).toMatchObject({ videoCodec: null, audioCodec: 'opus' });
    expect(parseRecordArgs(['--size', 'big', '--output', 'a.mp4'])).toEqual({ problems: [{ field: '--size', message: 'must be WxH, got "big"' }] });
    expect(parseRecordArgs(['--parallel', '3', '--output', 'a.mp4'])).toMatchObject({ init: { parallel: 3 } });
    expect(parseRecordArgs(['--parallel', 'auto', '--output', 'a.mp4'])).toMatchObject({ init: { parallel: 'auto' } });
    expect(parseRecordArgs(['--parallel', 'two', '--output', 'a.mp4'])).toEqual({ problems: [{ field: '--parallel', message: 'must be auto or a whole number, got "two"' }] });
  });

  it('parses export inputs with offsets and the codec mode', () => {
    expect(parseExportArgs(['a.mp4', 'voice.ogg@1.5', '--copy', '--output', 'o.mp4'])).toMatchObject({
      init: { live: false, codecMode: 'copy', source: { type: 'file', inputs: [{ path: 'a.mp4' }, { path: 'voice.ogg', offset: 1.5 }] } },
    });
    expect(parseExportArgs(['--output', 'o.mp4'])).toEqual({ problems: [{ field: 'INPUT', message: 'at least one input file is required' }] });
    expect(parseExportArgs(['cam.h264', 'mic.ogg@0.2#right', '--input-fps', '25', '--output', 'o.mp4'])).toMatchObject({
      init: { source: { inputs: [{ path: 'cam.h264', fps: 25 }, { path: 'mic.ogg', offset: 0.2, route: 'right', fps: 25 }] } },
    });
  });

  it('parses repeated --rendition WxH[@KBPS][:NAME] into the ladder', () => {
    expect(parseRecordArgs(['--rendition', '1280x720@3000', '--rendition', '640x360:sd', '--output', 'a.m3u8'])).toMatchObject({
      init: { encoding: { renditions: [{ width: 1280, height: 720, videoBitrateKbps: 3000 }, { width: 640, height: 360, name: 'sd' }] } },
    });
    expect(parseRecordArgs(['--rendition', '720p', '--output', 'a.m3u8'])).toEqual({ problems: [{ field: '--rendition', message: 'must be WxH[@KBPS][:NAME], got "720p"' }] });
  });

  it('parses export --start and --end as the session span, refusing what is not seconds >= 0', () => {
    expect(parseExportArgs(['a.mp4', '--start', '2.5', '--end', '6', '--output', 'o.mp4'])).toMatchObject({ init: { source: { type: 'file', inputs: [{ path: 'a.mp4' }], start: 2.5, end: 6 } } });
    expect(parseExportArgs(['a.mp4', '--start=-1', '--end', '1:30', '--output', 'o.mp4'])).toEqual({
      problems: [{ field: '--start', message: 'must be seconds >= 0, got "-1"' }, { field: '--end', message: 'must be seconds >= 0, got "1:30"' }],
    });
  });

  it('draws a progress bar with speed', () => {
    const line = formatProgress({ status: 'ACTIVE', mediaTimeMs: 5000, frames: { video: 150, audio: 250 }, speed: 4.25, dropped: 0, bytes: 1, totalMs: 10_000, paused: false }, 10);
    expect(line).toBe('[#####-----]  50% 5.0s/10.0s 4.25x ETA 1.2s');
    expect(formatProgress({ status: 'ACTIVE', mediaTimeMs: 5000, frames: { video: 150, audio: 250 }, speed: 0.8, dropped: 0, bytes: 1, totalMs: 10_000, paused: true }, 10)).toBe('[#####-----]  50% 5.0s/10.0s 0.80x PAUSED');
    expect(formatProgress({ status: 'ACTIVE', mediaTimeMs: 1500, frames: { video: 45, audio: 75 }, speed: 1, dropped: 3, bytes: 1, totalMs: null, paused: false })).toBe('ACTIVE 1.5s 1.00x drops 3');
  });
});

describe('avpipe record with several outputs (built CLI)', () => {
  it('takes each output type from its path, one encode for all, and lists every output in --json', async () => {
    const out = join(dir, 'multi');
    const r = await avpipe(['record', '--source', 'test', '--duration', '3', '--size', '320x240', '--no-live',
      '--output', join(out, 'a.mp4'), '--output', join(out, 'hls', 'a.m3u8'), '--segment-duration', '1', '--segment-format', 'fmp4',
      '--output', join(out, 'th', 't_%03d.png'), '--thumbnail-interval', '1', '--thumbnail-size', '160x120', '--json']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as { outputs: Record<string, unknown>[]; encoders: unknown[] };
    expect(result.encoders.length).toBe(2);
    expect(result.outputs).toEqual([
      expect.objectContaining({ type: 'file', path: join(out, 'a.mp4'), exists: true }),
      expect.objectContaining({ type: 'segments', playlist: join(out, 'hls', 'a.m3u8'), format: 'fmp4', segmentCount: 3 }),
      expect.objectContaining({ type: 'images', format: 'png', width: 160, height: 120, count: 3 }),
    ]);
    expect(streamOf(await probe(join(out, 'a.mp4')), 'audio').codec_name).toBe('aac');
  });

  it('refuses a stream URL on a non-live export with exit code 2, before writing anything', async () => {
    const path = join(dir, 'never-written.mp4');
    const r = await avpipe(['record', '--source', 'test', '--duration', '1', '--no-live', '--output', path, '--output', 'rtmp://127.0.0.1/live/x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot ingest faster than realtime');
    expect(existsSync(path)).toBe(false);
  });
});

describe('avpipe record on a terminal (built CLI under script(1), a pseudo-terminal)', () => {
  it('pauses and resumes on p: the paused time is cut from the file, the result lists the pause', async () => {
    const path = join(dir, 'keys.mp4');
    const child = spawn('script', ['-qec', `${process.execPath} ${CLI} record --source test --duration 4 --size 160x120 --output ${path} --json`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const press = (ms: number): Promise<void> => new Promise((r) => setTimeout(() => r(void child.stdin.write('p')), ms));
    // Pressed once the run is going (the CLI starts in about a second), and again 1.5 s later.
    const started = Date.now();
    while (!existsSync(path) && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 50));
    await press(500);
    await press(1500);
    const code = await new Promise<number | null>((r) => child.on('close', r));
    child.stdin.end();
    expect(code).toBe(0);
    expect(out).toContain('paused (p resumes)');
    expect(out).toContain('resumed');
    const result = JSON.parse(out.slice(out.indexOf('\n{'))) as { status: string; pauses: { atMs: number; durationMs: number }[] };
    expect(result.status).toBe('COMPLETE');
    expect(result.pauses).toHaveLength(1);
    const cut = result.pauses[0]!.durationMs / 1000;
    expect(cut).toBeGreaterThan(1);
    expect(cut).toBeLessThan(2);
    expect(frames(streamOf(await probe(path), 'video'))).toBe(120 - Math.round(cut * 30));
  });
});
