import { spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseServeArgs } from '../../src/cli/args.js';
import { WhipServer, type PipelineResult, type WhipServerOptions } from '../../src/index.js';
import { WorkerHost } from '../../src/server/worker-host.js';
import { tmpDir } from '../helpers/tmp.js';
import { publish } from '../helpers/webrtc-publisher.js';
import { offerSdp } from '../helpers/webrtc-publisher.js';

const dir = tmpDir();
const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const LOOPBACK = ['127.0.0.1'];
/** What the issue allows a hostile request to delay another by. */
const MAX_DELAY_MS = 100;

/** One HTTP answer, and how long it took from the request's start. */
interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  ms: number;
}

/** One request on its own connection (no pooling: each test controls its connections). */
function send(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string } = {}): Promise<Answer> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: opts.method ?? 'POST', headers: opts.headers, agent: false, ...(opts.localAddress === undefined ? {} : { localAddress: opts.localAddress }) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString(), ms: performance.now() - start }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** POSTs an SDP offer. */
function post(url: string, offer: string, extra: { token?: string; localAddress?: string } = {}): Promise<Answer> {
  return send(url, {
    headers: { 'Content-Type': 'application/sdp', ...(extra.token === undefined ? {} : { Authorization: `Bearer ${extra.token}` }) },
    body: offer, ...(extra.localAddress === undefined ? {} : { localAddress: extra.localAddress }),
  });
}

/** A request no WHIP server should spend time on: GET on the endpoint (405). */
function junk(base: string): Promise<Answer> {
  return send(`${base}/whip/junk`, { method: 'GET' });
}


/** An SDP session header followed by `n` m-lines of `line`. */
function manyMLines(n: number, line: string): string {
  return `v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n${`${line}\r\n`.repeat(n)}`;
}

/** A server on a free loopback port, closed (and its sessions finalized) after `body`. */
async function withServer(options: Partial<WhipServerOptions>, body: (base: string, server: WhipServer) => Promise<void>): Promise<void> {
  const server = new WhipServer({ config: (name, id) => ({ outputs: [{ path: join(dir, `${name}-${id}.webm`) }] }), iceHosts: LOOPBACK, ...options });
  const base = await server.listen(0);
  try {
    await body(base, server);
  } finally {
    await server.close();
  }
}

/** Everything a raw socket receives until the server closes it, and when that was. */
function untilClosed(socket: Socket): Promise<{ data: string; ms: number }> {
  const start = performance.now();
  let data = '';
  socket.on('data', (d: Buffer) => (data += d.toString()));
  return new Promise((resolve) => socket.on('close', () => resolve({ data, ms: performance.now() - start })));
}

function connected(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('WHIP hardening: offers bounded before anything parses them', () => {
  it('a 3000-m-line offer gets its 413 (over 64 KiB) or 400 (under it, over 16 m-lines) in milliseconds, and a request timed meanwhile is not delayed', async () => {
    await withServer({}, async (base) => {
      await junk(base); // warm-up: the first request pays for lazy loading
      const big = manyMLines(3000, 'm=audio 9 UDP/TLS/RTP/SAVPF 111'); // ~100 KB
      const compact = manyMLines(3000, 'm=a 9 U 0'); // ~33 KB
      expect(big.length).toBeGreaterThan(64 * 1024);
      expect(compact.length).toBeLessThan(64 * 1024);
      const [hostileBig, timed1, hostileCompact, timed2] = await Promise.all([post(`${base}/whip/h1`, big), junk(base), post(`${base}/whip/h2`, compact), post(`${base}/whip/other`, 'hello')]);
      expect(hostileBig.status).toBe(413);
      expect(hostileBig.headers.connection).toBe('close');
      expect(hostileCompact.status).toBe(400);
      expect(hostileCompact.body).toBe('the offer has 3000 m-lines, over the 16 this server takes\n');
      expect(timed1.status).toBe(405);
      expect(timed2.status).toBe(400);
      for (const a of [hostileBig, hostileCompact, timed1, timed2]) expect(a.ms).toBeLessThan(MAX_DELAY_MS);
      // The bounds themselves: 17 m-lines is one too many; 64 KiB exactly is read (and refused as no SDP), one byte more is not.
      expect((await post(`${base}/whip/h3`, manyMLines(17, 'm=video 9 UDP/TLS/RTP/SAVPF 96'))).status).toBe(400);
      expect((await post(`${base}/whip/h4`, 'x'.repeat(64 * 1024))).body).toBe('the offer is not an SDP (it must start with v=0)\n');
      expect((await post(`${base}/whip/h5`, 'x'.repeat(64 * 1024 + 1))).status).toBe(413);
    });
  });

  it('a hostile offer trickled in chunks holds nothing: other requests answer at once, and it gets its 400 the moment it ends', async () => {
    await withServer({}, async (base, server) => {
      const port = Number(new URL(base).port);
      const socket = await connected(port);
      const answer = untilClosed(socket);
      socket.write(`POST /whip/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`);
      const body = manyMLines(3000, 'm=a 9 U 0');
      const parts = 10;
      const size = Math.ceil(body.length / parts);
      for (let i = 0; i < parts; i++) {
        const chunk = body.slice(i * size, (i + 1) * size);
        socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
        const [a, b] = await Promise.all([junk(base), post(`${base}/whip/x${i}`, 'hello')]);
        expect([a.status, b.status]).toEqual([405, 400]);
        expect(Math.max(a.ms, b.ms)).toBeLessThan(MAX_DELAY_MS);
        await sleep(50);
      }
      const ended = performance.now();
      socket.write('0\r\n\r\n');
      const { data } = await answer;
      expect(performance.now() - ended).toBeLessThan(MAX_DELAY_MS);
      expect(data).toMatch(/^HTTP\/1\.1 400 /);
      expect(server.sessions).toHaveLength(0);
    });
  });

  it('a slow body (headers, then a byte now and then) is cut off with 408 at the request timeout; slow headers at the headers timeout', async () => {
    await withServer({ headersTimeoutMs: 800, requestTimeoutMs: 1500 }, async (base) => {
      const port = Number(new URL(base).port);
      const bodySocket = await connected(port);
      const bodyAnswer = untilClosed(bodySocket);
      bodySocket.write('POST /whip/trickle HTTP/1.1\r\nHost: x\r\nContent-Type: application/sdp\r\nContent-Length: 1000\r\n\r\nv=0\r\n');
      const headerSocket = await connected(port);
      const headerAnswer = untilClosed(headerSocket);
      headerSocket.write('POST /whip/trickle HTTP/1.1\r\nHost: x\r\n');
      const drip = setInterval(() => {
        if (!bodySocket.destroyed) bodySocket.write('a');
        if (!headerSocket.destroyed) headerSocket.write('X-Drip: 1\r\n');
      }, 100);
      try {
        // Meanwhile the server answers others at once.
        expect((await junk(base)).ms).toBeLessThan(MAX_DELAY_MS);
        const [b, h] = await Promise.all([bodyAnswer, headerAnswer]);
        expect(b.data).toMatch(/^HTTP\/1\.1 408 /);
        expect(h.data).toMatch(/^HTTP\/1\.1 408 /);
        // Node sweeps for timeouts every min(1 s, headersTimeout / 4): the cut comes within that of the bound.
        expect(b.ms).toBeGreaterThanOrEqual(1400);
        expect(b.ms).toBeLessThan(1500 + 600);
        expect(h.ms).toBeGreaterThanOrEqual(700);
        expect(h.ms).toBeLessThan(800 + 600);
      } finally {
        clearInterval(drip);
        bodySocket.destroy();
        headerSocket.destroy();
      }
    });
  }, 15_000);
});

describe('WHIP trickle ICE (RFC 9725 PATCH)', () => {
  it('takes candidates with the session\'s ETag in If-Match, alone or in a list (204, counted; one off iceHosts ignored, counted); another or a weak ETag 412 (not echoed), an ICE restart 422, a wrong type 415, a body without a= 400, an unknown session 404', async () => {
    await withServer({}, async (base, server) => {
      const created = await post(`${base}/whip/trickle`, await offerSdp());
      expect(created.status).toBe(201);
      const etag = created.headers.etag!;
      expect(etag).toMatch(/^"[0-9a-f-]{36}"$/);
      const resource = new URL(created.headers.location!, base).href;
      const patch = (headers: Record<string, string>, body: string): Promise<Answer> =>
        send(resource, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', ...headers }, body });
      const fragment = (host: string): string => `a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 UDP 2015364095 ${host} 50000 typ host\r\na=end-of-candidates\r\n`;
      const stats = () => server.sessions[0]!.stats()!.candidates;
      const before = stats();
      expect(before.trickled).toBe(0);

      expect((await patch({ 'If-Match': etag }, fragment('127.0.0.1'))).status).toBe(204);
      expect(stats()).toEqual({ ...before, trickled: 1, ignored: 0 });
      // A client from before the RFC's If-Match rule is let through.
      expect((await patch({}, fragment('127.0.0.1'))).status).toBe(204);
      // Off the loopback this server's ICE is held to: taken (204) and left out, counted.
      expect((await patch({ 'If-Match': etag }, fragment('10.1.2.3'))).status).toBe(204);
      expect(stats()).toEqual({ ...before, trickled: 2, ignored: 1 });

      const wrong = await patch({ 'If-Match': '"not-this-session"' }, fragment('127.0.0.1'));
      // The header is not echoed back (it is the client's input).
      expect([wrong.status, wrong.body]).toEqual([412, 'If-Match does not name this session\'s ETag\n']);
      // A list of tags matches when one of them is the session's; a weak tag never does.
      expect((await patch({ 'If-Match': `"other", ${etag}` }, fragment('127.0.0.1'))).status).toBe(204);
      expect((await patch({ 'If-Match': `W/${etag}` }, fragment('127.0.0.1'))).status).toBe(412);
      expect((await patch({ 'If-Match': '*' }, fragment('127.0.0.1'))).status).toBe(422);
      expect((await send(resource, { method: 'PATCH', headers: { 'Content-Type': 'application/sdp', 'If-Match': etag }, body: fragment('127.0.0.1') })).status).toBe(415);
      expect((await patch({ 'If-Match': etag }, 'hello')).status).toBe(400);
      expect((await send(`${base}/whip/trickle/00000000-0000-0000-0000-000000000000`, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag' }, body: fragment('127.0.0.1') })).status).toBe(404);
      // None of the refused ones reached the peer.
      expect(stats()).toEqual({ ...before, trickled: 3, ignored: 1 });
      expect((await send(resource, { method: 'DELETE' })).status).toBe(200);
    });
  });
});

describe('WHIP hardening: sessions, connections, slow opens', () => {
  it('of maxSessions + 1 valid offers at once, exactly maxSessions get 201 and one gets 503 at once', async () => {
    await withServer({ maxSessions: 3, source: { trackTimeoutMs: 500 } }, async (base, server) => {
      const offers = await Promise.all(Array.from({ length: 4 }, () => offerSdp()));
      const answers = await Promise.all(offers.map((sdp, i) => post(`${base}/whip/slot${i}`, sdp)));
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).toEqual([201, 201, 201, 503]);
      const refused = answers.find((a) => a.status === 503)!;
      expect(refused.body).toBe('3 sessions are running or starting, the most this server takes\n');
      // At once: not after the opens it lost to (their answers wait on ICE gathering; on the main
      // thread their werift work is what may delay it at all).
      expect(refused.ms).toBeLessThan(Math.min(...answers.filter((a) => a.status === 201).map((a) => a.ms)));
      expect(server.sessions).toHaveLength(3);
    });
  }, 30_000);

  it('a session config that is not live is refused by the one live rule (500 naming live), its slot freed, main thread and workers alike', async () => {
    for (const workers of [0, 2]) {
      await withServer({ workers, maxSessions: 1, config: (name) => ({ live: false, outputs: [{ path: join(dir, `${name}.webm`) }] }) }, async (base, server) => {
        const a = await post(`${base}/whip/replay${workers}`, await offerSdp());
        expect(a.status).toBe(500);
        expect(a.body).toBe(`invalid pipeline config:\n  live: replay${workers} is a live source (its media comes at 1x, whatever the pipeline asks): the pipeline must be live\n`);
        expect(server.sessions).toHaveLength(0);
        // The slot is free again: a second offer gets the same answer, not a 503.
        expect((await post(`${base}/whip/replay${workers}`, await offerSdp())).status).toBe(500);
      });
    }
  }, 30_000);

  it('past maxConnections a new connection is dropped unanswered; one freed lets the next in', async () => {
    await withServer({ maxConnections: 2 }, async (base) => {
      const port = Number(new URL(base).port);
      const held = [await connected(port), await connected(port)];
      await sleep(50);
      const third = await connected(port);
      const dropped = await untilClosed(third);
      expect(dropped.data).toBe('');
      held[0]!.destroy();
      await sleep(100);
      const a = await send(`${base}/whip/cam`, { method: 'OPTIONS' });
      expect(a.status).toBe(204);
      held[1]!.destroy();
    });
  });

  for (const workers of [0, 2]) {
    it(`an open that outlasts openTimeoutMs (ICE gathering on a STUN server that never answers) fails alone with 503 and frees its slot; nothing waits on it (workers: ${workers})`, async () => {
      // A UDP socket that takes STUN requests and never answers: werift's gathering waits 5 s on it.
      const stun: UdpSocket = createSocket('udp4');
      await new Promise<void>((resolve) => stun.bind(0, '127.0.0.1', () => resolve()));
      const stunPort = stun.address().port;
      try {
        await withServer({ iceHosts: undefined, source: { iceServers: [{ urls: `stun:127.0.0.1:${stunPort}` }] }, openTimeoutMs: 1000, maxSessions: 1, workers }, async (base, server) => {
          const [offerA, offerB, offerC] = await Promise.all([offerSdp(), offerSdp(), offerSdp()]);
          await junk(base);
          const slow = post(`${base}/whip/slow`, offerA);
          await sleep(200);
          // The slow open holds the one slot, and nothing else: a junk request and another POST answer at once.
          const [j, b, bad] = await Promise.all([junk(base), post(`${base}/whip/other`, offerB), post(`${base}/whip/bad`, 'hello')]);
          expect([j.status, b.status, bad.status]).toEqual([405, 503, 400]);
          expect(b.body).toBe('1 sessions are running or starting, the most this server takes\n');
          for (const a of [j, b, bad]) expect(a.ms).toBeLessThan(MAX_DELAY_MS);
          const a = await slow;
          expect(a.status).toBe(503);
          expect(a.body).toBe('slow: the offer was not answered within 1000 ms (ICE gathering)\n');
          expect(a.ms).toBeGreaterThanOrEqual(1000);
          expect(a.ms).toBeLessThan(2500);
          expect(server.sessions).toHaveLength(0);
          // The slot is free again: the next offer is tried (and, the STUN server still silent, times out too).
          const c = await post(`${base}/whip/next`, offerC);
          expect(c.status).toBe(503);
          expect(c.body).toBe('next: the offer was not answered within 1000 ms (ICE gathering)\n');
        });
      } finally {
        stun.close();
      }
    }, 20_000);
  }
});

describe('WHIP hardening: a worker thread that dies', () => {
  it('ends every session it held FAILED with a typed error, and fails every call at once after it: nothing waits on it', async () => {
    const host = new WorkerHost({ iceHosts: LOOPBACK, openTimeoutMs: 10_000 });
    const ended: { id: string; result: PipelineResult }[] = [];
    const [offerA, offerB] = await Promise.all([offerSdp(), offerSdp()]);
    for (const [id, offer] of [['a', offerA], ['b', offerB]] as const) {
      const answer = await host.open(id, `dies-${id}`, { outputs: [{ path: join(dir, `dies-${id}.webm`) }] }, offer, (result) => ended.push({ id, result }));
      expect(answer).toContain('v=0');
    }
    expect(ended).toEqual([]);
    // The thread goes away under its sessions (as on an uncaught error or out of memory).
    await host.close();
    expect(ended.map((e) => [e.id, e.result.status, e.result.error?.code])).toEqual([['a', 'FAILED', 'SOURCE_FAILED'], ['b', 'FAILED', 'SOURCE_FAILED']]);
    expect(ended[0]!.result.error!.message).toMatch(/^a WHIP worker thread ended while it held sessions: it exited with code \d+$/);
    expect(host.load).toBe(Infinity);
    const t0 = performance.now();
    await expect(host.waiting('a')).rejects.toMatchObject({ code: 'SOURCE_FAILED' });
    await expect(host.open('c', 'dies-c', { outputs: [{ path: join(dir, 'dies-c.webm') }] }, offerA, () => undefined)).rejects.toMatchObject({ code: 'SOURCE_FAILED' });
    expect(performance.now() - t0).toBeLessThan(MAX_DELAY_MS);
    // Told once: a second close changes nothing.
    await host.close();
    expect(ended).toHaveLength(2);
  }, 20_000);
});

describe('WHIP hardening: token and CORS', () => {
  it('serve reads the token from --token, --token-file (trailing newline dropped) or AVPIPE_WHIP_TOKEN, and refuses a tokenless non-loopback listen without --allow-no-token', () => {
    const file = join(dir, 'token.txt');
    writeFileSync(file, 'from-file\n');
    const base = ['--whip', '--output-dir', dir];
    const serve = (args: string[], env: Record<string, string> = {}): ReturnType<typeof parseServeArgs> => parseServeArgs([...base, ...args], env);
    const token = (r: ReturnType<typeof parseServeArgs>): string | undefined => ('problems' in r ? `problems: ${JSON.stringify(r.problems)}` : r.token);
    expect(token(serve(['--listen', '0.0.0.0:8080', '--token', 'argv']))).toBe('argv');
    expect(token(serve(['--listen', '0.0.0.0:8080', '--token-file', file]))).toBe('from-file');
    expect(token(serve(['--listen', '0.0.0.0:8080'], { AVPIPE_WHIP_TOKEN: 'from-env' }))).toBe('from-env');
    // A flag wins over the environment.
    expect(token(serve(['--listen', '0.0.0.0:8080', '--token-file', file], { AVPIPE_WHIP_TOKEN: 'from-env' }))).toBe('from-file');
    expect(serve(['--listen', '0.0.0.0:8080', '--token', 'a', '--token-file', file])).toEqual({ problems: [{ field: '--token-file', message: 'give --token or --token-file, not both' }] });
    expect(serve(['--listen', '0.0.0.0:8080', '--token-file', join(dir, 'missing')])).toEqual({ problems: [{ field: '--token-file', message: `cannot read ${join(dir, 'missing')}: ENOENT` }] });
    writeFileSync(join(dir, 'empty.txt'), '\n');
    expect(serve(['--listen', '0.0.0.0:8080', '--token-file', join(dir, 'empty.txt')])).toEqual({ problems: [{ field: '--token-file', message: 'the token is empty' }] });
    expect(serve(['--listen', '0.0.0.0:8080'])).toEqual({
      problems: [{ field: '--token', message: 'is required to listen on 0.0.0.0, which other machines reach (or --token-file PATH, or AVPIPE_WHIP_TOKEN; --allow-no-token to serve without one)' }],
    });
    expect(token(serve(['--listen', '0.0.0.0:8080', '--allow-no-token']))).toBeUndefined();
    for (const listen of ['127.0.0.1:8080', '127.0.0.2:8080', 'localhost:8080', '[::1]:8080']) expect(token(serve(['--listen', listen]))).toBeUndefined();
    for (const listen of ['192.168.1.10:8080', '[::]:8080', 'example.com:8080']) expect('problems' in serve(['--listen', listen])).toBe(true);
    const parsed = serve(['--listen', '127.0.0.1:8080', '--cors-origin', 'https://a.example', '--cors-origin', 'https://b.example', '--max-sessions', '5', '--max-connections', '20']);
    expect('problems' in parsed ? parsed.problems : [parsed.corsOrigins, parsed.maxSessions, parsed.maxConnections]).toEqual([['https://a.example', 'https://b.example'], 5, 20]);
    expect(serve(['--listen', '127.0.0.1:8080', '--max-sessions', '0'])).toEqual({ problems: [{ field: '--max-sessions', message: 'must be an integer > 0, got "0"' }] });
  });

  it('the built CLI refuses a tokenless serve on 0.0.0.0 up front (exit 2, naming --token), and serves with the token from AVPIPE_WHIP_TOKEN', async () => {
    const refused = spawn(process.execPath, [CLI, 'serve', '--whip', '--listen', '0.0.0.0:0', '--output-dir', join(dir, 'cli')], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AVPIPE_WHIP_TOKEN: '' } });
    let stderr = '';
    refused.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => refused.on('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('AVPIPE_WHIP_TOKEN: the token is empty');
    const env = { ...process.env };
    delete env['AVPIPE_WHIP_TOKEN'];
    const refused2 = spawn(process.execPath, [CLI, 'serve', '--whip', '--listen', '0.0.0.0:0', '--output-dir', join(dir, 'cli')], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stderr2 = '';
    refused2.stderr.on('data', (d: Buffer) => (stderr2 += d.toString()));
    expect(await new Promise<number | null>((resolve) => refused2.on('exit', resolve))).toBe(2);
    expect(stderr2).toContain('--token: is required to listen on 0.0.0.0');

    const cli = spawn(process.execPath, [CLI, 'serve', '--whip', '--listen', '127.0.0.1:0', '--output-dir', join(dir, 'cli'), '--workers', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, AVPIPE_WHIP_TOKEN: 'env-secret' } });
    let out = '';
    cli.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => cli.on('exit', resolve));
    try {
      for (let i = 0; i < 100 && !out.includes('WHIP endpoint at'); i++) await sleep(100);
      const base = /WHIP endpoint at (http:\/\/[^/]+)\/whip/.exec(out)![1]!;
      expect(out).toContain('(bearer token required)');
      expect((await post(`${base}/whip/cam`, 'hello')).status).toBe(401);
      expect((await post(`${base}/whip/cam`, 'hello', { token: 'env-secret' })).status).toBe(400);
      cli.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      cli.kill('SIGKILL');
    }
  }, 20_000);

  it('CORS: any origin without a token; none with a token unless listed; a list echoes only its own origins', async () => {
    const allow = (a: Answer): string | undefined => a.headers['access-control-allow-origin'] as string | undefined;
    const preflight = (base: string, origin: string): Promise<Answer> => send(`${base}/whip/cam`, { method: 'OPTIONS', headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' } });
    await withServer({}, async (base) => {
      const a = await preflight(base, 'http://127.0.0.1:5555');
      expect([a.status, allow(a), a.headers.vary]).toEqual([204, '*', undefined]);
    });
    await withServer({ token: 'secret' }, async (base) => {
      const a = await preflight(base, 'https://evil.example');
      expect([a.status, allow(a)]).toEqual([204, undefined]);
      const refused = await send(`${base}/whip/cam`, { headers: { Origin: 'https://evil.example', 'Content-Type': 'application/sdp' }, body: 'v=0\r\n' });
      expect([refused.status, allow(refused)]).toEqual([401, undefined]);
    });
    await withServer({ token: 'secret', corsOrigins: ['https://studio.example'] }, async (base) => {
      const ok = await preflight(base, 'https://studio.example');
      expect([ok.status, allow(ok), ok.headers.vary, ok.headers['access-control-allow-headers']]).toEqual([204, 'https://studio.example', 'Origin', 'Authorization, Content-Type, If-Match']);
      const other = await preflight(base, 'https://evil.example');
      expect([other.status, allow(other), other.headers.vary]).toEqual([204, undefined, 'Origin']);
      const answered = await send(`${base}/whip/cam`, { headers: { Origin: 'https://studio.example', 'Content-Type': 'application/sdp', Authorization: 'Bearer secret' }, body: 'hello' });
      expect([answered.status, allow(answered)]).toEqual([400, 'https://studio.example']);
    });
    await withServer({ token: 'secret', corsOrigins: ['*'] }, async (base) => {
      expect(allow(await preflight(base, 'https://anywhere.example'))).toBe('*');
    });
  });
});

describe('WHIP hardening: a waiting session is resumed only by its own publisher', () => {
  /**
   * A real publisher records for a second on `cam` and vanishes without a DELETE; once its session
   * waits for it, `intruder` and then `owner` POST an offer for `cam`.
   */
  async function takeover(options: Partial<WhipServerOptions>, owner: { token?: string; localAddress?: string }, intruder: { token?: string; localAddress?: string }): Promise<{ intruder: Answer; owner: Answer; resource: string; result: PipelineResult; sessions: number }> {
    let out!: { intruder: Answer; owner: Answer; resource: string; result: PipelineResult; sessions: number };
    await withServer({ source: { onLeave: 'wait', leaveTimeoutMs: 10_000, mediaTimeoutMs: 800 }, ...options }, async (base, server) => {
      const endpoint = `${base}/whip/cam`;
      let resource = '';
      const ended = new Promise<PipelineResult>((resolve) => server.once('end', (_s, r) => resolve(r)));
      const { pc } = await publish({
        seconds: 1, width: 320, height: 240,
        signal: async (offer) => {
          const a = await post(endpoint, offer, owner);
          if (a.status !== 201) throw new Error(`POST ${a.status} ${a.body}`);
          resource = a.headers.location!;
          return a.body;
        },
      });
      await pc.close();
      const session = server.sessions[0]!;
      for (let i = 0; i < 100 && session.stats()?.leftBecause == null; i++) await sleep(50);
      expect(session.stats()?.leftBecause).toBe('no media for 800 ms');
      await sleep(400); // the leave drains (250 ms of quiet), then the session waits
      const [offer1, offer2] = await Promise.all([offerSdp(), offerSdp()]);
      const refused = await post(endpoint, offer1, intruder);
      const resumed = await post(endpoint, offer2, owner);
      expect(server.sessions).toHaveLength(1);
      const sessions = session.stats()!.sessions;
      await send(new URL(resource, base).href, { method: 'DELETE', headers: owner.token === undefined ? {} : { Authorization: `Bearer ${owner.token}` } });
      out = { intruder: refused, owner: resumed, resource, result: await ended, sessions };
    });
    return out;
  }

  it('with a token per publisher: another token gets 409, the session\'s own token resumes it (201, same resource)', async () => {
    const r = await takeover({ token: ['alice-token', 'mallory-token'] }, { token: 'alice-token' }, { token: 'mallory-token' });
    expect(r.intruder.status).toBe(409);
    expect(r.intruder.body).toBe('stream "cam" belongs to a session waiting for its publisher; only that publisher may resume it\n');
    expect(r.owner.status).toBe(201);
    expect(r.owner.headers.location).toBe(r.resource);
    expect(r.sessions).toBe(2);
    expect(r.result.status).toBe('COMPLETE');
  }, 30_000);

  it('without a token: another address gets 409, the address that opened it resumes it', async () => {
    const r = await takeover({}, { localAddress: '127.0.0.1' }, { localAddress: '127.0.0.2' });
    expect(r.intruder.status).toBe(409);
    expect(r.owner.status).toBe(201);
    expect(r.owner.headers.location).toBe(r.resource);
    expect(r.sessions).toBe(2);
    expect(r.result.status).toBe('COMPLETE');
  }, 30_000);
});
