import type { EncodedOutput } from '../media/encoded-chunk.js';
import { InterleaveGate } from './interleave-gate.js';
import type { Microseconds } from '../time.js';
import { Signal } from '../signal.js';

/**
 * Merges the encoded tracks into one stream in (near) timestamp order, before the tee: every output
 * then sees one interleaved stream, and the tee's per-output queues cannot deadlock on two tracks
 * waiting for each other (GStreamer puts its mux-side aggregator in the same place). A track may run
 * `window` ahead of the slowest open track (Infinity in live runs: nothing waits for a stalled track).
 * @internal
 */
export class Interleaver {
  readonly readable: ReadableStream<EncodedOutput>;
  private readonly _gate: InterleaveGate;
  private _controller!: ReadableStreamDefaultController<EncodedOutput>;
  /** Wakes the tracks' writes: the reader pulled, a track wrote or ended, or the interleaver failed. */
  private readonly _changed = new Signal();
  private _open: number;
  private _failure: unknown;

  /** `onWaitFor(kind, true)`: a track's write starts waiting for `kind` to catch up; `false`: it stopped. */
  constructor(kinds: readonly string[], window: Microseconds, private readonly _onWaitFor?: (kind: string, waiting: boolean) => void) {
    this._gate = new InterleaveGate(window);
    for (const k of kinds) this._gate.add(k);
    this._open = kinds.length;
    this.readable = new ReadableStream<EncodedOutput>({
      start: (c) => {
        this._controller = c;
        if (this._open === 0) c.close();
      },
      pull: () => this._changed.notify(),
      cancel: (reason) => {
        this._failure = reason ?? new Error('interleaver cancelled');
        this._changed.notify();
      },
    }, { highWaterMark: 2 });
  }

  /** The input for one track; closing it ends the track (it no longer holds the others back). */
  writable(kind: string): WritableStream<EncodedOutput> {
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      this._gate.remove(kind);
      if (--this._open === 0 && this._failure === undefined) this._controller.close();
      this._changed.notify();
    };
    return new WritableStream<EncodedOutput>({
      write: async (item) => {
        const t = item.chunk.timestamp;
        let waitingFor: string | undefined;
        while (this._failure === undefined && (!this._gate.mayWrite(kind, t) || (this._controller.desiredSize ?? 0) <= 0)) {
          if (waitingFor === undefined && !this._gate.mayWrite(kind, t)) {
            waitingFor = this._gate.slowestOther(kind);
            if (waitingFor !== undefined) this._onWaitFor?.(waitingFor, true);
          }
          await this._changed.wait();
        }
        if (waitingFor !== undefined) this._onWaitFor?.(waitingFor, false);
        if (this._failure !== undefined) throw this._failure;
        this._controller.enqueue(item);
        this._gate.advance(kind, t);
        this._changed.notify();
      },
      close: end,
      abort: (reason) => {
        if (this._failure === undefined) {
          this._failure = reason ?? new Error(`${kind} track aborted`);
          try {
            this._controller.error(this._failure);
          } catch {
            // already closed
          }
        }
        end();
      },
    });
  }
}
