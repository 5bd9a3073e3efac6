import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CodecProvider } from '../codecs/codec-provider.js';
import type { PipelineConfigInit } from '../config/pipeline-config.js';
import { AvpipeError, type AvpipeErrorCode } from '../errors.js';
import type { PipelineResult, PipelineStatus } from '../pipeline/status.js';
import { candidatesOf } from '../sources/webrtc/sdp.js';
import type { WebRtcSourceOptions, WebRtcSourceStats } from '../sources/webrtc/webrtc-source.js';
import { SessionHost, type SessionHostOptions } from './session-host.js';

/** Options of a {@link WhipServer}. */
export interface WhipServerOptions {
  /** The pipeline of one session: its outputs named after the stream name and session id. Must be live. */
  config: (name: string, sessionId: string) => PipelineConfigInit;
  /** When set, every request must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** Host addresses ICE may use (e.g. `['127.0.0.1']`); see {@link WebRtcSourceOptions.iceHosts}. */
  iceHosts?: readonly string[];
  /** The rest of each session's source options. */
  source?: Omit<WebRtcSourceOptions, 'name' | 'iceHosts' | 'codecs'>;
  /** Codec provider for sessions that transcode (in-process sessions only: a worker uses node-av). */
  codecProvider?: CodecProvider;
  /** Sessions at once; more get 503. Default 64. */
  maxSessions?: number;
  /**
   * Worker threads the sessions are spread over (each session on the least loaded). 0 (default): every
   * session runs in this thread, which one core bounds. Configs sent to workers must be plain data (no
   * `storage`).
   */
  workers?: number;
}

/** One publisher's session, and its result once over. */
export interface WhipSession {
  id: string;
  name: string;
  /** The resource URL path (the Location of the 201). */
  resource: string;
  /** The pipeline's status (from a worker: at most a second old). */
  status(): PipelineStatus | 'IDLE';
  /** The source's counters (from a worker: at most a second old); the final ones once it is over. */
  stats(): WebRtcSourceStats | undefined;
  /** Resolves with the pipeline's result when the session is over. */
  finished: Promise<PipelineResult>;
}

/** Events a WHIP server emits. */
export interface WhipServerEvents {
  session: [WhipSession];
  end: [WhipSession, PipelineResult];
}

/** Stream names: what is safe in a file name and a URL path. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Offers larger than this are refused (an SDP is a few KB). */
const MAX_BODY = 256 * 1024;

/** An HTTP error with its status. */
class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

/** Where sessions run: this thread, or a worker thread. */
interface Host {
  /** Sessions placed here, for choosing the least loaded. */
  load: number;
  open(id: string, name: string, init: PipelineConfigInit, offer: string, onEnd: (result: PipelineResult, stats: WebRtcSourceStats) => void): Promise<string>;
  waiting(name: string): Promise<string | undefined>;
  resume(id: string, offer: string): Promise<string>;
  candidate(id: string, candidate: string, mid: string | undefined): Promise<void>;
  hangUp(id: string): void;
  stopAll(abort?: boolean): void;
  stats(id: string): { status: PipelineStatus | 'IDLE'; source: WebRtcSourceStats } | undefined;
  close(): Promise<void>;
}

/** Sessions in this thread. */
class LocalHost implements Host {
  load = 0;
  private readonly _host: SessionHost;
  constructor(options: SessionHostOptions) {
    this._host = new SessionHost(options);
  }
  open(id: string, name: string, init: PipelineConfigInit, offer: string, onEnd: (result: PipelineResult, stats: WebRtcSourceStats) => void): Promise<string> {
    return this._host.open(id, name, init, offer, onEnd);
  }
  async waiting(name: string): Promise<string | undefined> {
    return this._host.waiting(name);
  }
  resume(id: string, offer: string): Promise<string> {
    return this._host.resume(id, offer);
  }
  candidate(id: string, candidate: string, mid: string | undefined): Promise<void> {
    return this._host.candidate(id, candidate, mid);
  }
  hangUp(id: string): void {
    this._host.hangUp(id);
  }
  stopAll(abort = false): void {
    this._host.stopAll(abort);
  }
  stats(id: string): { status: PipelineStatus | 'IDLE'; source: WebRtcSourceStats } | undefined {
    return this._host.stats(id);
  }
  async close(): Promise<void> {}
}

/** Sessions in a worker thread (./whip-worker.js), driven by messages. */
class WorkerHost implements Host {
  load = 0;
  private readonly _worker: Worker;
  private _req = 0;
  private readonly _pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly _ends = new Map<string, (result: PipelineResult, stats: WebRtcSourceStats) => void>();
  private _stats = new Map<string, { status: PipelineStatus | 'IDLE'; source: WebRtcSourceStats }>();

  constructor(options: SessionHostOptions) {
    this._worker = new Worker(workerScript(), { workerData: options });
    this._worker.unref();
    this._worker.on('message', (m: { req?: number; value?: unknown; error?: { code: AvpipeErrorCode; message: string }; end?: string; result?: PipelineResult; stats?: unknown }) => {
      if (m.req !== undefined) {
        const p = this._pending.get(m.req);
        this._pending.delete(m.req);
        if (m.error !== undefined) p?.reject(new AvpipeError(m.error.code, m.error.message));
        else p?.resolve(m.value);
      } else if (m.end !== undefined) {
        const stats = m.stats as WebRtcSourceStats;
        this._stats.delete(m.end);
        this._ends.get(m.end)?.(m.result!, stats);
        this._ends.delete(m.end);
      } else if (Array.isArray(m.stats)) {
        this._stats = new Map((m.stats as { id: string; status: PipelineStatus | 'IDLE'; source: WebRtcSourceStats }[]).map((x) => [x.id, { status: x.status, source: x.source }]));
      }
    });
    this._worker.on('error', (err) => {
      for (const p of this._pending.values()) p.reject(err);
      this._pending.clear();
    });
  }
  async open(id: string, name: string, init: PipelineConfigInit, offer: string, onEnd: (result: PipelineResult, stats: WebRtcSourceStats) => void): Promise<string> {
    if (init.storage !== undefined) throw new AvpipeError('CONFIG_INVALID', 'storage cannot be sent to a worker: run the WHIP server with workers: 0');
    this._ends.set(id, onEnd);
    try {
      return (await this._call({ op: 'open', id, name, init, offer })) as string;
    } catch (err) {
      this._ends.delete(id);
      throw err;
    }
  }
  async waiting(name: string): Promise<string | undefined> {
    return (await this._call({ op: 'waiting', name })) as string | undefined;
  }
  async resume(id: string, offer: string): Promise<string> {
    return (await this._call({ op: 'resume', id, offer })) as string;
  }
  async candidate(id: string, candidate: string, mid: string | undefined): Promise<void> {
    await this._call({ op: 'candidate', id, candidate, mid });
  }
  hangUp(id: string): void {
    void this._call({ op: 'hangUp', id }).catch(() => undefined);
  }
  stopAll(abort = false): void {
    void this._call({ op: 'stopAll', abort }).catch(() => undefined);
  }
  stats(id: string): { status: PipelineStatus | 'IDLE'; source: WebRtcSourceStats } | undefined {
    return this._stats.get(id);
  }
  async close(): Promise<void> {
    await this._worker.terminate();
  }
  private _call(message: Record<string, unknown>): Promise<unknown> {
    const req = ++this._req;
    return new Promise((resolve, reject) => {
      this._pending.set(req, { resolve, reject });
      this._worker.postMessage({ ...message, req });
    });
  }
}

/** The worker script: beside this module when built; from dist/ when this module runs from src/ (tests). */
function workerScript(): URL {
  const here = new URL('./whip-worker.js', import.meta.url);
  return existsSync(fileURLToPath(here)) ? here : new URL('../../dist/server/whip-worker.js', import.meta.url);
}

/**
 * A WHIP endpoint (RFC 9725): `POST /whip/<name>` with an SDP offer starts a session, a live pipeline
 * writing the outputs the config gives for that name, and answers 201 with the SDP answer and the
 * session's resource URL; `PATCH` on the resource adds trickled candidates; `DELETE` ends the session
 * (the recording is finalized). A bearer token is checked when one is set. Sessions run in this thread
 * or, with `workers`, spread over worker threads.
 */
export class WhipServer extends EventEmitter<WhipServerEvents> {
  private readonly _opts: WhipServerOptions;
  private readonly _server: Server;
  private readonly _hosts: Host[];
  private readonly _sessions = new Map<string, WhipSession & { host: Host }>();
  private _closing = false;
  /** Sessions whose offer is being answered: they hold a slot before they are in `_sessions`. */
  private _opening = 0;

  constructor(options: WhipServerOptions) {
    super();
    this._opts = options;
    const hostOptions: SessionHostOptions = {
      ...(options.iceHosts === undefined ? {} : { iceHosts: options.iceHosts }),
      ...(options.source === undefined ? {} : { source: options.source }),
    };
    const workers = options.workers ?? 0;
    this._hosts = workers > 0
      ? Array.from({ length: workers }, () => new WorkerHost(hostOptions))
      : [new LocalHost({ ...hostOptions, ...(options.codecProvider === undefined ? {} : { codecProvider: options.codecProvider }) })];
    // Slow clients cannot hold connections: headers within 10 s, the whole request within 30 s.
    this._server = createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
      this._handle(req, res).catch((err: unknown) => {
        const e = err instanceof HttpError ? err : toHttpError(err);
        if (!res.headersSent) res.writeHead(e.status, { 'Content-Type': 'text/plain; charset=utf-8', ...cors(), ...e.headers });
        res.end(`${e.message}\n`);
      });
    });
  }

  /** Starts listening; resolves with the base URL (`http://host:port`). */
  async listen(port: number, host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this._server.once('error', reject);
      this._server.listen(port, host, () => resolve());
    });
    const a = this._server.address() as AddressInfo;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** The sessions now running. */
  get sessions(): readonly WhipSession[] {
    return [...this._sessions.values()];
  }

  /** Stops taking sessions, ends every running one (each recording finalized) and closes the server. Idempotent. */
  async close(): Promise<PipelineResult[]> {
    this._closing = true;
    const running = [...this._sessions.values()];
    for (const h of this._hosts) h.stopAll();
    const results = await Promise.all(running.map((s) => s.finished));
    await new Promise<void>((resolve) => this._server.close(() => resolve()));
    this._server.closeAllConnections();
    await Promise.all(this._hosts.map((h) => h.close()));
    return results;
  }

  /**
   * Ends every running session at once (each finalizes what it muxed), as a second Ctrl-C does; a
   * {@link close} in progress then resolves. Sessions opened after it are not touched.
   */
  abort(): void {
    for (const h of this._hosts) h.stopAll(true);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async _handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const parts = url.pathname.split('/').filter((p) => p.length > 0);
    if (parts[0] !== 'whip' || parts.length < 2 || parts.length > 3) throw new HttpError(404, 'not a WHIP endpoint: use /whip/<name>');
    let name: string;
    try {
      name = decodeURIComponent(parts[1]!);
    } catch {
      throw new HttpError(400, 'the stream name is not valid percent-encoding');
    }
    if (!NAME.test(name)) throw new HttpError(400, `bad stream name "${name}": letters, digits, ".", "_" and "-" only`);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...cors(), 'Accept-Post': 'application/sdp' });
      res.end();
      return;
    }
    this._authorize(req);
    if (parts.length === 2) {
      if (req.method !== 'POST') throw new HttpError(405, `${req.method} is not allowed on the endpoint; POST an offer`, { Allow: 'POST, OPTIONS' });
      await this._post(name, req, res);
      return;
    }
    const session = this._sessions.get(parts[2]!);
    if (session === undefined || session.name !== name) throw new HttpError(404, 'no such WHIP session');
    if (req.method === 'DELETE') {
      // The publisher ended its session: the recording ends too (whatever the source's leave policy).
      session.host.hangUp(session.id);
      res.writeHead(200, cors());
      res.end();
      return;
    }
    if (req.method === 'PATCH') {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (type !== 'application/trickle-ice-sdpfrag') throw new HttpError(415, 'PATCH takes application/trickle-ice-sdpfrag');
      const body = await readBody(req);
      // A fragment names its m-line by a=mid; some clients put a wrong one in the m= line, so the mid wins.
      for (const c of candidatesOf(body)) await session.host.candidate(session.id, c.candidate, c.mid).catch(() => undefined);
      res.writeHead(204, cors());
      res.end();
      return;
    }
    throw new HttpError(405, `${req.method} is not allowed on a session`, { Allow: 'PATCH, DELETE, OPTIONS' });
  }

  private async _post(name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this._closing) throw new HttpError(503, 'the server is shutting down');
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (type !== 'application/sdp') throw new HttpError(415, 'POST takes application/sdp');
    const offer = await readBody(req);
    // A session of this name waiting for its publisher to come back takes the new offer.
    for (const host of this._hosts) {
      const id = await host.waiting(name);
      const waiting = id === undefined ? undefined : this._sessions.get(id);
      if (waiting !== undefined) {
        this._created(res, waiting, await host.resume(waiting.id, offer));
        return;
      }
    }
    // Checked and reserved in one step (no await between): offers that arrive together cannot all pass.
    const max = this._opts.maxSessions ?? 64;
    if (this._sessions.size + this._opening >= max) throw new HttpError(503, `${max} sessions are running or starting, the most this server takes`);
    this._opening++;
    try {
      await this._open(name, offer, res);
    } finally {
      this._opening--;
    }
  }

  private async _open(name: string, offer: string, res: ServerResponse): Promise<void> {
    const id = randomUUID();
    const init = this._opts.config(name, id);
    if (init.live === false) throw new HttpError(500, 'the session config must be live');
    const host = this._hosts.reduce((a, b) => (b.load < a.load ? b : a));
    let resolveFinished!: (r: PipelineResult) => void;
    let final: WebRtcSourceStats | undefined;
    const session: WhipSession & { host: Host } = {
      id, name, resource: `/whip/${encodeURIComponent(name)}/${id}`, host,
      finished: new Promise((resolve) => (resolveFinished = resolve)),
      status: () => host.stats(id)?.status ?? (final === undefined ? 'STARTING' : 'COMPLETE'),
      stats: () => final ?? host.stats(id)?.source,
    };
    // Counted before the offer is answered: publishers arriving together spread over the hosts.
    host.load++;
    let answer: string;
    try {
      answer = await host.open(id, name, init, offer, (result, stats) => {
        final = stats;
        host.load--;
        this._sessions.delete(id);
        this.emit('end', session, result);
        resolveFinished(result);
      });
    } catch (err) {
      host.load--;
      throw err;
    }
    this._sessions.set(id, session);
    this.emit('session', session);
    this._created(res, session, answer);
  }

  private _created(res: ServerResponse, session: WhipSession, answer: string): void {
    res.writeHead(201, {
      ...cors(), 'Content-Type': 'application/sdp', Location: session.resource, ETag: `"${session.id}"`,
    });
    res.end(answer);
  }

  private _authorize(req: IncomingMessage): void {
    const token = this._opts.token;
    if (token === undefined) return;
    // Compared in constant time (digests of equal length), so a token cannot be guessed byte by byte.
    const digest = (v: string): Buffer => createHash('sha256').update(v).digest();
    if (!timingSafeEqual(digest(req.headers.authorization ?? ''), digest(`Bearer ${token}`))) throw new HttpError(401, 'a valid bearer token is required', { 'WWW-Authenticate': 'Bearer' });
  }
}

/** CORS headers: browsers publish from pages of other origins. */
function cors(): Record<string, string> {
  return {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Methods': 'POST, PATCH, DELETE, OPTIONS',
    'Access-Control-Allow-Headers': 'Authorization, Content-Type, If-Match',
    'Access-Control-Expose-Headers': 'Location, ETag, Accept-Post',
  };
}

/**
 * The request body, at most MAX_BODY bytes. Over that (declared or sent), a 413 with `Connection: close`;
 * the rest of the body is read and thrown away rather than the socket destroyed, so the client gets
 * the answer (the server's request timeout bounds how long that may take).
 */
function readBody(req: IncomingMessage): Promise<string> {
  const tooLarge = (): HttpError => new HttpError(413, `the body is over ${MAX_BODY} bytes`, { Connection: 'close' });
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > MAX_BODY) {
        over = true;
        chunks.length = 0;
        reject(tooLarge());
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

/** An avpipe error as an HTTP status: a bad offer is the client's fault, the rest the server's. */
function toHttpError(err: unknown): HttpError {
  if (err instanceof AvpipeError) {
    const status = err.code === 'INPUT_INVALID' ? 400 : err.code === 'CONFIG_INVALID' ? 500 : err.code === 'INVALID_STATE' ? 409 : 500;
    return new HttpError(status, err.message);
  }
  return new HttpError(500, err instanceof Error ? err.message : String(err));
}
