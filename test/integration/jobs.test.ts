import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AvpipeError, ConfigError } from '../../src/index.js';
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
    // 12 s of 320x240: a few seconds of work, so the 500 ms progress reports come.
    const handle = await queue.submit({ live: false, source: { type: 'test', duration: 12 }, encoding: { width: 320, height: 240 }, outputs: [{ path }] });
    const progress: JobProgress[] = [];
    handle.on('progress', (p) => progress.push(p));
    const result = await handle.result();
    expect(result.status).toBe('COMPLETE');
    expect(result.durationMs).toBeGreaterThanOrEqual(12_000);
    expect(result.outputs[0]).toMatchObject({ type: 'file', path, exists: true });
    const p = await probe(path);
    expect(frames(streamOf(p, 'video'))).toBe(360);
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

  it('a run that fails fails the job with its typed error, retried as the submit asked, no output left', async () => {
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
      expect(existsSync(out)).toBe(false);
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
      const w = await createWorker({ connection: ${JSON.stringify(redis.url)}, name: ${JSON.stringify(NAME)}, lockDurationMs: 2000, stalledIntervalMs: 1000 });
      w.on('active', () => process.stdout.write('active\\n'));`;
    const a = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let b: JobWorker | undefined;
    try {
      // Each attempt writes its own file: `{retry}` is its number.
      const path = join(dir, 'killed-worker-{retry}.mp4');
      // An 8 s live recording: 8 s of work whatever the machine's speed, long enough to be killed in.
      const handle = await queue.submit({ live: true, source: { type: 'test', duration: 8 }, encoding: { width: 320, height: 240 }, outputs: [{ path }] });
      await new Promise<void>((resolve, reject) => {
        a.stdout!.on('data', (d: Buffer) => d.toString().includes('active') && resolve());
        a.on('exit', (code) => reject(new Error(`worker A exited (${code}) before taking the job`)));
      });
      // Killed 5 s after it took the job: a crash-safe recording loses at most its last 3 s.
      await new Promise((r) => setTimeout(r, 5000));
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

describe.skipIf(!HAVE_REDIS)('the CLI: avpipe worker and avpipe submit', () => {
  const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
  const cli = (args: string[], cwd = dir): Promise<{ code: number; stdout: string; stderr: string }> => new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stdout, stderr }));
  });

  it('submit --wait prints a local run\'s result; SIGTERM drains the worker: the running job finishes, then exit 0', async () => {
    const redis = await startRedis();
    const q = ['--redis', redis.url, '--queue', 'cli'];
    const w = spawn(process.execPath, [CLI, 'worker', ...q], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    w.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => w.on('exit', (code) => resolve(code)));
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
      await vi.waitFor(() => expect(log).toContain(`[job ${job}] started`), { timeout: 10_000 });
      w.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(log).toContain('draining: no new job; finishing 1 running');
      expect(log).toContain(`[job ${job}] COMPLETE`);
      expect(frames(streamOf(await probe(join(dir, 'drained.mp4')), 'video'))).toBe(120);
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
  });
});
