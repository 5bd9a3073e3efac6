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
  private _wakeReader: (() => void) | undefined;
  private _wakeWriter: (() => void) | undefined;
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
          await new Promise<void>((resolve) => (this._wakeWriter = resolve));
        }
        if (this._failure !== undefined) {
          release(item);
          throw this._failure;
        }
        for (const dropped of queue.push(item)) release(dropped);
        this._wake('reader');
      },
      close: () => {
        this._closed = true;
        this._wake('reader');
      },
      abort: (reason) => {
        this._failure = reason ?? new Error(`queue ${name} aborted`);
        for (const item of queue.drain()) release(item);
        this._wake('reader');
      },
    });
    this.readable = new ReadableStream<T>({
      pull: async (controller) => {
        while (queue.isEmpty && !this._closed && this._failure === undefined) {
          await new Promise<void>((resolve) => (this._wakeReader = resolve));
        }
        const item = queue.shift();
        if (item !== undefined) {
          controller.enqueue(item);
          this._wake('writer');
        } else if (this._failure !== undefined) {
          controller.error(this._failure);
        } else {
          controller.close();
        }
      },
      cancel: (reason) => {
        this._failure = reason ?? new Error(`queue ${name} cancelled`);
        for (const item of queue.drain()) release(item);
        this._wake('writer');
      },
    }, { highWaterMark: 0 });
  }

  /** The queue's counters. */
  toJSON(): QueueStats {
    return this.queue.toJSON();
  }

  private _wake(who: 'reader' | 'writer'): void {
    const w = who === 'reader' ? this._wakeReader : this._wakeWriter;
    if (who === 'reader') this._wakeReader = undefined;
    else this._wakeWriter = undefined;
    w?.();
  }
}
