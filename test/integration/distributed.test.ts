import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Queue } from 'bullmq';
import { createJobQueue, createWorker, type JobResult } from '../../src/jobs/index.js';
import { beepOnsets, FFPROBE, flashTimes, frames, probe, streamOf } from '../helpers/ffprobe.js';
import { FFMPEG } from '../helpers/fixtures.js';
import { REDIS_MISSING, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { describeNeeding } from '../helpers/peers.js';
import { record } from '../helpers/run.js';
import { startS3, type S3Server } from '../helpers/s3-server.js';
import { tmpDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const dir = tmpDir();
const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** A stream's packets hashed by an independent reader (ffmpeg's md5 muxer over the copied stream). */
async function streamMd5(path: string, kind: 'v' | 'a'): Promise<string> {
  const { stdout } = await run(FFMPEG, ['-v', 'error', '-i', path, '-map', `0:${kind}`, '-c', 'copy', '-f', 'md5', '-']);
  return stdout.trim();
}

/** Keyframe times (s) by ffprobe. */
async function keyframes(path: string): Promise<number[]> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', path], { maxBuffer: 16 << 20 });
  return stdout.trim().split('\n').filter((l) => l.split(',')[1]!.startsWith('K')).map((l) => Number(l.split(',')[0])).sort((a, b) => a - b);
}

/** Worker processes of their own, on one queue: each one's JSON events, and a way to end them. */
function spawnWorkers(count: number, spawnOne: (i: number) => ChildProcess): { procs: ChildProcess[]; events: { event: string; job?: string }[][]; stop: () => Promise<void> } {
  const procs: ChildProcess[] = [];
  const events: { event: string; job?: string }[][] = [];
  for (let i = 0; i < count; i++) {
    const p = spawnOne(i);
    const seen: { event: string; job?: string }[] = [];
    let buf = '';
    p.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) if (l.startsWith('{')) seen.push(JSON.parse(l) as { event: string; job?: string });
    });
    procs.push(p);
    events.push(seen);
  }
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => new Promise<void>((resolve) => {
      if (p.exitCode !== null || p.signalCode !== null) return resolve();
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    })));
  };
  return { procs, events, stop };
}

/** The flashes and beeps of an output, paired: each beep's offset from its flash, s. */
async function avOffsets(path: string): Promise<number[]> {
  const [flashes, beeps] = await Promise.all([flashTimes(path), beepOnsets(path)]);
  expect(flashes.length).toBeGreaterThan(0);
  expect(beeps.length).toBe(flashes.length);
  return flashes.map((f, i) => beeps[i]! - f);
}

describeNeeding(REDIS_MISSING)('distributed export: chunks as jobs on a fleet of worker processes, joined by the export\'s own worker', () => {
  let redis: RedisServer;
  let s3: S3Server;
  beforeAll(async () => {
    [redis, s3] = await Promise.all([startRedis(), startS3()]);
    await s3.createBucket('avpipe-dist');
  });
  afterAll(async () => {
    await Promise.all([redis?.stop(), s3?.stop()]);
  });

  it('an s3:// input across three `avpipe worker` processes: packet for packet the local split\'s, chunks from several workers, in sync, the chunk objects removed', async () => {
    // 18 s of 640x360 test source as the input, in the bucket.
    const input = join(dir, 'input.mp4');
    await record({ live: false, parallel: 1, source: { type: 'test', duration: 18 }, encoding: { width: 640, height: 360 }, outputs: [{ path: input }] });
    await s3.client.send(new PutObjectCommand({ Bucket: 'avpipe-dist', Key: 'in/input.mp4', Body: readFileSync(input) }));
    const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const fleet = spawnWorkers(3, () => spawn(process.execPath, [CLI, 'worker', '--redis', redis.url, '--queue', 'dist', '--json'], { stdio: ['ignore', 'pipe', 'inherit'], env }));
    const queue = await createJobQueue({ connection: redis.url, name: 'dist' });
    try {
      await vi.waitFor(() => expect(fleet.events.every((e) => e.some((x) => x.event === 'ready'))).toBe(true), { timeout: 15_000 });
      const storage = { type: 's3' as const, bucket: 'avpipe-dist', prefix: 'out/', endpoint: s3.endpoint, credentials: s3.credentials };
      const out = join(dir, 'distributed.mp4');
      const handle = await queue.submit({ live: false, source: { type: 'file', inputs: [{ path: 's3://avpipe-dist/in/input.mp4' }] }, encoding: { width: 480, height: 270 }, outputs: [{ path: out }], storage: { storage } }, { distributed: { chunks: 3 } });
      const result: JobResult = await handle.result();
      expect(result.status).toBe('COMPLETE');
      // Three chunks of whole keyframe intervals, each encoded by a worker process (named), more than one of them.
      // (the last ends where the file does: its audio runs a few ms past 18 s).
      expect(result.chunks.map((c) => [c.index, c.startMs])).toEqual([[0, 0], [1, 6_000], [2, 12_000]]);
      expect(result.chunks.map((c) => c.endMs).slice(0, 2)).toEqual([6_000, 12_000]);
      expect(result.chunks[2]!.endMs).toBeGreaterThanOrEqual(18_000);
      for (const c of result.chunks) expect(c.worker).toMatch(/^.+\/\d+\/\d+$/);
      expect(new Set(result.chunks.map((c) => c.worker)).size).toBeGreaterThan(1);
      // The chunk jobs ran on the fleet: each worker's log names the chunks it took.
      const chunkRuns = fleet.events.flat().filter((e) => e.event === 'chunk_done').map((e) => e.job).sort();
      expect(chunkRuns).toEqual([0, 1, 2].map((i) => `${handle.id}-r0-chunk-${i}`));
      // The output in the bucket, and the chunks' objects gone.
      expect(result.uploads?.uploaded.map((u) => u.location)).toEqual(['s3://avpipe-dist/out/distributed.mp4']);
      const left = await s3.client.send(new ListObjectsV2Command({ Bucket: 'avpipe-dist', Prefix: 'out/.avpipe-chunks/' }));
      expect(left.Contents ?? []).toEqual([]);

      // The same export split locally into the same three chunks: the same packets, byte for byte.
      const local = join(dir, 'local-split.mp4');
      const l = await record({ live: false, parallel: 3, source: { type: 'file', inputs: [{ path: input }] }, encoding: { width: 480, height: 270 }, outputs: [{ path: local }] });
      expect(l.chunks.map((c) => [c.startMs, c.endMs])).toEqual(result.chunks.map((c) => [c.startMs, c.endMs]));
      expect(await streamMd5(out, 'v')).toBe(await streamMd5(local, 'v'));
      expect(await streamMd5(out, 'a')).toBe(await streamMd5(local, 'a'));
      const p = await probe(out);
      expect(frames(streamOf(p, 'video'))).toBe(540);
      expect(streamOf(p, 'video').width).toBe(480);
      // Keyframes on the 2 s grid (the chunks' starts among them); flashes and beeps within a frame.
      const keys = await keyframes(out);
      for (const t of [0, 2, 6, 12, 16]) expect(keys.some((k) => Math.abs(k - t) < 0.001)).toBe(true);
      for (const o of await avOffsets(out)) expect(Math.abs(o)).toBeLessThan(1 / 30);
    } finally {
      await queue.close();
      await fleet.stop();
    }
  }, 120_000);

  it('a worker killed with SIGKILL mid-chunk: that chunk alone runs again on another worker, and the export still matches the local split', async () => {
    const store = join(dir, 'store');
    mkdirSync(store);
    // Workers with 2 s locks, so a dead one's chunk is seen stalled within seconds.
    const script = `import { createWorker } from ${JSON.stringify(new URL('../../dist/jobs/index.js', import.meta.url).href)};
      const w = await createWorker({ connection: ${JSON.stringify(redis.url)}, name: 'dist-kill', lockDurationMs: 2000, stalledIntervalMs: 1000 });
      for (const e of ['active', 'chunkDone', 'completed', 'failed']) w.on(e, (x) => process.stdout.write(JSON.stringify({ event: e, job: x.id }) + '\\n'));
      process.stdout.write(JSON.stringify({ event: 'ready' }) + '\\n');`;
    const fleet = spawnWorkers(3, () => spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] }));
    const queue = await createJobQueue({ connection: redis.url, name: 'dist-kill' });
    try {
      await vi.waitFor(() => expect(fleet.events.every((e) => e.some((x) => x.event === 'ready'))).toBe(true), { timeout: 15_000 });
      const init = { live: false, source: { type: 'test' as const, duration: 42 }, encoding: { width: 640, height: 360 }, outputs: [{ path: join(dir, 'killed-chunk.mp4') }], storage: { storage: { type: 'local' as const, dir: store } } };
      const handle = await queue.submit(init, { distributed: { chunks: 3 } });
      // The first worker seen running a chunk and not the export itself is killed.
      let victim = -1;
      let chunk = '';
      await vi.waitFor(() => {
        victim = fleet.events.findIndex((e) => e.some((x) => x.event === 'active' && x.job!.includes('-chunk-')) && !e.some((x) => x.job === handle.id));
        expect(victim).toBeGreaterThanOrEqual(0);
      }, { timeout: 20_000, interval: 20 });
      chunk = fleet.events[victim]!.find((x) => x.event === 'active' && x.job!.includes('-chunk-'))!.job!;
      fleet.procs[victim]!.kill('SIGKILL');
      const result = await handle.result();
      expect(result.status).toBe('COMPLETE');
      // That chunk ran again on another worker; no other chunk ran twice.
      const starts = fleet.events.flat().filter((e) => e.event === 'active' && e.job!.includes('-chunk-')).map((e) => e.job);
      expect(starts.filter((j) => j === chunk)).toHaveLength(2);
      expect(new Set(starts).size).toBe(3);
      expect(starts).toHaveLength(4);
      const survivors = fleet.events.filter((_, i) => i !== victim).flat();
      expect(survivors.some((e) => e.event === 'chunkDone' && e.job === chunk)).toBe(true);
      // Packet for packet the local split's all the same.
      const local = join(dir, 'killed-local.mp4');
      await record({ ...init, parallel: 3, storage: undefined, outputs: [{ path: local }] } as never);
      expect(await streamMd5(join(dir, 'killed-chunk.mp4'), 'v')).toBe(await streamMd5(local, 'v'));
      expect(await streamMd5(join(dir, 'killed-chunk.mp4'), 'a')).toBe(await streamMd5(local, 'a'));
      expect(frames(streamOf(await probe(join(dir, 'killed-chunk.mp4')), 'video'))).toBe(1260);
      // Only the joined output is left in the store: the chunks' files were removed.
      expect(readdirSync(store, { recursive: true }).filter((f) => String(f).includes('chunk-') && !String(f).endsWith('/'))).toEqual([]);
    } finally {
      await queue.close();
      await fleet.stop();
    }
  }, 120_000);

  it('on one worker of 1 core the export runs its chunks beside itself, one at a time; stopped, it completes with the chunks handed on, and leaves no chunk job or file behind', async () => {
    const store = join(dir, 'store-stop');
    mkdirSync(store);
    const NAME = 'dist-stop';
    const queue = await createJobQueue({ connection: redis.url, name: NAME });
    // 1 core at --max-cpu 0.8: a chunk (1 core) fits only because the export's own job waits on it.
    const w = await createWorker({ connection: redis.url, name: NAME, cores: 1 });
    const done: number[] = [];
    w.on('chunkDone', ({ index }) => done.push(index));
    let most = 0;
    w.on('active', () => (most = Math.max(most, w.running)));
    try {
      const handle = await queue.submit({ live: false, source: { type: 'test', duration: 40 }, encoding: { width: 320, height: 240 }, outputs: [{ path: join(dir, 'stopped.mp4') }], storage: { storage: { type: 'local', dir: store } } }, { distributed: { chunks: 4 } });
      await vi.waitFor(() => expect(done.length).toBeGreaterThan(0), { timeout: 30_000 });
      w.stopRunning();
      const result = await handle.result();
      // The job completed (a flow's parent could not, with children pending): the video ends after the chunk being handed on.
      expect(result.status).toBe('COMPLETE');
      expect(result.chunks.length).toBeGreaterThan(0);
      expect(result.chunks.length).toBeLessThan(4);
      expect(frames(streamOf(await probe(join(dir, 'stopped.mp4')), 'video'))).toBe(result.chunks.length * 300);
      // The export and one chunk at most ran at once.
      expect(most).toBe(2);
      // The chunks nobody took are gone from the queue, and the chunk files from the store.
      const raw = new Queue(NAME, { connection: { host: '127.0.0.1', port: redis.port } });
      try {
        await vi.waitFor(async () => expect((await raw.getJobs(['waiting', 'active', 'delayed', 'prioritized'])).map((j) => j.id)).toEqual([]), { timeout: 20_000 });
      } finally {
        await raw.close();
      }
      expect(existsSync(join(store, '.avpipe-chunks', handle.id, 'r0'))).toBe(false);
    } finally {
      await w.close();
      await queue.close();
    }
  }, 90_000);

  it('one worker given two distributed exports runs one at a time (the second waits, so the first\'s chunks have room) and both complete', async () => {
    const store = join(dir, 'store-two');
    mkdirSync(store);
    const NAME = 'dist-two';
    const queue = await createJobQueue({ connection: redis.url, name: NAME });
    const w = await createWorker({ connection: redis.url, name: NAME, concurrency: 2 });
    const refused: string[] = [];
    w.on('refused', ({ reason }) => refused.push(reason));
    try {
      const exportOf = (name: string) => queue.submit({ live: false, source: { type: 'test', duration: 8 }, encoding: { width: 160, height: 120 }, outputs: [{ path: join(dir, name) }], storage: { storage: { type: 'local', dir: store } } }, { distributed: { chunks: 2 } });
      const [a, b] = await Promise.all([exportOf('two-a.mp4'), exportOf('two-b.mp4')]);
      const [ra, rb] = await Promise.all([a.result(), b.result()]);
      expect([ra.status, rb.status]).toEqual(['COMPLETE', 'COMPLETE']);
      expect([ra.chunks.length, rb.chunks.length]).toEqual([2, 2]);
      expect(refused).toContain('this worker already runs a distributed export: one at a time, so its chunks have room');
    } finally {
      await w.close();
      await queue.close();
    }
  }, 90_000);
});
