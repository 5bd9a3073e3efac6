import { Signal } from '../signal.js';
import { BoundedQueue, type QueueBounds, type QueueMeasure, type QueueStarts, type QueueStats } from './bounded-queue.js';

/** What a {@link PushQueue} needs besides its name and bounds. */
export interface PushQueueOptions<T> {
  /** Called on every item the queue discards (dropped, refused, or left over on cancel). */
  release?: (item: T) => void;
  /** Needed for byte and time bounds; with items only, it still fills the byte and time levels of the counters. */
  measure?: QueueMeasure<T>;
  /** Makes the queue keyframe-aware (see {@link QueueStarts}). */
  starts?: QueueStarts<T>;
  /** Called once, when the reader has everything (after {@link PushQueue.end}) or cancelled. */
  onDone?: () => void;
}

/**
 * A queue fed by calls and read as a ReadableStream: where a live source's media waits for the
 * pipeline. Its producer is the network, which never waits, so it has no writable to hold back: it
 * always drops the oldest ({@link BoundedQueue}), counted. It also holds what arrives before the
 * pipeline starts reading. The pull-driven counterpart, between two streams, is {@link QueueNode}.
 * @internal
 */
export class PushQueue<T> {
  readonly queue: BoundedQueue<T>;
  readonly readable: ReadableStream<T>;
  private readonly _release: (item: T) => void;
  private _ended = false;
  private _cancelled = false;
  /** Told when an item or the end arrives (the reader waits on it). */
  private readonly _filled = new Signal();

  constructor(name: string, bounds: number | QueueBounds, options: PushQueueOptions<T> = {}) {
    const queue = new BoundedQueue<T>(name, bounds, 'drop-oldest', options.measure, options.starts);
    this.queue = queue;
    const release = options.release ?? (() => undefined);
    this._release = release;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      options.onDone?.();
    };
    this.readable = new ReadableStream<T>({
      pull: async (controller) => {
        while (queue.isEmpty && !this._ended) await this._filled.wait();
        if (this._cancelled) return;
        const item = queue.shift();
        if (item === undefined) {
          controller.close();
          finish();
          return;
        }
        controller.enqueue(item);
      },
      cancel: () => {
        this._ended = true;
        this._cancelled = true;
        for (const item of queue.drain()) release(item);
        this._filled.notify();
        finish();
      },
    }, { highWaterMark: 0 });
  }

  /** Queues one item, dropping the oldest when full; never waits. Items after {@link end} are counted as dropped. */
  push(item: T): void {
    if (this._ended) {
      this.queue.refuse();
      this._release(item);
      return;
    }
    for (const dropped of this.queue.push(item)) this._release(dropped);
    this._filled.notify();
  }

  /** Ends the stream once what it holds is read. Idempotent. */
  end(): void {
    this._ended = true;
    this._filled.notify();
  }

  /** The queue's counters. */
  toJSON(): QueueStats {
    return this.queue.toJSON();
  }
}
