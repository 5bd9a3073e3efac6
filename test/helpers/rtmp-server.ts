import { createRequire } from 'node:module';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from './ports.js';

const require = createRequire(import.meta.url);

/** node-media-server 4 (an independent RTMP server from npm) started in this process, recording every stream as FLV. */
export interface RtmpServer {
  port: number;
  /** Resolves with the recording's path when the next publish of `streamPath` (e.g. /live/a) has been recorded to the end. */
  recorded: (streamPath: string) => Promise<string>;
  stop: () => Promise<void>;
}

export async function startRtmpServer(dir: string): Promise<RtmpServer> {
  const NodeMediaServer = require('node-media-server') as new (config: unknown) => { run: () => Promise<void>; stop: () => Promise<void>; on: (e: string, f: (s: { streamPath: string; filePath: string }) => void) => void };
  const logger = require('node-media-server/src/core/logger.js') as { level: string };
  const port = await freePort();
  const nms = new NodeMediaServer({
    rtmp: { port, chunk_size: 60000, gop_cache: true, ping: 30, ping_timeout: 60 },
    http: { port: await freePort(), allow_origin: '*' },
    record: { path: join(dir, 'record') },
    store: { path: join(dir, 'nms-data') },
  });
  logger.level = process.env['NMS_LOG'] ?? 'error';
  // The server keeps a publish open for 30 s after its publisher leaves (so a client that comes back
  // appends to the same recording); the tests want the recording closed promptly.
  const context = require('node-media-server/src/core/context.js') as { broadcasts: Map<string, { publishGraceMs: number }> };
  nms.on('postPublish', (s) => {
    const b = context.broadcasts.get(s.streamPath);
    if (b !== undefined) b.publishGraceMs = 200;
  });
  const waiting: { path: string; resolve: (f: string) => void }[] = [];
  nms.on('doneRecord', (s) => {
    const i = waiting.findIndex((w) => w.path === s.streamPath);
    if (i >= 0) waiting.splice(i, 1)[0]!.resolve(s.filePath);
  });
  await nms.run();
  return {
    port,
    recorded: (path) => new Promise((resolve) => waiting.push({ path, resolve })),
    stop: () => nms.stop(),
  };
}

/** A TCP proxy to `port` whose connections the test can cut. */
export async function startProxy(port: number): Promise<{
  port: number;
  /** Drops every connection now; `refuse` more that come next are dropped as they connect. */
  cut: (refuse?: number) => void;
  /** When each connection came (performance.now(), ms), refused ones included. */
  connects: number[];
  close: () => Promise<void>;
}> {
  const pairs: Socket[][] = [];
  const connects: number[] = [];
  let refusing = 0;
  const server: Server = createServer((client) => {
    connects.push(performance.now());
    if (refusing > 0) {
      refusing--;
      client.destroy();
      return;
    }
    const upstream = new (require('node:net') as typeof import('node:net')).Socket();
    upstream.connect(port, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const kill = (): void => { client.destroy(); upstream.destroy(); };
    client.on('error', kill);
    upstream.on('error', kill);
    client.on('close', kill);
    upstream.on('close', kill);
    pairs.push([client, upstream]);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    cut: (refuse = 0) => {
      refusing = refuse;
      for (const p of pairs.splice(0)) for (const s of p) s.destroy();
    },
    connects,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A server that accepts connections and never answers: a stalled RTMP endpoint. */
export async function startBlackHole(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.pause();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

/** An RTMP server for a whole test file: started before its tests, stopped after; call the getter inside tests. */
export function rtmpServerForTests(dir: string): () => RtmpServer {
  let server: RtmpServer | undefined;
  beforeAll(async () => {
    server = await startRtmpServer(dir);
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => server!;
}

/** A TLS front for `port` (RTMPS as a CDN terminates it), with the given key and certificate. */
export async function startTlsProxy(port: number, key: Buffer, cert: Buffer): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createTlsServer({ key, cert }, (client) => {
    const upstream = connect(port, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    const kill = (): void => { client.destroy(); upstream.destroy(); };
    for (const s of [client, upstream]) { s.on('error', kill); s.on('close', kill); }
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}
