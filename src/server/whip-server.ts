import { EventEmitter } from 'node:events';
import type { CodecProvider } from '../codecs/codec-provider.js';
import type { PipelineConfigInit } from '../config/config-init.js';
import type { PipelineResult } from '../pipeline/status.js';
import type { WebRtcSourceOptions } from '../sources/webrtc/webrtc-source.js';
import { WhipEndpoint } from './whip-endpoint.js';
import { WhipSessions, type SessionAdmission, type WhipSession } from './whip-sessions.js';

export type { SessionAdmission, WhipSession } from './whip-sessions.js';

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
  iceHosts?: readonly string[] | undefined;
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
   * session runs in this thread, which one core bounds. Configs sent to workers must be plain data (a
   * storage named as data, `{ type: 's3', ... }`, not a Storage object).
   */
  workers?: number;
  /**
   * Admission beside `maxSessions`: a job worker's (`worker.sessionAdmission()` of `avpipe/jobs`), so
   * the sessions and the queue's jobs share one CPU budget and a session that does not fit gets 503.
   */
  admission?: SessionAdmission;
}

/** Events a WHIP server emits. */
export interface WhipServerEvents {
  /** A session opened: its publisher's answer is about to be sent. */
  session: [WhipSession];
  /** A session (one `session` announced) is over, with its pipeline's result. */
  end: [WhipSession, PipelineResult];
}

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
 * The HTTP side is a `WhipEndpoint`, the sessions and their threads a `WhipSessions`.
 */
export class WhipServer extends EventEmitter<WhipServerEvents> {
  private readonly _sessions: WhipSessions;
  private readonly _endpoint: WhipEndpoint;

  constructor(options: WhipServerOptions) {
    super();
    // Checked before anything starts (a worker thread, a socket).
    const tokens = options.token === undefined ? [] : typeof options.token === 'string' ? [options.token] : [...options.token];
    if (tokens.some((t) => typeof t !== 'string' || t.length === 0)) throw new TypeError('options.token, when provided, must be a non-empty string or a list of them.');
    for (const field of ['maxSessions', 'maxConnections', 'openTimeoutMs', 'headersTimeoutMs', 'requestTimeoutMs'] as const) {
      const v = options[field];
      if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new TypeError(`options.${field}, when provided, must be a positive integer.`);
    }
    this._sessions = new WhipSessions({
      config: options.config,
      ...(options.iceHosts === undefined ? {} : { iceHosts: options.iceHosts }),
      ...(options.source === undefined ? {} : { source: options.source }),
      ...(options.codecProvider === undefined ? {} : { codecProvider: options.codecProvider }),
      workers: options.workers ?? 0, maxSessions: options.maxSessions ?? 64, openTimeoutMs: options.openTimeoutMs ?? 10_000,
      admission: options.admission,
    }, {
      onSession: (session) => this.emit('session', session),
      onEnd: (session, result) => this.emit('end', session, result),
    });
    this._endpoint = new WhipEndpoint({
      tokens, corsOrigins: options.corsOrigins, maxConnections: options.maxConnections ?? 256,
      headersTimeoutMs: options.headersTimeoutMs ?? 10_000, requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    }, this._sessions);
  }

  /** Starts listening; resolves with the base URL (`http://host:port`). */
  listen(port: number, host = '127.0.0.1'): Promise<string> {
    return this._endpoint.listen(port, host);
  }

  /** The sessions now running. */
  get sessions(): readonly WhipSession[] {
    return this._sessions.running;
  }

  /** Stops taking sessions, ends every running one (each recording finalized) and closes the server. Idempotent. */
  async close(): Promise<PipelineResult[]> {
    const results = await this._sessions.stop();
    await this._endpoint.close();
    await this._sessions.close();
    return results;
  }

  /**
   * Ends every running session at once (each finalizes what it muxed), as a second Ctrl-C does; a
   * {@link close} in progress then resolves. Sessions opened after it are not touched.
   */
  abort(): void {
    this._sessions.abort();
  }

  /** Closes the server (`await using`), as {@link close} does. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
