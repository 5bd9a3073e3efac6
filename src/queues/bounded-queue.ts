/**
 * What a full queue does with a new item: `block` makes the writer wait (non-live: backpressure, nothing
 * lost); `drop-oldest` discards the oldest item and counts it (live: the source is never held up).
 * GStreamer calls the second `leaky=downstream`.
 */
export type QueuePolicy = 'block' | 'drop-oldest';

/** A queue's counters. At every moment `in === out + dropped + level`. */
export interface QueueStats {
  name: string;
  policy: QueuePolicy;
  capacity: number;
  in: number;
  out: number;
  dropped: number;
  level: number;
  maxLevel: number;
}

/**
 * The pure core of a queue node: a bounded FIFO with counters, no timers, no promises.
 * The stream adapter ({@link QueueNode}) decides when to wait.
 */
export class BoundedQueue<T> {
  readonly name: string;
  readonly policy: QueuePolicy;
  readonly capacity: number;
  private readonly _items: (T | undefined)[];
  private _head = 0;
  private _level = 0;
  private _in = 0;
  private _out = 0;
  private _dropped = 0;
  private _maxLevel = 0;

  constructor(name: string, capacity: number, policy: QueuePolicy) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new TypeError(`capacity must be an integer >= 1, got ${capacity}`);
    this.name = name;
    this.capacity = capacity;
    this.policy = policy;
    this._items = new Array<T | undefined>(capacity);
  }

  get level(): number {
    return this._level;
  }

  get isFull(): boolean {
    return this._level === this.capacity;
  }

  get isEmpty(): boolean {
    return this._level === 0;
  }

  /**
   * Adds an item. When full, a `drop-oldest` queue removes and returns the oldest item (the caller
   * releases it); a `block` queue throws, since its writer must wait for room first.
   */
  push(item: T): T | undefined {
    let dropped: T | undefined;
    if (this.isFull) {
      if (this.policy === 'block') throw new RangeError(`queue ${this.name} is full; a blocking queue's writer must wait for room`);
      dropped = this._take();
      this._dropped++;
    }
    this._items[(this._head + this._level) % this.capacity] = item;
    this._level++;
    this._in++;
    if (this._level > this._maxLevel) this._maxLevel = this._level;
    return dropped;
  }

  /** Removes and returns the oldest item, or undefined when empty. */
  shift(): T | undefined {
    if (this._level === 0) return undefined;
    this._out++;
    return this._take();
  }

  /** Removes every item (counted as dropped) and returns them, for release on teardown. */
  drain(): T[] {
    const all: T[] = [];
    while (this._level > 0) {
      all.push(this._take());
      this._dropped++;
    }
    return all;
  }

  toJSON(): QueueStats {
    return {
      name: this.name, policy: this.policy, capacity: this.capacity,
      in: this._in, out: this._out, dropped: this._dropped, level: this._level, maxLevel: this._maxLevel,
    };
  }

  private _take(): T {
    const item = this._items[this._head] as T;
    this._items[this._head] = undefined;
    this._head = (this._head + 1) % this.capacity;
    this._level--;
    return item;
  }
}
