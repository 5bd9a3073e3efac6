import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CodecProvider } from '../codecs/codec-provider.js';
import { allowedCodecs } from '../config/outputs.js';
import { createPipelineConfig, type PipelineConfigInit } from '../config/pipeline-config.js';
import { AvpipeError } from '../errors.js';
import { createControllerWithSource, type Controller } from '../pipeline/controller.js';
import type { PipelineResult } from '../pipeline/status.js';
import { candidatesOf } from '../sources/webrtc/sdp.js';
import { WebRtcSource, type WebRtcSourceOptions } from '../sources/webrtc/webrtc-source.js';

/** Options of a {@link WhipServer}. */
export interface WhipServerOptions {
  /** The pipeline of one session: its outputs named after the stream name and session id. Must be live. */
  config: (name: string, sessionId: string) => PipelineConfigInit;
  /** When set, every request must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** Host addresses ICE may use (e.g. `['127.0.0.1']`); see {@link WebRtcSourceOptions.iceHosts}. */
  iceHosts?: readonly string[];
  /** The rest of each session's source options. */
  source?: Omit<WebRtcSourceOptions, 'name' | 'iceHosts'>;
  /** Codec provider for sessions that transcode. */
  codecProvider?: CodecProvider;
  /** Sessions at once; more get 503. Default 64. */
  maxSessions?: number;
}

/** One publisher's session: its source, its pipeline, and its result once over. */
export interface WhipSession {
  id: string;
  name: string;
  /** The resource URL path (the Location of the 201). */
  resource: string;
  source: WebRtcSource;
  controller: Controller;
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

/**
 * A WHIP endpoint (RFC 9725): `POST /whip/<name>` with an SDP offer starts a session, a live pipeline
 * writing the outputs the config gives for that name, and answers 201 with the SDP answer and the
 * session's resource URL; `PATCH` on the resource adds trickled candidates; `DELETE` ends the session
 * (the recording is finalized). A bearer token is checked when one is set.
 */
export class WhipServer extends EventEmitter<WhipServerEvents> {
  private readonly _opts: WhipServerOptions;
  private readonly _server: Server;
  private readonly _sessions = new Map<string, WhipSession>();
  private _closing = false;

  constructor(options: WhipServerOptions) {
    super();
    this._opts = options;
    this._server = createServer((req, res) => {
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
    for (const s of running) void s.controller.stop();
    const results = await Promise.all(running.map((s) => s.finished));
    await new Promise<void>((resolve) => this._server.close(() => resolve()));
    this._server.closeAllConnections();
    return results;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async _handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const parts = url.pathname.split('/').filter((p) => p.length > 0);
    if (parts[0] !== 'whip' || parts.length < 2 || parts.length > 3) throw new HttpError(404, 'not a WHIP endpoint: use /whip/<name>');
    const name = decodeURIComponent(parts[1]!);
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
      session.source.hangUp();
      void session.controller.stop();
      res.writeHead(200, cors());
      res.end();
      return;
    }
    if (req.method === 'PATCH') {
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (type !== 'application/trickle-ice-sdpfrag') throw new HttpError(415, 'PATCH takes application/trickle-ice-sdpfrag');
      const body = await readBody(req);
      // A fragment names its m-line by a=mid; some clients put a wrong one in the m= line, so the mid wins.
      for (const c of candidatesOf(body)) await session.source.addIceCandidate(c.candidate, c.mid).catch(() => undefined);
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
    const waiting = [...this._sessions.values()].find((s) => s.name === name && s.source.waitingForPublisher);
    if (waiting !== undefined) {
      const answer = await waiting.source.acceptOffer(offer);
      this._created(res, waiting, answer);
      return;
    }
    if (this._sessions.size >= (this._opts.maxSessions ?? 64)) throw new HttpError(503, `${this._sessions.size} sessions are running, the most this server takes`);
    const id = randomUUID();
    const init = this._opts.config(name, id);
    const config = createPipelineConfig(init);
    if (!config.live) throw new HttpError(500, 'the session config must be live');
    const source = new WebRtcSource({ ...this._opts.source, name, ...(this._opts.iceHosts === undefined ? {} : { iceHosts: this._opts.iceHosts }), codecs: codecPreference(config.outputs) });
    const controller = createControllerWithSource(config, source, this._opts.codecProvider === undefined ? {} : { codecProvider: this._opts.codecProvider });
    let answer: string;
    try {
      answer = await source.acceptOffer(offer);
    } catch (err) {
      await source.close();
      throw err;
    }
    const session: WhipSession = { id, name, resource: `/whip/${encodeURIComponent(name)}/${id}`, source, controller, finished: controller.start() };
    this._sessions.set(id, session);
    void session.finished.then((result) => {
      this._sessions.delete(id);
      this.emit('end', session, result);
    });
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
    if (req.headers.authorization !== `Bearer ${token}`) throw new HttpError(401, 'a valid bearer token is required', { 'WWW-Authenticate': 'Bearer' });
  }
}

/** The source's codec order: what the outputs take without re-encoding first, then the rest. */
function codecPreference(outputs: Parameters<typeof allowedCodecs>[0]): { video: string[]; audio: string[] } {
  const allowed = allowedCodecs(outputs);
  const sdp: Record<string, string> = { h264: 'H264', vp8: 'VP8', vp9: 'VP9', opus: 'OPUS' };
  const first = (names: readonly string[], all: string[]): string[] => [...new Set([...names.map((n) => sdp[n]).filter((n): n is string => n !== undefined), ...all])];
  return { video: first(allowed?.video ?? [], ['VP8', 'H264', 'VP9']), audio: first(allowed?.audio ?? [], ['OPUS', 'PCMU', 'PCMA']) };
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

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new HttpError(413, `the body is over ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** An avpipe error as an HTTP status: a bad offer is the client's fault, the rest the server's. */
function toHttpError(err: unknown): HttpError {
  if (err instanceof AvpipeError) {
    const status = err.code === 'INPUT_INVALID' ? 400 : err.code === 'CONFIG_INVALID' ? 500 : err.code === 'INVALID_STATE' ? 409 : 500;
    return new HttpError(status, err.message);
  }
  return new HttpError(500, err instanceof Error ? err.message : String(err));
}
