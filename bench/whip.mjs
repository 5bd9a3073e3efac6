// WHIP ingest benchmark (issue #5): how many concurrent 720p30 VP8 + Opus publishers one machine records
// at zero drops, passthrough (copied into WebM) and transcode (video re-encoded to H.264 in MP4), and
// the CPU each stream costs. The server is the built CLI (`avpipe serve --whip`) in its own process;
// the publishers (werift, sending a pre-encoded clip at 1x) run in another, so the server's CPU is
// read apart from theirs (/proc/PID/stat). Zero drops means, for every session: COMPLETE, no packet
// lost, nothing dropped by any queue, and every frame sent recorded.
// usage: npm run bench:whip -- [--counts 5,10,20] [--transcode-counts 1,2,3] [--modes passthrough,transcode] [--seconds 15] [--workers N]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, machine, root, work, writeResult } from './lib.mjs';

const { values } = parseArgs({ options: { counts: { type: 'string' }, modes: { type: 'string' }, seconds: { type: 'string' }, 'transcode-counts': { type: 'string' }, workers: { type: 'string' } } });
// The server's worker threads: the CLI's default, one per core, unless told (0: all on its main thread).
const workers = Number(values.workers ?? availableParallelism());
const workerArgs = ['--workers', String(workers)];
const seconds = Number(values.seconds ?? 15);
const modes = (values.modes ?? 'passthrough,transcode').split(',');
const counts = { passthrough: (values.counts ?? '5,10,20,25,30').split(',').map(Number), transcode: (values['transcode-counts'] ?? '1,2,3').split(',').map(Number) };
const FFMPEG = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg').path;
const TICK = 100; // USER_HZ: /proc times are in 1/100 s

const clip = join(work, `whip-clip-${seconds}s.webm`);
if (!existsSync(clip)) {
  execFileSync(FFMPEG, ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30:duration=${seconds}`, '-f', 'lavfi', '-i', `sine=f=440:sample_rate=48000:duration=${seconds}`,
    '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '2M', '-g', '60', '-c:a', 'libopus', '-b:a', '64k', '-ac', '2', clip]);
}

const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
/** CPU seconds (user + system) a process has used so far. */
const cpuOf = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / TICK;
};

async function run(mode, n) {
  const port = await freePort();
  const dir = join(work, `whip-${mode}-${n}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const output = mode === 'passthrough' ? ['--output', '{name}.webm'] : ['--output', '{name}.mp4', '--size', '1280x720', '--speed-preset', 'ultrafast'];
  const server = spawn(process.execPath, [CLI, 'serve', '--whip', '--listen', `127.0.0.1:${port}`, '--output-dir', dir, '--json', ...workerArgs, ...output], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  server.stdout.on('data', (d) => (out += d));
  server.stderr.on('data', (d) => (err += d));
  while (!err.includes('WHIP endpoint at')) await new Promise((r) => setTimeout(r, 50));
  const cpu0 = cpuOf(server.pid);
  const t0 = performance.now();
  const pubs = spawn(process.execPath, [join(root, 'bench', 'whip-publishers.mjs'), clip, `http://127.0.0.1:${port}`, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let pubOut = '';
  pubs.stdout.on('data', (d) => (pubOut += d));
  const pubCpu = { s: 0 };
  const sampler = setInterval(() => { try { pubCpu.s = cpuOf(pubs.pid); } catch { /* exited */ } }, 200);
  await new Promise((r) => pubs.on('exit', r));
  clearInterval(sampler);
  while (out.trim().split('\n').filter((l) => l !== '').length < n) await new Promise((r) => setTimeout(r, 100));
  const wallS = (performance.now() - t0) / 1000;
  const cpuS = cpuOf(server.pid) - cpu0;
  server.kill('SIGINT');
  await new Promise((r) => server.on('exit', r));
  const sent = JSON.parse(pubOut.trim());
  const sessions = out.trim().split('\n').map((l) => JSON.parse(l));
  const per = sessions.map((s) => {
    const v = s.source.tracks.find((t) => t.kind === 'video');
    const a = s.source.tracks.find((t) => t.kind === 'audio');
    const want = sent.find((x) => x.name === s.name).sent;
    const where = {};
    for (const q of s.queues) if (q.dropped > 0) where[q.name.includes('/') ? 'output-queue' : q.name] = q.dropped;
    for (const t of s.source.tracks) {
      if ((t.queue?.dropped ?? 0) > 0) where[`${t.kind}-outlet`] = t.queue.dropped;
      if (t.frames.framesDropped > 0) where[`${t.kind}-depacketizer`] = t.frames.framesDropped;
    }
    return {
      name: s.name, status: s.status, where,
      lost: s.source.tracks.reduce((k, t) => k + t.packets.lost, 0),
      dropped: s.queues.reduce((k, q) => k + q.dropped, 0) + s.source.tracks.reduce((k, t) => k + (t.queue?.dropped ?? 0) + t.frames.framesDropped, 0),
      videoFrames: v?.queue?.out ?? 0, videoSent: want.video, audioPackets: a?.queue?.out ?? 0, audioSent: want.audio,
    };
  });
  const zeroDrops = per.length === n && per.every((p) => p.status === 'COMPLETE' && p.lost === 0 && p.dropped === 0 && p.videoFrames === p.videoSent && p.audioPackets === p.audioSent);
  const r = {
    mode, publishers: n, zeroDrops, wallS: +wallS.toFixed(2), serverCpuS: +cpuS.toFixed(2),
    serverCpuPct: +((cpuS / wallS) * 100).toFixed(1), cpuPerStreamPct: +((cpuS / wallS / n) * 100).toFixed(2),
    publishersCpuPct: +((pubCpu.s / wallS) * 100).toFixed(1),
    lost: per.reduce((k, p) => k + p.lost, 0), dropped: per.reduce((k, p) => k + p.dropped, 0),
    framesShort: per.reduce((k, p) => k + (p.videoSent - p.videoFrames), 0),
    droppedWhere: per.reduce((acc, p) => {
      for (const [k, v] of Object.entries(p.where)) acc[k] = (acc[k] ?? 0) + v;
      return acc;
    }, {}),
  };
  process.stderr.write(`${mode} x${n}: ${zeroDrops ? 'zero drops' : 'DROPS'}; server ${r.serverCpuPct}% of a core (${r.cpuPerStreamPct}% per stream), publishers ${r.publishersCpuPct}%; lost ${r.lost}, dropped ${r.dropped} ${JSON.stringify(r.droppedWhere)}, frames short ${r.framesShort}\n`);
  rmSync(dir, { recursive: true, force: true });
  return r;
}

const results = [];
for (const mode of modes) {
  for (const n of counts[mode]) {
    const r = await run(mode, n);
    results.push(r);
    if (!r.zeroDrops) break;
  }
}
const best = Object.fromEntries(modes.map((m) => [m, Math.max(0, ...results.filter((r) => r.mode === m && r.zeroDrops).map((r) => r.publishers))]));
const path = writeResult(`whip-workers${workers}`, { machine: machine(), workers, seconds, clip: '1280x720 30 fps VP8 2 Mb/s (libvpx realtime) + Opus 64 kb/s', results, maxZeroDrop: best });
process.stderr.write(`max publishers at zero drops: ${JSON.stringify(best)}\nwritten ${path}\n`);
