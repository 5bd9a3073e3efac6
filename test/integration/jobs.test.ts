import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AvpipeError, ConfigError, type PipelineConfigInit } from '../../src/index.js';
import { withAbsolutePaths } from '../../src/cli/job-commands.js';
import { outputPaths, withRetry } from '../../src/jobs/job-data.js';
import { createJobQueue, createWorker, type JobProgress, type JobQueue, type JobWorker } from '../../src/jobs/index.js';
import { frames, packetSpan, probe, streamOf } from '../helpers/ffprobe.js';
import { HAVE_REDIS, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { tmpDir } from '../helpers/tmp.js';

const dir = tmpDir();
if (!HAVE_REDIS) process.stderr.write('job tests skipped: no redis-server (apt-get install redis-server, as .ci/run does)\n');

describe.skipIf(!HAVE_REDIS)('jobs on BullMQ and a real Redis: submitted configs run on a worker', () => {
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

  it('an export runs on the worker: its result is a local run\'s, the file read back by ffprobe, progress reported on the way', async () => {
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
    const failed: { id: string; reason: string; attemptsMade: number }[] = [];
    const onFailed = (f: { id: string; reason: string; attemptsMade: number }): void => void failed.push(f);
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
    const failed: { id: string; attemptsMade: number }[] = [];
    const onFailed = (f: { id: string; attemptsMade: number }): void => void failed.push(f);
    worker.on('failed', onFailed);
    try {
      const handle = await queue.submit({ live: false, source: { type: 'file', inputs: [{ path: missing }] }, outputs: [{ path: out }] }, { attempts: 2, backoffMs: 50 });
      const err = await handle.result().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AvpipeError);
      expect((err as AvpipeError).code).toBe('INPUT_INVALID');
      expect((err as AvpipeError).message).toContain(`job ${handle.id}:`);
      expect((err as AvpipeError).message).toContain('no-such-input.mp4');
      // Both attempts ran (the worker reports each; the second may land a moment after the queue's event).
      await vi.waitFor(() => expect(failed.filter((f) => f.id === handle.id).map((f) => f.attemptsMade)).toEqual([1, 2]));
    } finally {
      worker.off('failed', onFailed);
    }
  });
});

describe.skipIf(!HAVE_REDIS)('a worker killed with SIGKILL mid-job: BullMQ sees the job stalled and another worker completes it', () => {
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
      // An 8 s live recording: 8 s of work whatever the machine's speed, long enough to be killed in.
      const handle = await queue.submit({ live: true, source: { type: 'test', duration: 8 }, encoding: { width: 320, height: 240 }, outputs: [{ path }] });
      // Killed once 4 s are recorded (its progress through Redis): a crash-safe recording loses at most its last 3 s.
      await new Promise<void>((resolve, reject) => {
        handle.on('progress', (p) => p.mediaTimeMs >= 4000 && resolve());
        a.on('exit', (code) => reject(new Error(`worker A exited (${code}) before recording 4 s`)));
      });
      a.kill('SIGKILL');
      // Worker B looks for stalled jobs every second.
      b = await createWorker({ connection: redis.url, name: NAME, lockDurationMs: 2000, stalledIntervalMs: 1000 });
      const done: string[] = [];
      b.on('completed', ({ id }) => done.push(id));
      const result = await handle.result();
      expect(result.status).toBe('COMPLETE');
      await vi.waitFor(() => expect(done).toContain(handle.id));
      expect(result.wallMs).toBeGreaterThanOrEqual(7500);
      // The second attempt's run, whole: 8 s at 30 fps, in its own file.
      expect(result.job).toMatchObject({ id: handle.id, retry: 1 });
      expect(result.outputs[0]).toMatchObject({ path: join(dir, 'killed-worker-1.mp4') });
      expect(frames(streamOf(await probe(join(dir, 'killed-worker-1.mp4')), 'video'))).toBe(240);
      // The dead attempt's crash-safe recording kept, named in the result, and it plays as it is.
      expect(result.job.kept).toEqual([join(dir, 'killed-worker-0.mp4')]);
      const dead = await packetSpan(join(dir, 'killed-worker-0.mp4'), 'video');
      expect(dead.end).toBeGreaterThanOrEqual(1);
      expect(dead.end).toBeLessThan(6);
    } finally {
      a.kill('SIGKILL');
      await b?.close();
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

describe.skipIf(!HAVE_REDIS)('the CLI: avpipe worker and avpipe submit', () => {
  const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
  const cli = (args: string[], cwd = dir): Promise<{ code: number; stdout: string; stderr: string }> => new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout, stderr }));
  });
  /** `avpipe worker` on a queue of its own: its process, its stderr so far, its exit code. */
  const workerCli = (queue: string, redis: RedisServer): { q: string[]; w: ChildProcess; log: () => string; exited: Promise<number | null> } => {
    const q = ['--redis', redis.url, '--queue', queue];
    const w = spawn(process.execPath, [CLI, 'worker', ...q], { stdio: ['ignore', 'ignore', 'pipe'] });
    let text = '';
    w.stderr!.on('data', (d: Buffer) => (text += d.toString()));
    return { q, w, log: () => text, exited: new Promise((resolve) => w.on('exit', (code) => resolve(code))) };
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
    const badUrl = await cli(['worker', '--redis', 'http://127.0.0.1:6379']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('--redis: a Redis URL is redis:// or rediss://, got http:');
  });
});
