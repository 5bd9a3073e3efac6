import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { PipelineConfigInit } from '../config/config-init.js';
import type { PipelineResult, PipelineStatus } from '../pipeline/status.js';
import type { WebRtcSourceStats } from '../sources/webrtc/webrtc-source.js';
import { withDeadline } from './deadline.js';
import { LocalHost, type Host } from './host.js';
import { HttpError } from './http-error.js';
import type { SessionHostOptions } from './session-host.js';
import { WorkerHost } from './worker-host.js';
import type { WorkerData } from './worker-protocol.js';

/** What a worker gets beyond `openTimeoutMs` to answer before the server gives up on it (a stuck event loop). */
const WORKER_GRACE_MS = 2000;

/** One publisher's session, and its result once over. */
export interface WhipSession {
  /** The session's ID, a random UUID: the last part of its resource URL. */
  id: string;
  /** The stream name the offer was posted to (`/whip/<name>`). */
  name: string;
  /** The resource URL path (the Location of the 201). */
  resource: string;
  /** The pipeline's status (from a worker: at most a second old). */
  status(): PipelineStatus | 'IDLE';
  /** The source's counters (from a worker: at most a second old); the final ones once it is over. */
  stats(): WebRtcSourceStats | undefined;
  /** Resolves with the pipeline's result when the session is over. */
  finished: Promise<PipelineResult>;
  /**
   * Pauses (`true`) or resumes its recording: the paused time is cut out of its outputs, as
   * `controller.pause()` does. Resolves false when it already was paused (or resumed) or is over;
   * rejects with INVALID_STATE while it is not ACTIVE (starting, or ending).
   */
  setPaused(paused: boolean): Promise<boolean>;
}

/**
 * Who posted an offer, as the endpoint tells publishers apart (equal-length digests, compared in
 * constant time); undefined when it cannot tell, and then it resumes nothing. Asked when the check
 * is made, as the request stands then.
 */
export type Publisher = () => Buffer | undefined;

/** A session as the sessions keep it: where it runs and who opened it. */
export type HeldSession = WhipSession & { host: Host; owner: Buffer | undefined };

/**
 * Who decides whether a session may start beside other work (a job worker's admission): a reason
 * refuses it (503, so a load balancer tries another server).
 */
export interface SessionAdmission {
  /** Asked as a session opens, with its config: undefined admits it, a reason refuses it. */
  admit(session: { id: string; name: string; config: PipelineConfigInit }): string | undefined;
  /** The session ended (`result`), or never opened (no result). Called once either way. */
  release(id: string, result?: PipelineResult): void;
}

/** How the sessions run and how many may (a WHIP server's options, defaults applied). */
export interface WhipSessionsSettings extends SessionHostOptions {
  /** The pipeline of one session. */
  config: (name: string, sessionId: string) => PipelineConfigInit;
  /** Worker threads the sessions are spread over; 0: all in this thread. */
  workers: number;
  /** Sessions at once, those being opened included. */
  maxSessions: number;
  openTimeoutMs: number;
  /** Admission beside `maxSessions`, when the server shares its machine with other work. */
  admission?: SessionAdmission | undefined;
}

/** What the sessions tell their server. */
export interface WhipSessionsEvents {
  /** A session opened; its answer is about to be sent. */
  onSession(session: WhipSession): void;
  /** An announced session is over. */
  onEnd(session: WhipSession, result: PipelineResult): void;
}

/** A bound the server itself put on a host's answer ran out. */
class DeadlineError extends HttpError {}

/**
 * The sessions of a WHIP server and where they run: in this thread or spread over worker threads
 * (each new one on the least loaded). Slots are reserved in one step with the check, a session
 * waiting for its publisher is resumed only by that publisher, and no call waits on a host longer
 * than `openTimeoutMs` and a grace.
 */
export class WhipSessions {
  private readonly _settings: WhipSessionsSettings;
  private readonly _events: WhipSessionsEvents;
  private readonly _hosts: Host[];
  private readonly _sessions = new Map<string, HeldSession>();
  private _closing = false;
  /** Sessions whose offer is being answered: they hold a slot before they are in `_sessions`. */
  private _opening = 0;
  /** Sessions given up on at their open deadline that a host may still open (and then hangs up): they keep their slot until they end. */
  private _late = 0;

  constructor(settings: WhipSessionsSettings, events: WhipSessionsEvents) {
    this._settings = settings;
    this._events = events;
    const hostOptions: WorkerData = {
      ...(settings.iceHosts === undefined ? {} : { iceHosts: settings.iceHosts }),
      ...(settings.source === undefined ? {} : { source: settings.source }),
      openTimeoutMs: settings.openTimeoutMs,
    };
    this._hosts = settings.workers > 0
      ? Array.from({ length: settings.workers }, () => new WorkerHost(hostOptions))
      : [new LocalHost({ ...hostOptions, ...(settings.codecProvider === undefined ? {} : { codecProvider: settings.codecProvider }) })];
  }

  /** Whether {@link stop} was called: no session is taken any more. */
  get closing(): boolean {
    return this._closing;
  }

  /** The sessions now running. */
  get running(): readonly WhipSession[] {
    return [...this._sessions.values()];
  }

  /** Running session `id` of stream `name`, if any. */
  get(name: string, id: string): HeldSession | undefined {
    const session = this._sessions.get(id);
    return session?.name === name ? session : undefined;
  }

  /**
   * Answers an offer for stream `name`: a session of that name waiting for its publisher takes it if
   * `publisher` is the one that opened it (else 409); otherwise a new session opens if a slot is free
   * (else 503). Resolves with the session and its SDP answer.
   */
  async publish(name: string, offer: string, publisher: Publisher): Promise<{ session: WhipSession; answer: string }> {
    // Only the hosts of sessions of this name are asked: a slow open elsewhere never holds this offer.
    const bound = this._settings.openTimeoutMs + WORKER_GRACE_MS;
    const unanswered = (): Error => new DeadlineError(503, 'the session\'s worker did not answer');
    for (const s of [...this._sessions.values()].filter((x) => x.name === name)) {
      if (!(await withDeadline(s.host.waiting(s.id), bound, unanswered))) continue;
      if (!samePublisher(s.owner, publisher())) throw new HttpError(409, `stream "${name}" belongs to a session waiting for its publisher; only that publisher may resume it`);
      return { session: s, answer: await withDeadline(s.host.resume(s.id, offer), bound, unanswered) };
    }
    // Checked and reserved in one step (no await between): offers that arrive together cannot all pass.
    const max = this._settings.maxSessions;
    if (this._sessions.size + this._opening + this._late >= max) throw new HttpError(503, `${max} sessions are running or starting, the most this server takes`);
    this._opening++;
    try {
      return await this._open(name, offer, publisher);
    } finally {
      this._opening--;
    }
  }

  /** The publisher ended `session` (WHIP DELETE): the recording ends too, whatever the source's leave policy. */
  hangUp(session: HeldSession): void {
    session.host.hangUp(session.id);
  }

  /** A trickled candidate for `session`. */
  candidate(session: HeldSession, candidate: string, mid: string | undefined): Promise<void> {
    return session.host.candidate(session.id, candidate, mid);
  }

  /** Takes no more sessions and ends every running one (each finalized); resolves with their results. */
  stop(): Promise<PipelineResult[]> {
    this._closing = true;
    const running = [...this._sessions.values()];
    for (const h of this._hosts) h.stopAll();
    return Promise.all(running.map((s) => s.finished));
  }

  /** Ends every running session at once (each finalizes what it muxed). */
  abort(): void {
    for (const h of this._hosts) h.stopAll(true);
  }

  /** Ends the worker threads. Idempotent. */
  async close(): Promise<void> {
    await Promise.all(this._hosts.map((h) => h.close()));
  }

  private async _open(name: string, offer: string, publisher: Publisher): Promise<{ session: WhipSession; answer: string }> {
    const id = randomUUID();
    const init = this._settings.config(name, id);
    // Asked in the same step as the slot check (no await before it).
    const admission = this._settings.admission;
    const refused = admission?.admit({ id, name, config: init });
    if (refused !== undefined) throw new HttpError(503, refused);
    let released = false;
    // Once, whichever comes first: a host that dies while opening ends the session and fails the open.
    const release = (result?: PipelineResult): void => {
      if (released) return;
      released = true;
      admission?.release(id, result);
    };
    const host = this._hosts.reduce((a, b) => (b.load < a.load ? b : a));
    let resolveFinished!: (r: PipelineResult) => void;
    let final: WebRtcSourceStats | undefined;
    let announced = false;
    let givenUp = false;
    const session: HeldSession = {
      id, name, resource: `/whip/${encodeURIComponent(name)}/${id}`, host,
      owner: publisher(),
      finished: new Promise((resolve) => (resolveFinished = resolve)),
      status: () => host.stats(id)?.status ?? (final === undefined ? 'STARTING' : 'COMPLETE'),
      stats: () => final ?? host.stats(id)?.source,
      setPaused: (paused) => host.setPaused(id, paused),
    };
    // Counted before the offer is answered: publishers arriving together spread over the hosts.
    host.load++;
    const opening = host.open(id, name, init, offer, (result, stats) => {
      final = stats;
      host.load--;
      this._sessions.delete(id);
      // A session given up before its answer was never announced, so its end is not either.
      if (announced) this._events.onEnd(session, result);
      if (givenUp) this._late--;
      release(result);
      resolveFinished(result);
    });
    let answer: string;
    try {
      // The host bounds the open itself; this bound is for a worker that does not answer at all.
      const ms = this._settings.openTimeoutMs;
      answer = await withDeadline(opening, ms + WORKER_GRACE_MS, () => new DeadlineError(503, `the offer was not answered within ${ms} ms`));
    } catch (err) {
      if (err instanceof DeadlineError) {
        // Given up while the worker still works on it: a session it opens late is hung up at once,
        // and its slot stays taken until it has ended.
        givenUp = true;
        this._late++;
        opening.then(() => host.hangUp(id), () => {
          host.load--;
          this._late--;
          release();
        });
      } else {
        host.load--;
        release();
      }
      throw err;
    }
    this._sessions.set(id, session);
    announced = true;
    this._events.onSession(session);
    return { session, answer };
  }
}

/** Whether the publisher that opened a session (`owner`) is the one asking. */
function samePublisher(owner: Buffer | undefined, asking: Buffer | undefined): boolean {
  return owner !== undefined && asking !== undefined && timingSafeEqual(owner, asking);
}
