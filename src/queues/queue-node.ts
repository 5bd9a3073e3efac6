import { Signal } from '../signal.js';
import { BoundedQueue, type QueueBounds, type QueueMeasure, type QueuePolicy, type QueueStarts, type QueueStats } from './bounded-queue.js';

/**
 * A queue node: a {@link BoundedQueue} between a WritableStream and a ReadableStream, used as a
 * `pipeThrough` pair. Items stay in the core (the readable has a high-water mark of 0), so the
 * counters see every item and `block` really bounds memory.
 * @internal
 */
export class QueueNode<T> {
  readonly queue: BoundedQueue<T>;
  readonly writable: WritableStream<T>;
  readonly readable: ReadableStream<T>;
  /** Told when an item or the end arrives (the reader waits on it). */
  private readonly _filled = new Signal();
  /** Told when room is made or the queue fails (a blocked writer waits on it). */
  private readonly _emptied = new Signal();
  private _closed = false;
  private _failure: unknown;

  /**
   * `bounds` as a number bounds items only; byte and time bounds need `measure`. `release` is called on
   * every item the queue discards (dropped, refused, or left over on teardown). `starts` makes it
   * keyframe-aware (see {@link QueueStarts}).
   */
  constructor(name: string, bounds: number | QueueBounds, policy: QueuePolicy, release: (item: T) => void = () => {}, measure?: QueueMeasure<T>, starts?: QueueStarts<T>) {
    const queue = new BoundedQueue<T>(name, bounds, policy, measure, starts);
    this.queue = queue;
    this.writable = new WritableStream<T>({
      write: async (item) => {
        while (queue.isFull && queue.policy === 'block' && this._failure === undefined) {
          await this._emptied.wait();
        }
        if (this._failure !== undefined) {
          release(item);
          throw this._failure;
        }
        for (const dropped of queue.push(item)) release(dropped);
        this._filled.notify();
      },
      close: () => {
        this._closed = true;
        this._filled.notify();
      },
      abort: (reason) => {
        this._failure = reason ?? new Error(`queue ${name} aborted`);
        for (const item of queue.drain()) release(item);
        this._filled.notify();
      },
    });
    this.readable = new ReadableStream<T>({
      pull: async (controller) => {
        while (queue.isEmpty && !this._closed && this._failure === undefined) {
          await this._filled.wait();
        }
        const item = queue.shift();
        if (item !== undefined) {
          controller.enqueue(item);
          this._emptied.notify();
        } else if (this._failure !== undefined) {
          controller.error(this._failure);
        } else {
          controller.close();
        }
      },
      cancel: (reason) => {
        this._failure = reason ?? new Error(`queue ${name} cancelled`);
        for (const item of queue.drain()) release(item);
        this._emptied.notify();
      },
    }, { highWaterMark: 0 });
  }

  /** The queue's counters. */
  toJSON(): QueueStats {
    return this.queue.toJSON();
  }
}
