import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AvpipeError, ConfigError, type PipelineConfigInit } from '../../src/index.js';
import { withAbsolutePaths } from '../../src/cli/job-commands.js';
import { outputPaths, withRetry } from '../../src/jobs/job-data.js';
import { createJobQueue, createWorker, serveWorkerHttp, type JobProgress, type JobQueue, type JobWorker, type LoadSample } from '../../src/jobs/index.js';
import { decodeErrors, frames, packetSpan, probe, streamOf } from '../helpers/ffprobe.js';
import { REDIS_MISSING, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { describeNeeding } from '../helpers/peers.js';
import { tmpDir } from '../helpers/tmp.js';

const dir = tmpDir();
const execFileP = promisify(execFile);

describeNeeding(REDIS_MISSING)('jobs on BullMQ and a real Redis: submitted configs run on a worker', () => {
  let redis: RedisServer;
  let queue: JobQueue;
  let worker: JobWorker;
  const NAME = 'avpipe-test';

  beforeAll(async () => {
    redis = await startRedis();
    queue = await createJobQueue({ connection: redis.url, name: NAME });
    worker = await createWorker({ connection: redis.url, name: NAME });
  });
  afterAll(async () => {
    await worker?.close();
    await queue?.close();
    await redis?.stop();
  });

  it('an export completes on the worker: the file read back by ffprobe, progress reported on the way', async () => {
    const path = join(dir, 'job.mp4');
    // 30 s of 320x240 encoded whole: a couple of seconds of work, so the 500 ms progress reports come.
    const handle = await queue.submit({ live: false, parallel: 1, source: { type: 'test', duration: 30 }, encoding: { width: 320, height: 240 }, outputs: [{ path }] });
    const progress: JobProgress[] = [];
    handle.on('progress', (p) => progress.push(p));
    const result = await handle.result();
    expect(result.status).toBe('COMPLETE');
    expect(result.durationMs).toBeGreaterThanOrEqual(30_000);
    expect(result.outputs[0]).toMatchObject({ type: 'file', path, exists: true });
    const p = await probe(path);
    expect(frames(streamOf(p, 'video'))).toBe(900);
    expect(streamOf(p, 'audio').codec_name).toBe('opus');
    // Progress came through Redis while it ran: media time rising, a percent of the known duration.
    expect(progress.length).toBeGreaterThan(0);
    for (const [i, e] of progress.entries()) {
      expect(e.percent).not.toBeNull();
      expect(e.percent!).toBeGreaterThanOrEqual(0);
      expect(e.percent!).toBeLessThanOrEqual(100);
      if (i > 0) expect(e.mediaTimeMs).toBeGreaterThanOrEqual(progress[i - 1]!.mediaTimeMs);
    }
  });

  it('a job no worker can read (another version) fails once as CONFIG_INVALID, not retried', async () => {
    const raw = new Queue(NAME, { connection: { host: '127.0.0.1', port: redis.port } });
    const failed: { id: string; reason: string; retry: number }[] = [];
    const onFailed = (f: { id: string; reason: string; retry: number }): void => void failed.push(f);
    worker.on('failed', onFailed);
    try {
      const job = await raw.add('run', { version: 2, config: {} }, { attempts: 3, backoff: { type: 'fixed', delay: 50 } });
      await vi.waitFor(() => expect(failed.map((f) => f.id)).toContain(job.id));
      expect(failed.find((f) => f.id === job.id)!.reason).toMatch(/^CONFIG_INVALID: [\s\S]*job: is not an avpipe job of version 1/);
      await new Promise((r) => setTimeout(r, 500));
      expect(await raw.getJobState(job.id!)).toBe('failed');
      expect(failed.filter((f) => f.id === job.id)).toHaveLength(1);
    } finally {
      worker.off('failed', onFailed);
      await raw.close();
    }
  });

  it('a distributed export is refused at submit when it is live or has no storage for its chunks, naming the fields', async () => {
    const err = await queue.submit({ live: true, source: { type: 'test' }, outputs: [{ path: join(dir, 'never.mp4') }] }, { distributed: { chunks: 1 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.field)).toEqual(['distributed.chunks', 'live', 'storage']);
  });

  it('a bad config is refused at submit, naming its field, and never queued', async () => {
    const counts = new Queue(NAME, { connection: { host: '127.0.0.1', port: redis.port } });
    try {
      const before = await counts.getJobCountByTypes('waiting', 'active', 'completed', 'failed', 'delayed');
      const err = await queue.submit({ live: false, source: { type: 'test', duration: 3 }, encoding: { width: -5 }, outputs: [{ path: join(dir, 'bad.mp4') }] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems.map((q) => q.field)).toContain('encoding.width');
      await expect(queue.submit({ live: false, outputs: [{ path: join(dir, 'nosource.mp4') }] })).rejects.toThrow(/source: a job needs config.source/);
      expect(await counts.getJobCountByTypes('waiting', 'active', 'completed', 'failed', 'delayed')).toBe(before);
    } finally {
      await counts.close();
    }
  });

  it('a run that fails fails the job with its typed error, retried as the submit asked', async () => {
    const missing = join(dir, 'no-such-input.mp4');
    const out = join(dir, 'never.mp4');
    const failed: { id: string; retry: number }[] = [];
    const onFailed = (f: { id: string; retry: number }): void => void failed.push(f);
    worker.on('failed', onFailed);
    try {
      const handle = await queue.submit({ live: false, source: { type: 'file', inputs: [{ path: missing }] }, outputs: [{ path: out }] }, { attempts: 2, backoffMs: 50 });
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AvpipeError);
      expect((err as AvpipeError).code).toBe('INPUT_INVALID');
      expect((err as AvpipeError).message).toContain(`job ${handle.id}:`);
      expect((err as AvpipeError).message).toContain('no-such-input.mp4');
      // Both attempts ran, runs 0 and 1 (the worker reports each; the second may land a moment after the queue's event).
      await vi.waitFor(() => expect(failed.filter((f) => f.id === handle.id).map((f) => f.retry)).toEqual([0, 1]));
    } finally {
      worker.off('failed', onFailed);
    }
  });

  it('a job whose process crashes (SIGSEGV, as a codec would) fails alone as JOB_FAILED naming the signal: its recording so far plays, and the worker runs the next job', async () => {
    const crashed = join(dir, 'crashed.mp4');
    // Its process, as the worker reports it; the worker's other child is the one it keeps started ahead.
    const pids = new Map<string, number | undefined>();
    const onActive = (a: { id: string; pid?: number | undefined }): void => void pids.set(a.id, a.pid);
    worker.on('active', onActive);
    const handle = await queue.submit({ live: true, source: { type: 'test', duration: 60 }, encoding: { width: 160, height: 120, keyframeInterval: 1 }, outputs: [{ path: crashed }] });
    const hosts = async (): Promise<number[]> => {
      const { stdout } = await execFileP('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)]).catch(() => ({ stdout: '' }));
      return stdout.split('\n').filter((l) => l.includes('job-process-host')).map((l) => Number(l.trim().split(/\s+/)[0]));
    };
    await vi.waitFor(() => expect(pids.get(handle.id)).toBeGreaterThan(0), { timeout: 15_000 });
    worker.off('active', onActive);
    const pid = pids.get(handle.id)!;
    expect(await hosts()).toContain(pid);
    // 2.5 s recorded (media time from the job's progress; fragments close on the 1 s keyframes), then the crash.
    await new Promise<void>((resolve) => handle.on('progress', (p) => p.mediaTimeMs >= 2500 && resolve()));
    process.kill(pid, 'SIGSEGV');
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AvpipeError);
    expect((err as AvpipeError).code).toBe('JOB_FAILED');
    expect((err as AvpipeError).message).toMatch(/SIGSEGV/);
    // The fragmented MP4 written so far is read back to its last whole fragment (1 s at least).
    expect(frames(streamOf(await probe(crashed), 'video'))).toBeGreaterThanOrEqual(30);
    const next = await queue.submit({ live: false, parallel: 1, source: { type: 'test', duration: 2 }, encoding: { width: 160, height: 120 }, outputs: [{ path: join(dir, 'after-crash.mp4') }] });
    expect((await next.result()).status).toBe('COMPLETE');
    expect(frames(streamOf(await probe(join(dir, 'after-crash.mp4')), 'video'))).toBe(60);
    expect(await hosts()).not.toContain(pid);
  });
});

describeNeeding(REDIS_MISSING)('a worker killed with SIGKILL mid-job: BullMQ sees the job stalled and another worker completes it', () => {
  it('the job completes on the second worker in a file of its own; the dead attempt\'s recording is kept, plays, and is named in the result', async () => {
    const redis = await startRedis();
    const NAME = 'avpipe-kill';
    const queue = await createJobQueue({ connection: redis.url, name: NAME });
    // Worker A, a process of its own (built dist/, as a fleet runs it), with a 2 s lock. Every worker of
    // a queue checks for stalled jobs at the same interval: BullMQ throttles the check queue-wide.
    const script = `import { createWorker } from ${JSON.stringify(new URL('../../dist/jobs/index.js', import.meta.url).href)};
      await createWorker({ connection: ${JSON.stringify(redis.url)}, name: ${JSON.stringify(NAME)}, lockDurationMs: 2000, stalledIntervalMs: 1000 });`;
    const a = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'inherit'] });
    let b: JobWorker | undefined;
    try {
      // Each attempt writes its own file: `{retry}` is its number.
      const path = join(dir, 'killed-worker-{retry}.mp4');
      // A 4 s live recording (a keyframe, so a fragment, every second): 4 s of work whatever the machine's speed, long enough to be killed in.
      const handle = await queue.submit({ live: true, source: { type: 'test', duration: 4 }, encoding: { width: 320, height: 240, keyframeInterval: 1 }, outputs: [{ path }] });
      // Killed once 2.5 s are recorded (its progress through Redis): a crash-safe recording loses at most its last fragment and what was not yet written.
      await new Promise<void>((resolve, reject) => {
        handle.on('progress', (p) => p.mediaTimeMs >= 2500 && resolve());
        a.on('exit', (code) => reject(new Error(`worker A exited (${code}) before recording 2.5 s`)));
      });
      a.kill('SIGKILL');
      // Worker B looks for stalled jobs every second.
      b = await createWorker({ connection: redis.url, name: NAME, lockDurationMs: 2000, stalledIntervalMs: 1000 });
      const done: string[] = [];
      b.on('completed', ({ id }) => done.push(id));
      const result = await handle.result();
      expect(result.status).toBe('COMPLETE');
      await vi.waitFor(() => expect(done).toContain(handle.id));
      expect(result.wallMs).toBeGreaterThanOrEqual(3500);
      // The second attempt's run, whole: 4 s at 30 fps, in its own file.
      expect(result.job).toMatchObject({ id: handle.id, retry: 1 });
      expect(result.outputs[0]).toMatchObject({ path: join(dir, 'killed-worker-1.mp4') });
      expect(frames(streamOf(await probe(join(dir, 'killed-worker-1.mp4')), 'video'))).toBe(120);
      // The dead attempt's crash-safe recording kept, named in the result, and it plays as it is.
      expect(result.job.kept).toEqual([join(dir, 'killed-worker-0.mp4')]);
      const dead = await packetSpan(join(dir, 'killed-worker-0.mp4'), 'video');
      expect(dead.end).toBeGreaterThanOrEqual(1);
      expect(dead.end).toBeLessThan(4);
      expect(await decodeErrors(join(dir, 'killed-worker-0.mp4'))).toBe('');
    } finally {
      a.kill('SIGKILL');
      await b?.close();
      await queue.close();
      await redis.stop();
    }
  }, 60_000);
});

describeNeeding(REDIS_MISSING)('admission: a worker takes a job only while it fits its --max-cpu; a drain past its deadline gives jobs back', () => {
  it('jobs spread over two workers, each never reserving more than its capacity; a job that does not fit goes back to the queue and runs', async () => {
    const redis = await startRedis();
    const NAME = 'avpipe-admission';
    const queue = await createJobQueue({ connection: redis.url, name: NAME });
    // Two workers of 2 cores at --max-cpu 0.5: 1 core each, so two jobs of 0.45 at once, not three. Both
    // share this process, so each is given a quiet load of its own: the reserved costs decide.
    const quiet = (): LoadSample => ({ cpuCores: 0, availableMemoryBytes: 8 * 2 ** 30 });
    const workers = await Promise.all([0, 1].map(() => createWorker({ connection: redis.url, name: NAME, cores: 2, maxCpu: 0.5, load: quiet })));
    const peak = [0, 0];
    const ran = [0, 0];
    const overCapacity: number[] = [];
    const refusals: string[] = [];
    workers.forEach((w, i) => {
      w.on('active', () => {
        ran[i]!++;
        peak[i] = Math.max(peak[i]!, w.running);
        if (w.admission.reservedCpu > w.admission.capacity + 1e-9) overCapacity.push(w.admission.reservedCpu);
      });
      w.on('refused', ({ reason }) => refusals.push(reason));
    });
    try {
      const handles = await Promise.all(Array.from({ length: 6 }, (_, i) => queue.submit({ live: true, source: { type: 'test', duration: 2 }, encoding: { width: 160, height: 120 }, outputs: [{ path: join(dir, `admitted-${i}.mp4`) }] }, { cost: 0.45 })));
      const results = await Promise.all(handles.map((h) => h.result()));
      expect(results.map((r) => r.status)).toEqual(Array(6).fill('COMPLETE'));
      for (const [i, r] of results.entries()) expect(r.outputs[0]).toMatchObject({ path: join(dir, `admitted-${i}.mp4`), exists: true });
      // Six jobs, four places: each worker filled its two, and the jobs it could not take went to the queue again.
      expect(peak).toEqual([2, 2]);
      expect(overCapacity).toEqual([]);
      expect(ran[0]! + ran[1]!).toBe(6);
      expect(refusals.length).toBeGreaterThan(0);
      expect(refusals[0]).toBe('costs 0.45 cores; 0.90 of 1.00 in use');
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      await queue.close();
      await redis.stop();
    }
  }, 60_000);

  it('a worker held back by its measured load takes the job it refused as soon as a sample shows room, without waiting for its running job to end', async () => {
    const redis = await startRedis();
    const NAME = 'avpipe-wake';
    const queue = await createJobQueue({ connection: redis.url, name: NAME });
    let busy = 0.95;
    const w = await createWorker({ connection: redis.url, name: NAME, cores: 1, maxCpu: 1, load: () => ({ cpuCores: busy, availableMemoryBytes: 8 * 2 ** 30 }) });
    const at = new Map<string, number>();
    const t0 = Date.now();
    w.on('active', ({ id }) => at.set(`active ${id}`, Date.now() - t0));
    w.on('completed', ({ id }) => at.set(`completed ${id}`, Date.now() - t0));
    const refused: string[] = [];
    w.on('refused', ({ id }) => refused.push(id));
    try {
      const job = (path: string, duration: number) => queue.submit({ live: true, source: { type: 'test', duration }, encoding: { width: 160, height: 120 }, outputs: [{ path: join(dir, path) }] }, { cost: 0.3 });
      const a = await job('wake-a.mp4', 5);
      await vi.waitFor(() => expect(at.has(`active ${a.id}`)).toBe(true), { timeout: 10_000 });
      // The worker measures 0.95 of its 1 core: a job of 0.3 does not fit beside A.
      const b = await job('wake-b.mp4', 1);
      await vi.waitFor(() => expect(refused).toContain(b.id), { timeout: 10_000 });
      busy = 0.1;
      expect((await b.result()).status).toBe('COMPLETE');
      expect((await a.result()).status).toBe('COMPLETE');
      // (the worker's own events may land a moment after the queue's)
      await vi.waitFor(() => expect([`completed ${a.id}`, `completed ${b.id}`].every((k) => at.has(k))).toBe(true));
      // B ran beside A once the load fell: it started and ended while A was still recording.
      expect(at.get(`active ${b.id}`)!).toBeLessThan(at.get(`completed ${a.id}`)!);
      expect(at.get(`completed ${b.id}`)!).toBeLessThan(at.get(`completed ${a.id}`)!);
    } finally {
      await w.close();
      await queue.close();
      await redis.stop();
    }
  }, 60_000);

  it('a drain past its deadline stops the running job and gives it back: another worker runs it again into a file of its own, the first attempt\'s kept', async () => {
    const redis = await startRedis();
    const NAME = 'avpipe-give-back';
    const queue = await createJobQueue({ connection: redis.url, name: NAME });
    const a = await createWorker({ connection: redis.url, name: NAME });
    let b: JobWorker | undefined;
    try {
      const path = join(dir, 'given-back-{retry}.mp4');
      const handle = await queue.submit({ live: true, source: { type: 'test', duration: 6 }, encoding: { width: 160, height: 120 }, outputs: [{ path }] });
      const givenBack: string[] = [];
      a.on('givenBack', ({ id }) => givenBack.push(id));
      await new Promise<void>((resolve) => handle.on('progress', (p) => p.mediaTimeMs >= 2000 && resolve()));
      // A drain that gives the job 0.3 s: it does not finish in that, so back to the queue it goes.
      await a.close({ giveBackAfterMs: 300 });
      expect(givenBack).toEqual([handle.id]);
      b = await createWorker({ connection: redis.url, name: NAME });
      const result = await handle.result();
      expect(result.status).toBe('COMPLETE');
      expect(result.job).toEqual({ id: handle.id, retry: 1, kept: [join(dir, 'given-back-0.mp4')] });
      expect(frames(streamOf(await probe(join(dir, 'given-back-1.mp4')), 'video'))).toBe(180);
      // The stopped attempt's file was finalized: it plays, about 2 s of it.
      const first = await packetSpan(join(dir, 'given-back-0.mp4'), 'video');
      expect(first.end).toBeGreaterThanOrEqual(1.9);
      expect(first.end).toBeLessThan(4);
      expect(await decodeErrors(join(dir, 'given-back-0.mp4'))).toBe('');
    } finally {
      await a.close();
      await b?.close();
      await queue.close();
      await redis.stop();
    }
  }, 60_000);

  it('a non-live job given back at a drain\'s deadline is aborted and its partial output removed (it is made again whole); /healthz says draining, then 503 closed', async () => {
    const redis = await startRedis();
    const NAME = 'avpipe-give-back-export';
    const queue = await createJobQueue({ connection: redis.url, name: NAME });
    const a = await createWorker({ connection: redis.url, name: NAME });
    const http = await serveWorkerHttp(a, 0);
    const health = async (): Promise<{ code: number; status: string }> => {
      const r = await fetch(`http://127.0.0.1:${http.port}/healthz`);
      return { code: r.status, status: ((await r.json()) as { status: string }).status };
    };
    try {
      // Ten minutes of test source encoded as fast as it goes: far from done when the drain ends.
      const path = join(dir, 'given-back-export-{retry}.mp4');
      const handle = await queue.submit({ live: false, parallel: 1, source: { type: 'test', duration: 600 }, encoding: { width: 160, height: 120 }, outputs: [{ path }] });
      await new Promise<void>((resolve) => handle.on('progress', (p) => p.mediaTimeMs >= 2000 && resolve()));
      expect(await health()).toEqual({ code: 200, status: 'ok' });
      const closing = a.close({ giveBackAfterMs: 500 });
      expect(await health()).toEqual({ code: 200, status: 'draining' });
      await closing;
      expect(await health()).toEqual({ code: 503, status: 'closed' });
      // Back in the queue for another worker, with its run counted; nothing half-made left at its path.
      const raw = new Queue(NAME, { connection: { host: '127.0.0.1', port: redis.port } });
      try {
        expect(await raw.getJobState(handle.id)).toBe('waiting');
        expect((await raw.getJob(handle.id))?.data.runs).toBe(1);
      } finally {
        await raw.close();
      }
      expect(existsSync(join(dir, 'given-back-export-0.mp4'))).toBe(false);
    } finally {
      await http.close();
      await a.close();
      await queue.close();
      await redis.stop();
    }
  }, 60_000);
});

describeNeeding(REDIS_MISSING)('Redis killed and restarted (append-only file, fsync always): no job lost', () => {
  it('a running job completes across the restart, and a job waiting in the queue survives it and runs', async () => {
    const data = join(dir, 'redis-data');
    mkdirSync(data);
    const redis = await startRedis({ persistDir: data });
    const NAME = 'avpipe-restart';
    const queue = await createJobQueue({ connection: redis.url, name: NAME });
    // One job at a time: the second waits in Redis while the first runs.
    const worker = await createWorker({ connection: redis.url, name: NAME, concurrency: 1 });
    const runId = async (): Promise<string> => {
      const client = new Redis(redis.url);
      try {
        return /run_id:(\w+)/.exec(await client.info('server'))![1]!;
      } finally {
        client.disconnect();
      }
    };
    try {
      const job = (path: string) => queue.submit({ live: true, source: { type: 'test', duration: 3 }, encoding: { width: 160, height: 120 }, outputs: [{ path: join(dir, path) }] });
      const first = await job('restart-1.mp4');
      await new Promise<void>((resolve) => first.on('progress', (p) => p.mediaTimeMs >= 1000 && resolve()));
      const second = await job('restart-2.mp4');
      // Redis dies with no save on the way out, and comes back from its append-only file (a new server: its run id).
      const before = await runId();
      await redis.crashAndRestart();
      expect(await runId()).not.toBe(before);
      const [a, b] = await Promise.all([first.result(), second.result()]);
      expect([a.status, b.status]).toEqual(['COMPLETE', 'COMPLETE']);
      for (const f of ['restart-1.mp4', 'restart-2.mp4']) expect(frames(streamOf(await probe(join(dir, f)), 'video'))).toBe(90);
      // Each ran once, on its first run: the running one kept its lock through the restart.
      expect([a.job.retry, b.job.retry]).toEqual([0, 0]);
    } finally {
      await worker.close();
      await queue.close();
      await redis.stop();
    }
  }, 60_000);
});

describe('a job\'s paths', () => {
  it('{retry} is filled in every path an output writes; submit makes them absolute where it is typed (a segment template stays relative to its playlist)', () => {
    const init: PipelineConfigInit = { live: true, source: { type: 'test' }, outputs: [
      { path: 'rec-{retry}.mp4' },
      { playlist: 'hls-{retry}/index.m3u8', livePlaylist: 'hls-{retry}/live.m3u8', segmentTemplate: 'seg-{retry}-%05d.ts' },
      { images: 'thumbs-{retry}/t_%03d.jpg' },
      { url: 'rtmp://127.0.0.1/live/{retry}' },
    ] };
    expect(withRetry(init, 2).outputs).toEqual([
      { path: 'rec-2.mp4' },
      { playlist: 'hls-2/index.m3u8', livePlaylist: 'hls-2/live.m3u8', segmentTemplate: 'seg-2-%05d.ts' },
      { images: 'thumbs-2/t_%03d.jpg' },
      { url: 'rtmp://127.0.0.1/live/{retry}' },
    ]);
    expect(outputPaths(withRetry(init, 0))).toEqual(['rec-0.mp4', 'hls-0/index.m3u8', 'hls-0/live.m3u8']);
    const abs = withAbsolutePaths({ ...init, source: { type: 'file', inputs: [{ path: 'in.mp4' }] } });
    expect(abs.source).toEqual({ type: 'file', inputs: [{ path: resolve('in.mp4') }] });
    expect(abs.outputs).toEqual([
      { path: resolve('rec-{retry}.mp4') },
      { playlist: resolve('hls-{retry}/index.m3u8'), livePlaylist: resolve('hls-{retry}/live.m3u8'), segmentTemplate: 'seg-{retry}-%05d.ts' },
      { images: resolve('thumbs-{retry}/t_%03d.jpg') },
      { url: 'rtmp://127.0.0.1/live/{retry}' },
    ]);
  });
});

describeNeeding(REDIS_MISSING)('the CLI: avpipe worker and avpipe submit', () => {
  const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
  const cli = (args: string[], cwd = dir): Promise<{ code: number; stdout: string; stderr: string }> => new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout, stderr }));
  });
  /** `avpipe worker` on a queue of its own: its process, its stderr and stdout so far, its exit code. */
  const workerCli = (queue: string, redis: RedisServer, extra: string[] = []): { q: string[]; w: ChildProcess; log: () => string; out: () => string; exited: Promise<number | null> } => {
    const q = ['--redis', redis.url, '--queue', queue];
    const w = spawn(process.execPath, [CLI, 'worker', ...q, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let stdout = '';
    w.stderr!.on('data', (d: Buffer) => (text += d.toString()));
    w.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    return { q, w, log: () => text, out: () => stdout, exited: new Promise((resolve) => w.on('exit', (code) => resolve(code))) };
  };

  it('submit --wait prints a local run\'s result; SIGTERM drains the worker: the running job finishes, then exit 0', async () => {
    const redis = await startRedis();
    const { q, w, log, exited } = workerCli('cli', redis);
    try {
      // Relative paths are the submitter's: made absolute before the job is queued.
      const waited = await cli(['submit', 'record', '--source', 'test', '--duration', '2', '--no-live', '--size', '320x240', '--output', 'waited.mp4', ...q, '--wait', '--json']);
      expect(waited.code, waited.stderr).toBe(0);
      const result = JSON.parse(waited.stdout) as { status: string; outputs: { path: string }[] };
      expect(result.status).toBe('COMPLETE');
      expect(result.outputs[0]!.path).toBe(join(dir, 'waited.mp4'));
      expect(frames(streamOf(await probe(join(dir, 'waited.mp4')), 'video'))).toBe(60);

      // A 4 s live recording, submitted without waiting: the job's id comes back at once.
      const submitted = await cli(['submit', 'record', '--source', 'test', '--duration', '4', '--size', '320x240', '--output', 'drained.mp4', ...q, '--json']);
      expect(submitted.code, submitted.stderr).toBe(0);
      const { job } = JSON.parse(submitted.stdout) as { job: string };
      await vi.waitFor(() => expect(log()).toContain(`[job ${job}] started`), { timeout: 10_000 });
      w.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(log()).toContain('draining: no new job; finishing 1 running');
      expect(log()).toContain(`[job ${job}] COMPLETE`);
      expect(frames(streamOf(await probe(join(dir, 'drained.mp4')), 'video'))).toBe(120);
    } finally {
      w.kill('SIGKILL');
      await redis.stop();
    }
  }, 60_000);

  it('a second signal stops the running jobs, an endless recording too: it completes with what it made, and the worker exits 0', async () => {
    const redis = await startRedis();
    const { q, w, log, exited } = workerCli('endless', redis);
    try {
      // A live recording with no duration: only a stop ends it.
      const submitted = await cli(['submit', 'record', '--source', 'test', '--size', '320x240', '--output', 'endless.mp4', ...q, '--json']);
      expect(submitted.code, submitted.stderr).toBe(0);
      const { job } = JSON.parse(submitted.stdout) as { job: string };
      await vi.waitFor(() => expect(log()).toContain(`[job ${job}] started`), { timeout: 10_000 });
      await new Promise((r) => setTimeout(r, 3000));
      w.kill('SIGTERM');
      await vi.waitFor(() => expect(log()).toContain('draining'));
      w.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(log()).toContain(`[job ${job}] COMPLETE`);
      const span = await packetSpan(join(dir, 'endless.mp4'), 'video');
      expect(span.end).toBeGreaterThanOrEqual(2);
    } finally {
      w.kill('SIGKILL');
      await redis.stop();
    }
  }, 60_000);

  it('--metrics-port serves /metrics (Prometheus) and /healthz; --json logs one JSON line per event on stdout, --log-format json the same events as log records on stderr', async () => {
    const redis = await startRedis();
    const { q, w, out, log, exited } = workerCli('metrics', redis, ['--metrics-port', '0', '--max-cpu', '0.5', '--json', '--log-format', 'json']);
    const queue = await createJobQueue({ connection: redis.url, name: 'metrics' });
    interface LogLine { at: string; event: string; metricsPort?: number; capacity?: number; cores?: number }
    const events = (): LogLine[] => out().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as LogLine);
    /** A metric's samples from the text format: its labels as written, and the value. */
    const samples = (text: string, name: string): Map<string, number> => new Map([...text.matchAll(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`, 'gm'))].map((m) => [m[1] ?? '', Number(m[2])]));
    try {
      await vi.waitFor(() => expect(events().map((e) => e.event)).toContain('ready'), { timeout: 10_000 });
      const ready = events().find((e) => e.event === 'ready')!;
      const base = `http://127.0.0.1:${ready.metricsPort!}`;
      expect(ready.capacity).toBeCloseTo(0.5 * ready.cores!);
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok', running: 0 });

      const handle = await queue.submit({ live: true, source: { type: 'test', duration: 3 }, encoding: { width: 160, height: 120 }, outputs: [{ path: join(dir, 'metrics.mp4') }] }, { cost: 0.3 });
      await new Promise<void>((resolve) => handle.on('progress', (p) => p.mediaTimeMs >= 1000 && resolve()));
      const running = await (await fetch(`${base}/metrics`)).text();
      expect(samples(running, 'avpipe_jobs_running').get('{queue="metrics"}')).toBe(1);
      expect(samples(running, 'avpipe_running_cost_cores').get('{queue="metrics"}')).toBe(0.3);
      expect(samples(running, 'avpipe_capacity_cores').get('{queue="metrics"}')).toBeCloseTo(ready.capacity!);
      const load = samples(running, 'avpipe_load_ratio');
      expect(load.get('{resource="cpu",queue="metrics"}')).toBeGreaterThan(0);
      expect(load.get('{resource="memory",queue="metrics"}')).toBeGreaterThan(0);
      expect(load.get('{resource="memory",queue="metrics"}')).toBeLessThan(1);
      // A live job on time runs at 1x.
      expect(samples(running, 'avpipe_job_speed').get(`{job="${handle.id}",queue="metrics"}`)).toBeGreaterThan(0.5);
      expect(samples(running, 'process_resident_memory_bytes').get('{queue="metrics"}')).toBeGreaterThan(0);
      expect((await handle.result()).status).toBe('COMPLETE');
      const after = await (await fetch(`${base}/metrics`)).text();
      const jobs = samples(after, 'avpipe_jobs_total');
      expect(jobs.get('{event="admitted",queue="metrics"}')).toBe(1);
      await vi.waitFor(async () => expect(samples(await (await fetch(`${base}/metrics`)).text(), 'avpipe_jobs_total').get('{event="completed",queue="metrics"}')).toBe(1));
      expect(samples(after, 'avpipe_jobs_running').get('{queue="metrics"}')).toBe(0);
      expect(samples(after, 'avpipe_queue_dropped_total').get('{queue="metrics"}')).toBe(0);
      expect((await fetch(`${base}/nothing`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);


      // A drain while a second job runs: alive and saying so until the job is done, then exit 0.
      const second = await queue.submit({ live: true, source: { type: 'test', duration: 3 }, encoding: { width: 160, height: 120 }, outputs: [{ path: join(dir, 'metrics-2.mp4') }] }, { cost: 0.3 });
      await new Promise<void>((resolve) => second.on('progress', (p) => p.mediaTimeMs >= 500 && resolve()));
      w.kill('SIGTERM');
      await vi.waitFor(async () => expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ status: 'draining', running: 1 }));
      expect((await second.result()).status).toBe('COMPLETE');
      expect(await exited).toBe(0);
      // Every line a JSON object with its time; the jobs' events in order (a warning line would be named).
      const seen = events();
      for (const e of seen) expect(Number.isNaN(Date.parse(e.at))).toBe(false);
      expect(seen.map((e) => e.event)).toEqual(['ready', 'active', 'completed', 'active', 'draining', 'completed', 'closed']);
      expect(seen[1]).toMatchObject({ job: handle.id, retry: 0, cost: 0.3 });
      // The log: every stderr line a pino record (level name, ISO time, msg) carrying the same events.
      const records = log().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as { level: string; time: string; msg: string; event: string; job?: string });
      for (const r of records) expect(Number.isNaN(Date.parse(r.time))).toBe(false);
      expect(records.map((r) => r.event)).toEqual(['ready', 'active', 'completed', 'active', 'draining', 'completed']);
      expect(new Set(records.map((r) => r.level))).toEqual(new Set(['info']));
      expect(records[2]).toMatchObject({ job: handle.id, status: 'COMPLETE' });
      expect(records[2]!.msg).toMatch(new RegExp(`^\\[job ${handle.id}\\] COMPLETE: 3\\.\\d\\d s of media in`));
    } finally {
      w.kill('SIGKILL');
      await queue.close();
      await redis.stop();
    }
  }, 60_000);

  it('bad arguments exit 2 naming them, before anything is queued', async () => {
    const r = await cli(['submit', 'record', '--duration', 'x', '--output', 'x.mp4', '--redis', 'redis://127.0.0.1:1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--duration: must be a number');
    const noRedis = await cli(['submit', 'export', 'in.mp4', '--output', 'x.mp4']);
    expect(noRedis.code).toBe(2);
    expect(noRedis.stderr).toContain('--redis: give the Redis URL');
    const worker = await cli(['worker', '--redis', 'redis://127.0.0.1:1', '--concurrency', '0']);
    expect(worker.code).toBe(2);
    expect(worker.stderr).toContain('--concurrency: must be a whole number from 1 to 64');
    const maxCpu = await cli(['worker', '--redis', 'redis://127.0.0.1:1', '--max-cpu', '1.5']);
    expect(maxCpu.code).toBe(2);
    expect(maxCpu.stderr).toContain('--max-cpu: is the share of the cores jobs may fill, above 0 and at most 1, got "1.5"');
    const cost = await cli(['submit', 'record', '--source', 'test', '--output', 'x.mp4', '--redis', 'redis://127.0.0.1:1', '--cost', '0']);
    expect(cost.code).toBe(2);
    expect(cost.stderr).toContain('--cost: is the job\'s CPU cost in cores, above 0, got "0"');
    const chunks = await cli(['submit', 'export', 'in.mp4', '--output', 'x.mp4', '--redis', 'redis://127.0.0.1:1', '--chunks', '3']);
    expect(chunks.code).toBe(2);
    expect(chunks.stderr).toContain('--chunks: needs --distributed');
    const distRecord = await cli(['submit', 'record', '--source', 'test', '--output', 'x.mp4', '--redis', 'redis://127.0.0.1:1', '--distributed']);
    expect(distRecord.code).toBe(2);
    expect(distRecord.stderr).toContain('--distributed: splits an export across the workers');
    // A Redis nobody listens at: a clear error within the connect timeout, not a hang.
    const [nobody, noSubmit] = await Promise.all([cli(['worker', '--redis', 'redis://127.0.0.1:1', '--connect-timeout', '1']), cli(['submit', 'record', '--source', 'test', '--output', 'x.mp4', '--redis', 'redis://127.0.0.1:1', '--connect-timeout', '1'])]);
    for (const r of [nobody, noSubmit]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/cannot reach Redis at 127\.0\.0\.1:1 in 1 s: connect ECONNREFUSED/);
    }
    const badUrl = await cli(['worker', '--redis', 'http://127.0.0.1:6379']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('--redis: a Redis URL is redis:// or rediss://, got http:');
  });
});
