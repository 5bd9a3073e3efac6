#!/usr/bin/env node
// W1: 60 s of 1280x720@30 test source -> H.264 x264 veryfast 3 Mbps main, keyframe every 2 s + Opus 128 kb/s
// -> MP4, non-live. avpipe against native ffmpeg, GStreamer and x264 alone, on the same frames, in the
// same run, alternating order. Wall time includes process start on every side. Run on an idle machine:
// `npm run bench` (needs Debian's ffmpeg, gstreamer1.0-tools + plugins, and GNU time).
import { execFileSync } from 'node:child_process';
import { createWriteStream, existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, have, machine, median, root, timed, work, writeResult } from './lib.mjs';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '3' }, duration: { type: 'string', default: '60' }, quick: { type: 'boolean', default: false } } });
const REPS = Number(values.reps);
const DURATION = Number(values.duration);
const W = 1280, H = 720, FPS = 30, RATE = 48000;

/** The test source's frames and samples as raw files, so every peer encodes exactly what avpipe encodes. */
async function writeRaw(seconds) {
  const { TestSource, createPipelineConfig } = await import(join(root, 'dist', 'index.js'));
  const yuv = join(work, `src-${seconds}s.yuv`);
  const pcm = join(work, `src-${seconds}s.f32`);
  const frameBytes = W * H * 3 / 2;
  if (existsSync(yuv) && statSync(yuv).size === frameBytes * seconds * FPS && existsSync(pcm)) return { yuv, pcm };
  const config = createPipelineConfig({ live: false, outputs: [{ path: 'x.mp4' }] });
  const src = new TestSource({ width: W, height: H, fps: FPS, sampleRate: RATE, channels: 2, duration: seconds });
  await src.prepare(config);
  const v = src.readable('test-video').getReader();
  const a = src.readable('test-audio').getReader();
  src.start();
  const write = async (path, next) => {
    const out = createWriteStream(path);
    for (let r = await next(); !r.done; r = await next()) {
      if (!out.write(r.value)) await new Promise((res) => out.once('drain', res));
    }
    await new Promise((res) => out.end(res));
  };
  const buf = new Uint8Array(frameBytes);
  await write(yuv, async () => {
    const r = await v.read();
    if (r.done) return r;
    await r.value.copyTo(buf);
    r.value.close();
    return { done: false, value: Buffer.from(buf) };
  });
  await write(pcm, async () => {
    const r = await a.read();
    if (r.done) return r;
    const [l, rr] = r.value.planes();
    const inter = new Float32Array(l.length * 2);
    for (let i = 0; i < l.length; i++) { inter[2 * i] = l[i]; inter[2 * i + 1] = rr[i]; }
    r.value.close();
    return { done: false, value: Buffer.from(inter.buffer) };
  });
  return { yuv, pcm };
}

/** avpipe's W1; `parallel`: its `--parallel` (the default, auto, splits the video encode over the cores). */
const avpipe = (seconds, parallel = 'auto') => () => timed(process.execPath, [CLI, 'record', '--source', 'test', '--duration', String(seconds), '--size', `${W}x${H}`, '--fps', String(FPS),
  '--video-codec', 'h264', '--h264-profile', 'main', '--video-bitrate', '3000', '--keyframe-interval', '2', '--speed-preset', 'veryfast',
  '--audio-codec', 'opus', '--audio-bitrate', '128', '--no-live', '--parallel', parallel, '--output', join(work, `avpipe-${parallel}.mp4`), '--json']);

const contenders = (raw, seconds) => ({
  avpipe: avpipe(seconds),
  'avpipe-p1': avpipe(seconds, '1'),
  ffmpeg: () => timed('ffmpeg', ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${W}x${H}`, '-r', String(FPS), '-i', raw.yuv,
    '-f', 'f32le', '-ar', String(RATE), '-ac', '2', '-i', raw.pcm,
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-b:v', '3M', '-g', String(2 * FPS), '-c:a', 'libopus', '-b:a', '128k', join(work, 'ffmpeg.mp4')]),
  gstreamer: () => timed('gst-launch-1.0', ['-q', '-e',
    'filesrc', `location=${raw.yuv}`, '!', 'rawvideoparse', `width=${W}`, `height=${H}`, 'format=i420', `framerate=${FPS}/1`, '!', 'queue', '!',
    'x264enc', 'speed-preset=veryfast', 'bitrate=3000', `key-int-max=${2 * FPS}`, '!', 'video/x-h264,profile=main', '!', 'h264parse', '!', 'queue', '!',
    'mp4mux', 'name=m', '!', 'filesink', `location=${join(work, 'gst.mp4')}`, 'async=false',
    'filesrc', `location=${raw.pcm}`, '!', 'rawaudioparse', 'format=pcm', 'pcm-format=f32le', `sample-rate=${RATE}`, 'num-channels=2', '!',
    'audioconvert', '!', 'queue', '!', 'opusenc', 'bitrate=128000', '!', 'queue', '!', 'm.']),
  // The peers with their own generators, as measured in shared research (not the same frames).
  'ffmpeg-lavfi': () => timed('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${W}x${H}:rate=${FPS}:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=1000:sample_rate=${RATE}:duration=${seconds}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-b:v', '3M', '-g', String(2 * FPS), '-pix_fmt', 'yuv420p',
    '-c:a', 'libopus', '-b:a', '128k', '-ac', '2', join(work, 'ffmpeg-lavfi.mp4')]),
  'gstreamer-testsrc': () => timed('gst-launch-1.0', ['-q', '-e',
    'videotestsrc', 'is-live=false', `num-buffers=${seconds * FPS}`, 'pattern=smpte', '!', `video/x-raw,format=I420,width=${W},height=${H},framerate=${FPS}/1`, '!', 'queue', '!',
    'x264enc', 'speed-preset=veryfast', 'bitrate=3000', `key-int-max=${2 * FPS}`, '!', 'video/x-h264,profile=main', '!', 'h264parse', '!', 'queue', '!',
    'mp4mux', 'name=m', '!', 'filesink', `location=${join(work, 'gst-testsrc.mp4')}`, 'async=false',
    'audiotestsrc', 'is-live=false', `num-buffers=${Math.ceil((seconds * RATE) / 1024)}`, 'samplesperbuffer=1024', 'wave=sine', '!', `audio/x-raw,rate=${RATE},channels=2`, '!',
    'queue', '!', 'opusenc', 'bitrate=128000', '!', 'queue', '!', 'm.']),
  x264alone: () => timed('ffmpeg', ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${W}x${H}`, '-r', String(FPS), '-i', raw.yuv,
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-b:v', '3M', '-g', String(2 * FPS), '-f', 'null', '-']),
});

function version(cmd, args, re) {
  try { return re.exec(execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }))?.[1] ?? 'unknown'; } catch { return null; }
}

const peersAvailable = { ffmpeg: have('ffmpeg'), gstreamer: have('gst-launch-1.0') };
const raw = await writeRaw(DURATION);
const runs = contenders(raw, DURATION);
const names = ['avpipe', 'avpipe-p1', ...(peersAvailable.ffmpeg ? ['ffmpeg', 'x264alone'] : []), ...(peersAvailable.gstreamer ? ['gstreamer'] : []),
  ...(values.quick ? [] : [...(peersAvailable.ffmpeg ? ['ffmpeg-lavfi'] : []), ...(peersAvailable.gstreamer ? ['gstreamer-testsrc'] : [])])];
const samples = Object.fromEntries(names.map((n) => [n, []]));
let avpipeResult;
for (let rep = 0; rep < REPS; rep++) {
  const order = names.map((_, i) => names[(i + rep) % names.length]);
  for (const name of order) {
    const r = runs[name]();
    samples[name].push({ wall: r.wall, cpu: r.cpu, rssMiB: r.rssMiB });
    if (name === 'avpipe') avpipeResult = JSON.parse(r.stdout);
    process.stderr.write(`rep ${rep + 1} ${name.padEnd(10)} ${r.wall.toFixed(2)} s  ${r.rssMiB.toFixed(0)} MiB\n`);
  }
}
const summary = Object.fromEntries(names.map((n) => {
  const walls = samples[n].map((s) => s.wall);
  const cpuS = median(samples[n].map((s) => s.cpu));
  // CPU per output frame: how the work would spread on more cores.
  return [n, { wallS: median(walls), cpuS, cpuMsPerFrame: (cpuS * 1000) / (DURATION * FPS), xRealtime: DURATION / median(walls), peakRssMiB: median(samples[n].map((s) => s.rssMiB)), walls }];
}));
const pairedRatio = (a, b) => median(samples[a].map((s, i) => s.wall / samples[b][i].wall));
const ratios = Object.fromEntries([
  ...names.filter((n) => n !== 'avpipe').map((n) => [`avpipe/${n}`, pairedRatio('avpipe', n)]),
  ...names.filter((n) => n !== 'avpipe' && n !== 'avpipe-p1').map((n) => [`avpipe-p1/${n}`, pairedRatio('avpipe-p1', n)]),
]);

// Memory is flat in duration: the same workload (split in two) at 10 s and 120 s.
const rssAt = {};
if (!values.quick) {
  for (const secs of [10, 120]) {
    const xs = [];
    for (let i = 0; i < 2; i++) xs.push(avpipe(secs, '2')().rssMiB);
    rssAt[`${secs}s`] = median(xs);
  }
}

// Live at 720p30: drops and queue levels when the encoder keeps up.
let live = null;
if (!values.quick) {
  const r = timed(process.execPath, [CLI, 'record', '--duration', '10', '--size', `${W}x${H}`, '--output', join(work, 'live.mp4'), '--json']);
  const res = JSON.parse(r.stdout);
  live = { wallS: r.wall, dropped: res.queues.reduce((n, q) => n + q.dropped, 0), maxLevel: Object.fromEntries(res.queues.map((q) => [q.name, q.maxLevel])), videoFrames: res.encoders[0].framesIn };
}

const report = {
  workload: `W1 ${DURATION} s ${W}x${H}@${FPS} -> H.264 veryfast main 3 Mb/s g${2 * FPS} + Opus 128k -> MP4, non-live`,
  date: new Date().toISOString(), machine: machine(),
  versions: { node: process.version, ffmpeg: version('ffmpeg', ['-version'], /ffmpeg version (\S+)/), gstreamer: version('gst-launch-1.0', ['--version'], /GStreamer (\S+)/) },
  reps: REPS, summary, ratios, rssAt, rssRatio120to10: rssAt['120s'] && rssAt['10s'] ? rssAt['120s'] / rssAt['10s'] : null, live,
  avpipeOutput: avpipeResult?.outputs?.[0], avpipeQueues: avpipeResult?.queues,
};
const out = writeResult('w1', report);

const row = (n) => `| ${n} | ${summary[n].wallS.toFixed(2)} s | ${summary[n].xRealtime.toFixed(2)}x | ${summary[n].cpuS.toFixed(2)} s (${summary[n].cpuMsPerFrame.toFixed(2)} ms/frame) | ${summary[n].peakRssMiB.toFixed(0)} MiB |`;
console.log(`\n${report.workload}; ${REPS} reps, medians\n\n| | wall | x realtime | CPU | peak RSS |\n|---|---|---|---|---|\n${names.map(row).join('\n')}`);
console.log(`\npaired ratios (median): ${Object.entries(ratios).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')}`);
if (report.rssRatio120to10 !== null) console.log(`avpipe peak RSS: 10 s ${rssAt['10s'].toFixed(0)} MiB, 120 s ${rssAt['120s'].toFixed(0)} MiB, ratio ${report.rssRatio120to10.toFixed(3)}`);
if (live) console.log(`live 720p30 10 s: ${live.videoFrames} frames, ${live.dropped} dropped, max queue level ${JSON.stringify(live.maxLevel)}`);
console.log(`\nwritten ${out}`);
if (!process.env.AVPIPE_BENCH_KEEP) for (const p of ['auto', '1']) rmSync(join(work, `avpipe-${p}.mp4`), { force: true });
