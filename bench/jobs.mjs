#!/usr/bin/env node
// Jobs on BullMQ and a real Redis, all on this machine: (1) throughput, jobs per minute of short exports
// with 1, 2 and 3 `avpipe worker` processes; (2) a distributed export (60 s 720p test source in 3 chunk
// jobs over 3 worker processes) against the same export split locally into the same 3 chunks, against
// `--parallel auto`, and against the ffmpeg CLI with its own generator. The workers share this machine's
// cores, so a distributed export cannot beat the local one here: the CPU-seconds per frame say what it
// would do on more machines, and its wall time against the local split is the distribution's overhead
// (submit, chunk files through storage, join). Needs Debian's redis-server and ffmpeg. `npm run bench:jobs`.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, have, machine, median, root, timed, work, writeResult } from './lib.mjs';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '3' }, jobs: { type: 'string', default: '12' } } });
const REPS = Number(values.reps);
const JOBS = Number(values.jobs);
if (!have('redis-server')) throw new Error('redis-server is needed: apt-get install redis-server');
const { createJobQueue } = await import(join(root, 'dist', 'jobs', 'index.js'));
const TICK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

const freePort = () => new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});

async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout.on('data', (d) => d.toString().includes('Ready to accept') && resolve()));
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

/** `n` worker processes on `queue`, ready. */
async function startWorkers(redis, queue, n) {
  const procs = [];
  for (let i = 0; i < n; i++) {
    const p = spawn(process.execPath, [CLI, 'worker', '--redis', redis, '--queue', queue, '--json'], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((resolve) => p.stdout.on('data', (d) => d.toString().includes('"ready"') && resolve()));
    procs.push(p);
  }
  return procs;
}
const stopAll = (procs) => Promise.all(procs.map((p) => new Promise((resolve) => { p.once('exit', resolve); p.kill('SIGTERM'); })));
/** A process's /proc/PID/stat fields after its name. */
const statOf = (pid) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
/** Its live children (the processes its jobs run in). */
const childrenOf = (pid) => readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
/**
 * CPU-seconds (user + system) a worker has used so far, its jobs' processes included: its own, its
 * ended children's (reaped: cutime/cstime) and its live children's.
 */
const cpuOf = (pid) => {
  const f = statOf(pid);
  let ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  for (const c of childrenOf(pid)) {
    try {
      const g = statOf(c);
      ticks += Number(g[11]) + Number(g[12]);
    } catch {
      // Ended between the two reads: counted in cutime from now on.
    }
  }
  return ticks / TICK;
};
/** A process's own CPU-seconds (user + system), or undefined once it is gone. */
const ownCpuOf = (pid) => {
  try {
    const f = statOf(pid);
    return (Number(f[11]) + Number(f[12])) / TICK;
  } catch {
    return undefined;
  }
};
/**
 * The highest load (cores, one-second samples) each of `procs` shows until `stop()`: the worker's
 * own CPU and each live child's since it was last seen, as the worker's LoadMonitor samples it (a
 * child's last second before it ends is not counted; reaped children's totals are not read, so a
 * reaping between two reads cannot count a job twice).
 */
function sampleLoad(procs) {
  const peak = procs.map(() => 0);
  const read = (pid) => ({ own: ownCpuOf(pid) ?? 0, children: new Map(childrenOf(pid).map((c) => [c, ownCpuOf(c)]).filter(([, v]) => v !== undefined)) });
  let last = procs.map((p) => read(p.pid));
  let at = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const cur = procs.map((p) => read(p.pid));
    cur.forEach((c, i) => {
      let used = c.own - last[i].own;
      for (const [pid, cpu] of c.children) used += cpu - (last[i].children.get(pid) ?? 0);
      peak[i] = Math.max(peak[i], used / ((now - at) / 1000));
    });
    last = cur;
    at = now;
  }, 1000);
  return () => { clearInterval(timer); return peak; };
}
const ownRssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
/** A worker's RSS with its children's (the job process it keeps started ahead), in MiB. */
const rssMiB = (pid) => ownRssMiB(pid) + childrenOf(pid).reduce((s, c) => { try { return s + ownRssMiB(c); } catch { return s; } }, 0);

const redis = await startRedis();
const out = join(work, 'jobs');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
let queueN = 0;

// (1) Throughput: JOBS short exports (10 s of 640x360 test source, non-live, one encoder thread each).
const throughput = {};
const peakLoads = [];
for (const n of [1, 2, 3]) {
  const rates = [];
  const cpus = [];
  for (let rep = 0; rep < REPS; rep++) {
    const name = `tp-${queueN++}`;
    const procs = await startWorkers(redis.url, name, n);
    const queue = await createJobQueue({ connection: redis.url, name });
    const cpu0 = procs.map((p) => cpuOf(p.pid));
    const stopSampling = sampleLoad(procs);
    const t0 = performance.now();
    const handles = await Promise.all(Array.from({ length: JOBS }, (_, i) => queue.submit({ live: false, parallel: 1, source: { type: 'test', duration: 10 }, encoding: { width: 640, height: 360 }, outputs: [{ path: join(out, `tp-${n}-${i}.mp4`) }] })));
    const results = await Promise.all(handles.map((h) => h.result()));
    const wallS = (performance.now() - t0) / 1000;
    // Reaped by then: a job's process ends as its result is sent.
    await new Promise((r) => setTimeout(r, 300));
    peakLoads.push(...stopSampling());
    if (!results.every((r) => r.status === 'COMPLETE')) throw new Error('a throughput job did not complete');
    const cpuS = procs.reduce((s, p, i) => s + cpuOf(p.pid) - cpu0[i], 0);
    rates.push((JOBS / wallS) * 60);
    cpus.push(cpuS / JOBS);
    process.stderr.write(`throughput ${n} worker(s) rep ${rep + 1}: ${JOBS} jobs in ${wallS.toFixed(2)} s = ${((JOBS / wallS) * 60).toFixed(1)} jobs/min, ${(cpuS / JOBS).toFixed(2)} CPU-s/job\n`);
    await queue.close();
    await stopAll(procs);
  }
  throughput[`${n}`] = { jobsPerMin: median(rates), cpuSPerJob: median(cpus), rates };
}

// (2) A distributed export against the local split, --parallel auto and ffmpeg: 60 s 1280x720@30, W1's encoding.
const SECS = 60, FRAMES = SECS * 30;
const enc = ['--size', '1280x720', '--fps', '30', '--video-codec', 'h264', '--h264-profile', 'main', '--video-bitrate', '3000', '--keyframe-interval', '2', '--speed-preset', 'veryfast', '--audio-codec', 'opus', '--audio-bitrate', '128'];
const name = `dist-${queueN++}`;
const procs = await startWorkers(redis.url, name, 3);
await new Promise((r) => setTimeout(r, 1000));
const idleRssBefore = procs.map((p) => rssMiB(p.pid));
const queue = await createJobQueue({ connection: redis.url, name });
const store = join(out, 'store');
mkdirSync(store, { recursive: true });
const contenders = {
  distributed: async () => {
    const cpu0 = procs.map((p) => cpuOf(p.pid));
    const t0 = performance.now();
    const h = await queue.submit({ live: false, source: { type: 'test', duration: SECS }, encoding: { width: 1280, height: 720, fps: 30, videoCodec: 'h264', h264Profile: 'main', videoBitrateKbps: 3000, keyframeInterval: 2, speedPreset: 'veryfast', audioCodec: 'opus', audioBitrateKbps: 128 }, outputs: [{ path: join(out, 'distributed.mp4') }], storage: { storage: { type: 'local', dir: store } } }, { distributed: { chunks: 3 } });
    const r = await h.result();
    const wall = (performance.now() - t0) / 1000;
    if (r.status !== 'COMPLETE' || r.chunks.length !== 3) throw new Error(`distributed: ${r.status}, ${r.chunks.length} chunks`);
    return { wall, cpu: procs.reduce((s, p, i) => s + cpuOf(p.pid) - cpu0[i], 0), workers: new Set(r.chunks.map((c) => c.worker)).size };
  },
  'local-split-3': async () => timed(process.execPath, [CLI, 'record', '--source', 'test', '--duration', String(SECS), ...enc, '--no-live', '--parallel', '3', '--output', join(out, 'local-3.mp4'), '--json']),
  'local-auto': async () => timed(process.execPath, [CLI, 'record', '--source', 'test', '--duration', String(SECS), ...enc, '--no-live', '--parallel', 'auto', '--output', join(out, 'local-auto.mp4'), '--json']),
  ...(have('ffmpeg') ? { 'ffmpeg-lavfi': async () => timed('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30:duration=${SECS}`, '-f', 'lavfi', '-i', `sine=frequency=1000:sample_rate=48000:duration=${SECS}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-b:v', '3M', '-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'libopus', '-b:a', '128k', '-ac', '2', join(out, 'ffmpeg.mp4')]) } : {}),
};
const names = Object.keys(contenders);
const samples = Object.fromEntries(names.map((n) => [n, []]));
for (let rep = 0; rep < REPS; rep++) {
  for (const n of names.map((_, i) => names[(i + rep) % names.length])) {
    const r = await contenders[n]();
    samples[n].push(r);
    process.stderr.write(`rep ${rep + 1} ${n.padEnd(14)} ${r.wall.toFixed(2)} s  ${r.cpu.toFixed(1)} CPU-s\n`);
  }
}
// A second for the last job's process to end and the spare to be started behind it; then past the
// 30 s after which an idle worker lets its spare go.
await new Promise((r) => setTimeout(r, 1000));
const idleRssAfter = procs.map((p) => rssMiB(p.pid));
await new Promise((r) => setTimeout(r, 32_000));
const idleRssLater = procs.map((p) => rssMiB(p.pid));
await queue.close();
await stopAll(procs);
redis.stop();

const paired = (a, b) => median(samples[a].map((s, i) => s.wall / samples[b][i].wall));
const summary = Object.fromEntries(names.map((n) => [n, { wallS: median(samples[n].map((s) => s.wall)), cpuS: median(samples[n].map((s) => s.cpu)), cpuMsPerFrame: (median(samples[n].map((s) => s.cpu)) * 1000) / FRAMES, walls: samples[n].map((s) => s.wall) }]));
const report = {
  workload: `jobs: ${JOBS} exports of 10 s 640x360 per throughput run; distributed: ${SECS} s 1280x720@30 H.264 veryfast 3 Mb/s + Opus, 3 chunk jobs on 3 worker processes, chunks through a local-directory storage`,
  machine: machine(),
  reps: REPS,
  throughput,
  distributed: summary,
  ratios: Object.fromEntries(names.filter((n) => n !== 'distributed').map((n) => [`distributed/${n}`, paired('distributed', n)])),
  overheadVsLocalSplit: paired('distributed', 'local-split-3') - 1,
  idleWorkerRssMiB: { beforeJobs: idleRssBefore, afterJobs: idleRssAfter, idle30sAfterJobs: idleRssLater },
  // Each throughput worker's highest one-second load: its capacity is --max-cpu (0.8) x the cores; a job costs 1 core.
  admission: { capacityCores: 0.8 * machine().cpus, jobCostCores: 1, peakLoadCores: Math.max(...peakLoads), peakLoads },
};
process.stderr.write(`${JSON.stringify({ throughput: Object.fromEntries(Object.entries(throughput).map(([k, v]) => [k, v.jobsPerMin.toFixed(1)])), ratios: report.ratios, overhead: report.overheadVsLocalSplit, idle: report.idleWorkerRssMiB, peakLoad: report.admission.peakLoadCores }, null, 1)}\n`);
console.log(writeResult('jobs', report));
