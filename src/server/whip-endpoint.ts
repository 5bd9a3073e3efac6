import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AvpipeError } from '../errors.js';
import { candidatesOf } from '../sources/webrtc/sdp.js';
import { HttpError } from './http-error.js';
import type { WhipSession, WhipSessions } from './whip-sessions.js';

/** Stream names: what is safe in a file name and a URL path. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Offers larger than this are refused with 413 before they are parsed (an SDP is a few KB). */
const MAX_BODY = 64 * 1024;
/**
 * Offers with more m-lines are refused with 400 before they are parsed: a publisher sends one or two
 * (three with simulcast), and werift's work on them grows fast (3000 held a worker for about 4 minutes).
 */
const MAX_MLINES = 16;

/** How the endpoint admits requests (a WHIP server's options, defaults applied). */
export interface WhipEndpointSettings {
  /** Accepted bearer tokens; none: any request is let in. */
  tokens: readonly string[];
  /** Origins whose pages may call the endpoint; undefined: any without tokens, none with them. */
  corsOrigins: readonly string[] | undefined;
  /** Open HTTP connections at once. */
  maxConnections: number;
  /** Time a client has to send a request's headers. */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request (at least `headersTimeoutMs`). */
  requestTimeoutMs: number;
}

/**
 * The HTTP side of a WHIP server (RFC 9725): `POST /whip/<name>` with an SDP offer is answered 201
 * with the SDP answer and the session's resource URL, `PATCH` on the resource adds trickled
 * candidates, `DELETE` ends the session; the sessions themselves are a {@link WhipSessions}.
 *
 * Hostile clients are bounded here: offers (64 KiB, 16 m-lines) are checked before anything parses
 * them, and headers, bodies and connections are limited; a bearer token and CORS are checked.
 */
export class WhipEndpoint {
  private readonly _server: Server;
  private readonly _sessions: WhipSessions;
  /** Digests of `Bearer <token>` for each accepted token. */
  private readonly _tokens: Buffer[];
  private readonly _corsOrigins: readonly string[] | undefined;

  constructor(settings: WhipEndpointSettings, sessions: WhipSessions) {
    this._sessions = sessions;
    this._tokens = settings.tokens.map((t) => digest(`Bearer ${t}`));
    this._corsOrigins = settings.corsOrigins;
    // Slow clients cannot hold connections: headers within 10 s, the whole request within 30 s (checked
    // often enough that a timeout is not overshot by Node's default 30 s sweep).
    const headersTimeout = settings.headersTimeoutMs;
    const requestTimeout = Math.max(settings.requestTimeoutMs, headersTimeout);
    const connectionsCheckingInterval = Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4)));
    this._server = createServer({ headersTimeout, requestTimeout, connectionsCheckingInterval }, (req, res) => {
      this._handle(req, res).catch((err: unknown) => {
        const e = err instanceof HttpError ? err : toHttpError(err);
        if (!res.headersSent) res.writeHead(e.status, { 'Content-Type': 'text/plain; charset=utf-8', ...this._cors(req), ...e.headers });
        res.end(`${e.message}\n`);
      });
    });
    // Each connection costs a socket and parser state; past the cap new ones are closed as they come.
    this._server.maxConnections = settings.maxConnections;
  }

  /** Starts listening; resolves with the base URL (`http://host:port`). */
  async listen(port: number, host: string): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this._server.once('error', reject);
      this._server.listen(port, host, () => resolve());
    });
    const a = this._server.address() as AddressInfo;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** Stops listening and drops every connection. Idempotent. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this._server.close(() => resolve()));
    this._server.closeAllConnections();
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
    const session = this._sessions.get(name, parts[2]!);
    if (session === undefined) throw new HttpError(404, 'no such WHIP session');
    if (req.method === 'DELETE') {
      this._sessions.hangUp(session);
      res.writeHead(200, this._cors(req));
      res.end();
      return;
    }
    if (req.method === 'PATCH') {
      // RFC 9725: a trickle PATCH names the session's ETag in If-Match (a client that sends none is let
      // through, as clients from before the RFC do); `*` asks for an ICE restart, which is not supported.
      // If-Match may list several tags (RFC 9110); a weak one (W/) never matches.
      const tags = req.headers['if-match']?.split(',').map((t) => t.trim());
      if (tags?.includes('*')) throw new HttpError(422, 'ICE restarts (If-Match: *) are not supported; trickled candidates are');
      if (tags !== undefined && !tags.includes(`"${session.id}"`)) throw new HttpError(412, "If-Match does not name this session's ETag");
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (type !== 'application/trickle-ice-sdpfrag') throw new HttpError(415, 'PATCH takes application/trickle-ice-sdpfrag');
      const body = await readBody(req);
      if (!/^a=/m.test(body)) throw new HttpError(400, 'the body is not an SDP fragment (no a= line)');
      // A fragment names its m-line by a=mid; some clients put a wrong one in the m= line, so the mid wins.
      for (const c of candidatesOf(body)) await this._sessions.candidate(session, c.candidate, c.mid).catch(() => undefined);
      res.writeHead(204, this._cors(req));
      res.end();
      return;
    }
    throw new HttpError(405, `${req.method} is not allowed on a session`, { Allow: 'PATCH, DELETE, OPTIONS' });
  }

  private async _post(name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this._sessions.closing) throw new HttpError(503, 'the server is shutting down');
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (type !== 'application/sdp') throw new HttpError(415, 'POST takes application/sdp');
    const offer = await readBody(req);
    checkOffer(offer);
    const { session, answer } = await this._sessions.publish(name, offer, () => this._publisher(req));
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
   * Who sent `req`, so that only the publisher that opened a session may resume it once it left:
   * with tokens, the token it carried (a token per publisher keeps publishers apart; with one shared
   * token every holder is trusted alike); without any, the client's address, as nothing else tells
   * publishers apart (a publisher that came back from a new address starts a new session once the
   * old one's wait is over).
   */
  private _publisher(req: IncomingMessage): Buffer | undefined {
    if (this._tokens.length > 0) return digest(req.headers.authorization ?? '');
    const address = req.socket.remoteAddress;
    return address === undefined ? undefined : digest(address);
  }

  /** CORS headers for this request's Origin (see {@link WhipEndpointSettings.corsOrigins}). */
  private _cors(req: IncomingMessage): Record<string, string> {
    const list = this._corsOrigins;
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
