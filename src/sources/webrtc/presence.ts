/** What a WebRTC source does when its publisher leaves (hangs up, or its connection fails or closes). */
export type LeavePolicy = 'end' | 'wait';

/**
 * Where the publisher is: `idle` before its first offer; `connected` from an offer on; `leaving` while
 * what it sent before it left drains from the socket; `away` while a source that waits waits for it
 * to come back; `ended` once the run ends.
 */
export type PresenceState = 'idle' | 'connected' | 'leaving' | 'away' | 'ended';

/** Options of a {@link Presence}. */
export interface PresenceOptions {
  onLeave: LeavePolicy;
  /** With `onLeave: 'wait'`, how long to wait for the publisher to come back. */
  leaveTimeoutMs: number;
  /** How long without a packet before a connected publisher counts as gone. */
  mediaTimeoutMs: number;
}

/** What the adapter does after a {@link Presence.tick}. */
export interface PresenceStep {
  /** The leaving publisher's socket is drained: close its peer and flush its tracks. */
  drained: boolean;
  /** The run ends now: the publisher left and is not waited for, or did not come back in time. */
  end: boolean;
}

/** A leaving publisher's socket counts as drained after this long without a packet... */
export const LEAVE_QUIET_MS = 250;
/** ...or after this long in all. */
export const LEAVE_DRAIN_MAX_MS = 2000;
/** How long ICE may stay `disconnected` before the publisher counts as gone. */
export const DISCONNECT_GRACE_MS = 3000;

/**
 * The pure state machine of a publisher's comings and goings. A publisher is gone when it hangs up,
 * when ICE fails or the peer closes, when ICE stays disconnected for {@link DISCONNECT_GRACE_MS}, or
 * when nothing came for `mediaTimeoutMs` (werift sends no DTLS close alert; ICE consent takes 30 s).
 * What it sent before is still taken in until its socket has been quiet for a moment (packets may
 * wait there while the event loop is busy); then the run ends, or waits `leaveTimeoutMs` for a new
 * offer. No timers: the adapter passes the time in (any monotonic milliseconds) and ticks it.
 */
export class Presence {
  private readonly _opts: PresenceOptions;
  private _state: PresenceState = 'idle';
  /** Where a failed offer goes back to. */
  private _before: 'idle' | 'away' = 'idle';
  private _sessions = 0;
  private _leftBecause: string | null = null;
  /** The last sign of life of the current publisher: a packet, or its offer and answer. */
  private _heardMs = 0;
  /** When the state was entered (`leaving`, `away`). */
  private _sinceMs = 0;
  private _disconnectedMs: number | undefined;

  constructor(options: PresenceOptions) {
    this._opts = options;
  }

  get state(): PresenceState {
    return this._state;
  }

  /** Publisher sessions: offers taken (1, more when a publisher came back). */
  get sessions(): number {
    return this._sessions;
  }

  /** Why the publisher's last session ended, if it did. */
  get leftBecause(): string | null {
    return this._leftBecause;
  }

  /** Whether a publisher's peer is up: connected, or leaving (its socket still drains). */
  get connected(): boolean {
    return this._state === 'connected' || this._state === 'leaving';
  }

  /** A publisher's offer is being answered: a new session. Only while `idle` or `away`. */
  offer(nowMs: number): void {
    if (this._state !== 'idle' && this._state !== 'away') throw new Error(`Presence: an offer while ${this._state}`);
    this._before = this._state;
    this._state = 'connected';
    this._sessions++;
    this._leftBecause = null;
    this._disconnectedMs = undefined;
    // Counted from the offer: the previous publisher's silence must not end this one while it gathers.
    this._heardMs = nowMs;
  }

  /** The offer could not be answered: back to waiting as before it (a returning publisher's wait goes on). */
  offerFailed(): void {
    if (!this.connected) return;
    this._state = this._before;
  }

  /** The publisher was heard from at `nowMs` (a packet; its answer sent). */
  heard(nowMs: number): void {
    this._heardMs = nowMs;
  }

  /** The publisher is gone for `reason` (the first reason stays). Returns whether a publisher is leaving now. */
  leave(reason: string, nowMs: number): boolean {
    if (this._state === 'leaving') return true;
    if (this._state !== 'connected') return false;
    this._state = 'leaving';
    this._leftBecause = reason;
    this._sinceMs = nowMs;
    return true;
  }

  /** The peer's connection state changed. */
  connectionState(state: string, nowMs: number): void {
    this._disconnectedMs = undefined;
    if (state === 'failed') this.leave('ICE failed', nowMs);
    else if (state === 'closed') this.leave('the peer connection closed', nowMs);
    else if (state === 'disconnected') this._disconnectedMs = nowMs;
  }

  /** Advances to `nowMs`. `canWait`: the run has started recording (a publisher gone before that ends it). */
  tick(nowMs: number, canWait: boolean): PresenceStep {
    const step = { drained: false, end: false };
    if (this._state === 'connected') {
      if (this._disconnectedMs !== undefined && nowMs - this._disconnectedMs >= DISCONNECT_GRACE_MS) this.leave('the publisher disconnected', nowMs);
      else if (nowMs - this._heardMs > this._opts.mediaTimeoutMs) this.leave(`no media for ${this._opts.mediaTimeoutMs} ms`, nowMs);
    }
    if (this._state === 'leaving') {
      if (nowMs - this._heardMs < LEAVE_QUIET_MS && nowMs - this._sinceMs < LEAVE_DRAIN_MAX_MS) return step;
      step.drained = true;
      this._disconnectedMs = undefined;
      if (this._opts.onLeave === 'wait' && canWait) {
        this._state = 'away';
        this._sinceMs = nowMs;
        return step;
      }
      this._state = 'ended';
      step.end = true;
      return step;
    }
    if (this._state === 'away' && nowMs - this._sinceMs >= this._opts.leaveTimeoutMs) {
      this._state = 'ended';
      step.end = true;
    }
    return step;
  }

  /** The run ended (stopped, closed): nothing more happens. */
  end(): void {
    this._state = 'ended';
  }
}
