import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { parseServeArgs } from '../../src/cli/args.js';
import { WhipServer } from '../../src/index.js';
import { createJobQueue, createWorker } from '../../src/jobs/index.js';
import { freePort } from '../helpers/ports.js';
import { REDIS_MISSING, startRedis } from '../helpers/redis-server.js';
import { describeNeeding } from '../helpers/peers.js';
import { tmpDir } from '../helpers/tmp.js';
import { offerSdp } from '../helpers/webrtc-publisher.js';

const dir = tmpDir();
const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** One HTTP request: its status, Location and body. */
function send(url: string, method: string, body?: string): Promise<{ status: number; location: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false, headers: body === undefined ? {} : { 'Content-Type': 'application/sdp' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, location: res.headers.location, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describeNeeding(REDIS_MISSING)('WHIP sessions on a job worker: live jobs pinned to the worker that holds them', () => {
  it('a session is admitted with the queue\'s jobs under one --max-cpu: a second session gets 503 naming why, a job waits for room, and both run once the first session ends', async () => {
    const redis = await startRedis();
    const NAME = 'avpipe-whip-fleet';
    // 2 cores at 0.3: room for one session (a WHIP session is costed as the 720p VP8 transcode its
    // config may need, 0.56 cores). The measured load is pinned at 0 so only the costs decide.
    const worker = await createWorker({ connection: redis.url, name: NAME, cores: 2, maxCpu: 0.3, load: () => ({ cpuCores: 0, availableMemoryBytes: 8 * 2 ** 30 }) });
    const queue = await createJobQueue({ connection: redis.url, name: NAME });
    const server = new WhipServer({ config: (name, id) => ({ outputs: [{ path: join(dir, `${name}-${id}.webm`) }] }), iceHosts: ['127.0.0.1'], admission: worker.sessionAdmission() });
    const events: string[] = [];
    worker.on('active', ({ id }) => events.push(`active ${id.split('/').slice(0, 2).join('/')}`));
    worker.on('refused', ({ id }) => events.push(`refused ${id.startsWith('whip/') ? id.split('/').slice(0, 2).join('/') : 'job'}`));
    worker.on('completed', ({ id }) => events.push(`completed ${id.startsWith('whip/') ? id.split('/').slice(0, 2).join('/') : 'job'}`));
    try {
      const base = await server.listen(0);
      const first = await send(`${base}/whip/alice`, 'POST', await offerSdp());
      expect(first.status).toBe(201);
      expect(worker.sessions).toBe(1);
      expect(worker.admission.reservedCpu).toBeCloseTo(0.558, 3);
      // The second publisher is refused by the worker's admission, not by --max-sessions.
      const second = await send(`${base}/whip/bob`, 'POST', await offerSdp());
      expect(second.status).toBe(503);
      expect(second.body).toMatch(/no room on this worker: costs 0\.56 cores; 0\.56 of 0\.60 in use/);
      // A queued job does not fit beside the session either: it waits in the queue.
      const job = await queue.submit({ live: true, source: { type: 'test', duration: 1 }, encoding: { width: 160, height: 120 }, outputs: [{ path: join(dir, 'beside-session.mp4') }] }, { cost: 0.3 });
      await vi.waitFor(() => expect(events).toContain('refused job'), { timeout: 10_000 });
      expect(events).not.toContain('completed job');
      // The first publisher leaves (WHIP DELETE): its session ends, completed as a job, and the room is back.
      expect((await send(`${base}${first.location!}`, 'DELETE')).status).toBe(200);
      await vi.waitFor(() => expect(events).toContain('completed whip/alice'), { timeout: 10_000 });
      expect(worker.sessions).toBe(0);
      expect((await job.result()).status).toBe('COMPLETE');
      // Bob, posting again, is admitted now.
      const again = await send(`${base}/whip/bob`, 'POST', await offerSdp());
      expect(again.status).toBe(201);
      expect(worker.sessions).toBe(1);
      expect((await send(`${base}${again.location!}`, 'DELETE')).status).toBe(200);
      await vi.waitFor(() => expect(events).toContain('completed whip/bob'), { timeout: 10_000 });
      expect(events.slice(0, 2)).toEqual(['active whip/alice', 'refused whip/bob']);
      expect(events).toContain('active whip/bob');
      // Draining, the worker refuses sessions.
      const closing = worker.close();
      const late = await send(`${base}/whip/carol`, 'POST', await offerSdp());
      expect(late.status).toBe(503);
      expect(late.body).toMatch(/draining/);
      await closing;
    } finally {
      await server.close();
      await worker.close();
      await queue.close();
      await redis.stop();
    }
  }, 60_000);
});

describeNeeding(REDIS_MISSING)('avpipe serve --redis: a WHIP server that is a worker of the fleet', () => {
  it('its sessions show in the worker\'s /metrics (running, reserved cost); SIGTERM ends it with exit 0', async () => {
    const redis = await startRedis();
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'serve', '--whip', '--listen', `127.0.0.1:${port}`, '--output-dir', join(dir, 'cli'), '--workers', '0', '--redis', redis.url, '--queue', 'avpipe-serve-fleet', '--metrics-port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await vi.waitFor(() => expect(err).toMatch(/WHIP endpoint at/), { timeout: 15_000 });
      const metrics = /metrics on (http:\/\/\S+\/metrics)/.exec(err)![1]!;
      expect((await send(`http://127.0.0.1:${port}/whip/cam`, 'POST', await offerSdp())).status).toBe(201);
      const scraped = await (await fetch(metrics)).text();
      expect(scraped).toMatch(/^avpipe_sessions_running\{queue="avpipe-serve-fleet"\} 1$/m);
      expect(scraped).toMatch(/^avpipe_running_cost_cores\{queue="avpipe-serve-fleet"\} 0\.558$/m);
      expect(scraped).toMatch(/^avpipe_jobs_total\{event="admitted",queue="avpipe-serve-fleet"\} 1$/m);
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number];
      expect(code).toBe(0);
      // Its end reported as the job's: a bare offer never connected, so the stop found it still starting.
      expect(err).toMatch(/\[job whip\/cam\/[0-9a-f-]{36}\] started \(run 1, cost 0\.558 cores\)\n[\s\S]*\[job whip\/cam\/[0-9a-f-]{36}\] ABORTED: \d+\.\d\d s of media in \d+\.\d\d s/);
    } finally {
      child.kill('SIGKILL');
      await redis.stop();
    }
  }, 60_000);
});

describe('serve --redis arguments', () => {
  it('the fleet options need --redis, and are checked as the worker\'s are', () => {
    const base = ['--whip', '--listen', '127.0.0.1:8080', '--output-dir', dir];
    const problems = (argv: string[]): string[] => {
      const r = parseServeArgs([...base, ...argv], {});
      return 'problems' in r ? r.problems.map((p) => `${p.field}: ${p.message}`) : [];
    };
    expect(problems(['--queue', 'q', '--max-cpu', '0.5'])).toEqual(['--queue: needs --redis', '--max-cpu: needs --redis']);
    expect(problems(['--redis', 'redis://127.0.0.1:6379', '--max-cpu', '2'])).toEqual(['--max-cpu: is the share of the cores jobs and sessions may fill, above 0 and at most 1, got "2"']);
    const ok = parseServeArgs([...base, '--redis', 'redis://127.0.0.1:6379', '--queue', 'rooms'], {});
    expect('problems' in ok ? ok.problems : ok.fleet).toEqual({ redis: 'redis://127.0.0.1:6379', queue: 'rooms', maxCpu: 0.8, metricsPort: undefined });
  });
});
