import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CodecProvider } from '../codecs/codec-provider.js';
import type { PipelineConfigInit } from '../config/pipeline-config.js';
import { AvpipeError } from '../errors.js';
import type { PipelineResult, PipelineStatus } from '../pipeline/status.js';
import { candidatesOf } from '../sources/webrtc/sdp.js';
import type { WebRtcSourceOptions, WebRtcSourceStats } from '../sources/webrtc/webrtc-source.js';
import { LocalHost, type Host } from './host.js';
import { WorkerHost } from './worker-host.js';
import type { WorkerData } from './worker-protocol.js';

/** Options of a {@link WhipServer}. */
export interface WhipServerOptions {
  /** The pipeline of one session: its outputs named after the stream name and session id. Must be live. */
  config: (name: string, sessionId: string) => PipelineConfigInit;
  /**
   * When set, every request must carry `Authorization: Bearer <token>` (one of them, given a list: a
   * token per publisher). Without one, {@link corsOrigins} aside, any page may publish.
   */
  token?: string | readonly string[];
  /**
   * Origins whose pages may call the endpoint (`Access-Control-Allow-Origin` echoes a listed request
   * Origin; `'*'` allows any). Default: any origin when there is no token (a loopback dev server), none
   * when there is one, so a browser page cannot spend a token it was not meant to hold.
   */
  corsOrigins?: readonly string[];
  /** Host addresses ICE may use (e.g. `['127.0.0.1']`); see {@link WebRtcSourceOptions.iceHosts}. */
  iceHosts?: readonly string[];
  /** The rest of each session's source options. */
  source?: Omit<WebRtcSourceOptions, 'name' | 'iceHosts' | 'codecs'>;
  /** Codec provider for sessions that transcode (in-process sessions only: a worker uses node-av). */
  codecProvider?: CodecProvider;
  /** Sessions at once; more get 503. Default 64. */
  maxSessions?: number;
  /** Open HTTP connections at once; more are dropped as they connect (`server.maxConnections`). Default 256. */
  maxConnections?: number;
  /** Longest an offer may take to answer (ICE gathering, mostly): over it, that POST gets 503 and its slot is freed. Default 10000. */
  openTimeoutMs?: number;
  /** Time a client has to send a request's headers (then 408). Default 10000. */
  headersTimeoutMs?: number;
  /** Time a client has to send a whole request, body included (then 408); at least `headersTimeoutMs`. Default 30000. */
  requestTimeoutMs?: number;
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
/** Offers larger than this are refused with 413 before they are parsed (an SDP is a few KB). */
const MAX_BODY = 64 * 1024;
/**
 * Offers with more m-lines are refused with 400 before they are parsed: a publisher sends one or two
 * (three with simulcast), and werift's work on them grows fast (3000 held a worker for about 4 minutes).
 */
const MAX_MLINES = 16;
/** What a worker gets beyond `openTimeoutMs` to answer before the server gives up on it (a stuck event loop). */
const WORKER_GRACE_MS = 2000;

/** An HTTP error with its status. */
class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}


/**
 * Who opened a session: only they may resume it once its publisher left. `auth` is the digest of the
 * Authorization header the POST carried, `address` the client's IP address.
 */
interface Owner {
  auth: Buffer;
  address: string | undefined;
}

/** A session as the server keeps it: where it runs and who opened it. */
type HeldSession = WhipSession & { host: Host; owner: Owner };

/**
 * A WHIP endpoint (RFC 9725): `POST /whip/<name>` with an SDP offer starts a session, a live pipeline
 * writing the outputs the config gives for that name, and answers 201 with the SDP answer and the
 * session's resource URL; `PATCH` on the resource adds trickled candidates; `DELETE` ends the session
 * (the recording is finalized). A bearer token is checked when one is set. Sessions run in this thread
 * or, with `workers`, spread over worker threads.
 *
 * Hostile clients are bounded: offers (64 KiB, 16 m-lines) are checked before anything parses them,
 * session slots are reserved in one step with the check, an open that takes over `openTimeoutMs` fails
 * alone, no request waits on another session's host, and headers, bodies and connections are limited.
 */
export class WhipServer extends EventEmitter<WhipServerEvents> {
  private readonly _opts: WhipServerOptions;
  private readonly _server: Server;
  private readonly _hosts: Host[];
  private readonly _sessions = new Map<string, HeldSession>();
  /** Digests of `Bearer <token>` for each accepted token. */
  private readonly _tokens: Buffer[];
  private readonly _openTimeoutMs: number;
  private _closing = false;
  /** Sessions whose offer is being answered: they hold a slot before they are in `_sessions`. */
  private _opening = 0;

  constructor(options: WhipServerOptions) {
    super();
    const tokens = options.token === undefined ? [] : typeof options.token === 'string' ? [options.token] : [...options.token];
    if (tokens.some((t) => typeof t !== 'string' || t.length === 0)) throw new TypeError('options.token, when provided, must be a non-empty string or a list of them.');
    for (const field of ['maxSessions', 'maxConnections', 'openTimeoutMs', 'headersTimeoutMs', 'requestTimeoutMs'] as const) {
      const v = options[field];
      if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new TypeError(`options.${field}, when provided, must be a positive integer.`);
    }
    this._opts = options;
    this._tokens = tokens.map((t) => digest(`Bearer ${t}`));
    this._openTimeoutMs = options.openTimeoutMs ?? 10_000;
    const hostOptions: WorkerData = {
      ...(options.iceHosts === undefined ? {} : { iceHosts: options.iceHosts }),
      ...(options.source === undefined ? {} : { source: options.source }),
      openTimeoutMs: this._openTimeoutMs,
    };
    const workers = options.workers ?? 0;
    this._hosts = workers > 0
      ? Array.from({ length: workers }, () => new WorkerHost(hostOptions))
      : [new LocalHost({ ...hostOptions, ...(options.codecProvider === undefined ? {} : { codecProvider: options.codecProvider }) })];
    // Slow clients cannot hold connections: headers within 10 s, the whole request within 30 s (checked
    // often enough that a timeout is not overshot by Node's default 30 s sweep).
    const headersTimeout = options.headersTimeoutMs ?? 10_000;
    const requestTimeout = Math.max(options.requestTimeoutMs ?? 30_000, headersTimeout);
    const connectionsCheckingInterval = Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4)));
    this._server = createServer({ headersTimeout, requestTimeout, connectionsCheckingInterval }, (req, res) => {
      this._handle(req, res).catch((err: unknown) => {
        const e = err instanceof HttpError ? err : toHttpError(err);
        if (!res.headersSent) res.writeHead(e.status, { 'Content-Type': 'text/plain; charset=utf-8', ...this._cors(req), ...e.headers });
        res.end(`${e.message}\n`);
      });
    });
    // Each connection costs a socket and parser state; past the cap new ones are closed as they come.
    this._server.maxConnections = options.maxConnections ?? 256;
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
      res.writeHead(204, { ...this._cors(req), 'Accept-Post': 'application/sdp' });
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
      res.writeHead(200, this._cors(req));
      res.end();
      return;
    }
    if (req.method === 'PATCH') {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (type !== 'application/trickle-ice-sdpfrag') throw new HttpError(415, 'PATCH takes application/trickle-ice-sdpfrag');
      const body = await readBody(req);
      // A fragment names its m-line by a=mid; some clients put a wrong one in the m= line, so the mid wins.
      for (const c of candidatesOf(body)) await session.host.candidate(session.id, c.candidate, c.mid).catch(() => undefined);
      res.writeHead(204, this._cors(req));
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
    checkOffer(offer);
    // A session of this name waiting for its publisher to come back takes the new offer. Only the
    // hosts of sessions of this name are asked: a slow open elsewhere never holds this POST.
    const bound = this._openTimeoutMs + WORKER_GRACE_MS;
    for (const s of [...this._sessions.values()].filter((x) => x.name === name)) {
      if (!(await withDeadline(s.host.waiting(s.id), bound, 'the session\'s worker did not answer'))) continue;
      if (!this._mayResume(s, req)) throw new HttpError(409, `stream "${name}" belongs to a session waiting for its publisher; only that publisher may resume it`);
      this._created(req, res, s, await withDeadline(s.host.resume(s.id, offer), bound, 'the session\'s worker did not answer'));
      return;
    }
    // Checked and reserved in one step (no await between): offers that arrive together cannot all pass.
    const max = this._opts.maxSessions ?? 64;
    if (this._sessions.size + this._opening >= max) throw new HttpError(503, `${max} sessions are running or starting, the most this server takes`);
    this._opening++;
    try {
      await this._open(name, offer, req, res);
    } finally {
      this._opening--;
    }
  }

  private async _open(name: string, offer: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const id = randomUUID();
    const init = this._opts.config(name, id);
    if (init.live === false) throw new HttpError(500, 'the session config must be live');
    const host = this._hosts.reduce((a, b) => (b.load < a.load ? b : a));
    let resolveFinished!: (r: PipelineResult) => void;
    let final: WebRtcSourceStats | undefined;
    let announced = false;
    const session: HeldSession = {
      id, name, resource: `/whip/${encodeURIComponent(name)}/${id}`, host,
      owner: { auth: digest(req.headers.authorization ?? ''), address: req.socket.remoteAddress },
      finished: new Promise((resolve) => (resolveFinished = resolve)),
      status: () => host.stats(id)?.status ?? (final === undefined ? 'STARTING' : 'COMPLETE'),
      stats: () => final ?? host.stats(id)?.source,
    };
    // Counted before the offer is answered: publishers arriving together spread over the hosts.
    host.load++;
    const opening = host.open(id, name, init, offer, (result, stats) => {
      final = stats;
      host.load--;
      this._sessions.delete(id);
      // A session given up before its answer was never announced, so its end is not either.
      if (announced) this.emit('end', session, result);
      resolveFinished(result);
    });
    let answer: string;
    try {
      // The host bounds the open itself; this bound is for a worker that does not answer at all.
      answer = await withDeadline(opening, this._openTimeoutMs + WORKER_GRACE_MS, `the offer was not answered within ${this._openTimeoutMs} ms`);
    } catch (err) {
      if (err instanceof DeadlineError) {
        // Given up while the worker still works on it: a session it opens late is hung up at once.
        opening.then(() => host.hangUp(id), () => {
          host.load--;
        });
      } else host.load--;
      throw err;
    }
    this._sessions.set(id, session);
    announced = true;
    this.emit('session', session);
    this._created(req, res, session, answer);
  }

  private _created(req: IncomingMessage, res: ServerResponse, session: WhipSession, answer: string): void {
    res.writeHead(201, {
      ...this._cors(req), 'Content-Type': 'application/sdp', Location: session.resource, ETag: `"${session.id}"`,
    });
    res.end(answer);
  }

  private _authorize(req: IncomingMessage): void {
    if (this._tokens.length === 0) return;
    // Compared in constant time (digests of equal length, every token tried), so a token cannot be
    // guessed byte by byte.
    const given = digest(req.headers.authorization ?? '');
    let ok = false;
    for (const t of this._tokens) ok = timingSafeEqual(given, t) || ok;
    if (!ok) throw new HttpError(401, 'a valid bearer token is required', { 'WWW-Authenticate': 'Bearer' });
  }

  /**
   * Whether a POST may resume `session`, which waits for its publisher: with tokens, only with the
   * token the session was opened with (a token per publisher keeps publishers apart; with one shared
   * token every holder is trusted alike); without any, only from the address that opened it, as
   * nothing else tells publishers apart (a publisher that came back from a new address starts a new
   * session once the old one's wait is over).
   */
  private _mayResume(session: HeldSession, req: IncomingMessage): boolean {
    if (this._tokens.length > 0) return timingSafeEqual(digest(req.headers.authorization ?? ''), session.owner.auth);
    return session.owner.address !== undefined && req.socket.remoteAddress === session.owner.address;
  }

  /** CORS headers for this request's Origin (see {@link WhipServerOptions.corsOrigins}). */
  private _cors(req: IncomingMessage): Record<string, string> {
    const list = this._opts.corsOrigins;
    const origin = req.headers.origin;
    const allow = list === undefined
      ? (this._tokens.length === 0 ? '*' : undefined)
      : list.includes('*') ? '*' : origin !== undefined && list.includes(origin) ? origin : undefined;
    // An answer that depends on the Origin must not be cached for another one.
    const vary: Record<string, string> = list !== undefined && !list.includes('*') ? { Vary: 'Origin' } : {};
    if (allow === undefined) return vary;
    return {
      'Access-Control-Allow-Origin': allow, ...vary,
      'Access-Control-Allow-Methods': 'POST, PATCH, DELETE, OPTIONS',
      'Access-Control-Allow-Headers': 'Authorization, Content-Type, If-Match',
      'Access-Control-Expose-Headers': 'Location, ETag, Accept-Post',
    };
  }
}

/** SHA-256 of a string: equal-length values for constant-time comparison. */
function digest(v: string): Buffer {
  return createHash('sha256').update(v).digest();
}

/** The checks an offer passes before anything parses it (what a scan of its text can tell). */
function checkOffer(offer: string): void {
  if (!offer.startsWith('v=0')) throw new HttpError(400, 'the offer is not an SDP (it must start with v=0)');
  const mlines = offer.match(/^m=/gm)?.length ?? 0;
  if (mlines > MAX_MLINES) throw new HttpError(400, `the offer has ${mlines} m-lines, over the ${MAX_MLINES} this server takes`);
}

/** A bound the server itself put on a host's answer ran out. */
class DeadlineError extends HttpError {}

/** `p`, or a 503 once `ms` have passed (`p` is still settled by whoever made it). */
function withDeadline<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(503, message)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
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

/**
 * An avpipe error as an HTTP status: a bad offer is the client's fault; a session that could not be
 * opened (ICE gathering over its bound, a worker gone) is 503, the rest the server's.
 */
function toHttpError(err: unknown): HttpError {
  if (err instanceof AvpipeError) {
    const status = err.code === 'INPUT_INVALID' ? 400 : err.code === 'SOURCE_FAILED' ? 503 : err.code === 'CONFIG_INVALID' ? 500 : err.code === 'INVALID_STATE' ? 409 : 500;
    return new HttpError(status, err.message);
  }
  return new HttpError(500, err instanceof Error ? err.message : String(err));
}
