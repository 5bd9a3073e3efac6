import type { Microseconds } from '../time.js';
import { Pacer } from './pacer.js';

/**
 * The lifecycle every source shares: the start gate its streams wait behind, wall-clock pacing when
 * live, a graceful stop, and the end once every track stream has closed (with the wall-clock stamps
 * results report). Sources extend it and implement the rest of {@link Source}.
 */
export abstract class SourceBase {
  /** Paced by the clock (live) or as fast as pulled; set from the config in `prepare()`. */
  protected live = true;
  /** Resolves when every opened track stream has ended. */
  readonly ended: Promise<void>;
  private readonly _pacer = new Pacer();
  private readonly _started: Promise<void>;
  private _resolveStarted!: () => void;
  private _resolveEnded!: () => void;
  private _stopping = false;
  private _openTracks = 0;
  private _startedAt: number | undefined;
  private _endedAt: number | undefined;

  constructor() {
    this.ended = new Promise((resolve) => (this._resolveEnded = resolve));
    this._started = new Promise((resolve) => (this._resolveStarted = resolve));
  }

  get startedAt(): number | undefined {
    return this._startedAt;
  }

  get endedAt(): number | undefined {
    return this._endedAt;
  }

  /** True once stop() was asked: streams end at their next item. */
  protected get stopping(): boolean {
    return this._stopping;
  }

  /** Counts one more track stream; returns the (idempotent) function that marks it ended. */
  protected openTrack(): () => void {
    this._openTracks++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this._openTracks === 0) {
        this._endedAt = Date.now();
        this._resolveEnded();
      }
    };
  }

  /** Waits for start(), then, when live, until media time `t` is due (at once when stopping). */
  protected async due(t: Microseconds | undefined): Promise<void> {
    await this._started;
    if (this.live && !this._stopping && t !== undefined) await this._pacer.waitUntil(Math.max(0, t));
  }

  /** Opens the gate and starts the clock; idempotent. */
  start(): void {
    if (this._startedAt !== undefined) return;
    this._startedAt = Date.now();
    this._pacer.start();
    this._resolveStarted();
  }

  /** Ends every stream at its next item; wakes paced waits. Idempotent. */
  stop(): void {
    this._stopping = true;
    this._pacer.cancel();
    this._resolveStarted();
  }
}
