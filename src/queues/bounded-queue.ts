import type { Microseconds } from '../time.js';

/**
 * What a full queue does with a new item: `block` makes the writer wait (non-live: backpressure, nothing
 * lost); `drop-oldest` discards the oldest item and counts it (live: the source is never held up).
 * GStreamer calls the second `leaky=downstream`.
 */
export type QueuePolicy = 'block' | 'drop-oldest';

/**
 * How much a queue may hold: whichever bound is reached first (GStreamer's queue has the same three,
 * `max-size-buffers`, `max-size-bytes`, `max-size-time`). Live queues are bounded by media time first,
 * so a burst of that many seconds fits whatever the rate; items and bytes are the safety bounds.
 */
export interface QueueBounds {
  /** Items; always set (the ring's size). */
  items: number;
  /** Bytes of media held; undefined: unbounded. */
  bytes?: number | undefined;
  /** Media time held, per track: the newest item's end minus the oldest item's start; undefined: unbounded. */
  timeUs?: Microseconds | undefined;
}

/** What a queue needs to know of an item to bound it by bytes and media time. */
export interface QueueMeasure<T> {
  bytes(item: T): number;
  /** The item's track (items of several tracks share a queue after the interleaver), start and end. */
  span(item: T): { track: string; start: Microseconds; end: Microseconds } | undefined;
}

/** A queue's counters. At every moment `in === out + dropped + level`. */
export interface QueueStats {
  name: string;
  policy: QueuePolicy;
  /** The item bound. */
  capacity: number;
  /** The byte and media-time bounds (null: none). */
  maxBytes: number | null;
  maxTimeMs: number | null;
  in: number;
  out: number;
  dropped: number;
  /** Items held now, and the most ever held. */
  level: number;
  maxLevel: number;
  /** Bytes and media time (ms) held now, and the most ever held. */
  levelBytes: number;
  maxLevelBytes: number;
  levelTimeMs: number;
  maxLevelTimeMs: number;
}

/** One track's media in a queue: the starts of its items in order, and the newest end. */
interface TrackSpan {
  starts: Microseconds[];
  head: number;
  newestEnd: Microseconds;
}

/**
 * The pure core of a queue node: a bounded FIFO with counters, no timers, no promises.
 * The stream adapter ({@link QueueNode}) decides when to wait.
 * @internal
 */
export class BoundedQueue<T> {
  readonly name: string;
  readonly policy: QueuePolicy;
  readonly bounds: Readonly<QueueBounds>;
  private readonly _measure: QueueMeasure<T> | undefined;
  private readonly _items: (T | undefined)[];
  /** Per slot, what the item was counted as (measured once: an item may be closed before it leaves). */
  private readonly _counted: ({ bytes: number; track: string | undefined } | undefined)[];
  private _head = 0;
  private _level = 0;
  private _in = 0;
  private _out = 0;
  private _dropped = 0;
  private _maxLevel = 0;
  private _bytes = 0;
  private _maxBytes = 0;
  private _maxTimeUs = 0;
  private readonly _tracks = new Map<string, TrackSpan>();

  /** `bounds` as a number bounds items only; `measure` is needed for the byte and time bounds. */
  constructor(name: string, bounds: number | QueueBounds, policy: QueuePolicy, measure?: QueueMeasure<T>) {
    const b: QueueBounds = typeof bounds === 'number' ? { items: bounds } : bounds;
    if (!(Number.isInteger(b.items) && b.items >= 1)) throw new TypeError(`capacity must be an integer >= 1, got ${b.items}`);
    if (b.bytes !== undefined && !(b.bytes > 0)) throw new TypeError(`bytes must be positive, got ${b.bytes}`);
    if (b.timeUs !== undefined && !(b.timeUs > 0)) throw new TypeError(`timeUs must be positive, got ${b.timeUs}`);
    if ((b.bytes !== undefined || b.timeUs !== undefined) && measure === undefined) throw new TypeError(`queue ${name}: byte and time bounds need a measure`);
    this.name = name;
    this.bounds = b;
    this.policy = policy;
    this._measure = measure;
    this._items = new Array<T | undefined>(b.items);
    this._counted = new Array<{ bytes: number; track: string | undefined } | undefined>(b.items);
  }

  /** The item bound. */
  get capacity(): number {
    return this.bounds.items;
  }

  get level(): number {
    return this._level;
  }

  /** Bytes of media held. */
  get levelBytes(): number {
    return this._bytes;
  }

  /** Media time held: over the tracks, the newest end minus the oldest start. */
  get levelTimeUs(): Microseconds {
    let span = 0;
    for (const t of this._tracks.values()) {
      if (t.head < t.starts.length) span = Math.max(span, t.newestEnd - t.starts[t.head]!);
    }
    return span;
  }

  /** Whether any bound is reached. An empty queue is never full, so an item larger than a bound still passes. */
  get isFull(): boolean {
    if (this._level === 0) return false;
    const b = this.bounds;
    return this._level >= b.items
      || (b.bytes !== undefined && this._bytes >= b.bytes)
      || (b.timeUs !== undefined && this.levelTimeUs >= b.timeUs);
  }

  get isEmpty(): boolean {
    return this._level === 0;
  }

  /**
   * Adds an item. A `drop-oldest` queue then removes the oldest items while it is over a bound and
   * returns them (the caller releases them), always keeping the newest; a full `block` queue throws,
   * since its writer must wait for room first.
   */
  push(item: T): T[] {
    if (this.policy === 'block' && this.isFull) throw new RangeError(`queue ${this.name} is full; a blocking queue's writer must wait for room`);
    const dropped: T[] = [];
    if (this._level === this.bounds.items) {
      dropped.push(this._take());
      this._dropped++;
    }
    const slot = (this._head + this._level) % this.bounds.items;
    this._items[slot] = item;
    this._counted[slot] = this._count(item);
    this._level++;
    this._in++;
    while (this.policy === 'drop-oldest' && this._level > 1 && this._over()) {
      dropped.push(this._take());
      this._dropped++;
    }
    if (this._level > this._maxLevel) this._maxLevel = this._level;
    if (this._bytes > this._maxBytes) this._maxBytes = this._bytes;
    const time = this.levelTimeUs;
    if (time > this._maxTimeUs) this._maxTimeUs = time;
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
    const b = this.bounds;
    return {
      name: this.name, policy: this.policy, capacity: b.items,
      maxBytes: b.bytes ?? null, maxTimeMs: b.timeUs === undefined ? null : b.timeUs / 1000,
      in: this._in, out: this._out, dropped: this._dropped, level: this._level, maxLevel: this._maxLevel,
      levelBytes: this._bytes, maxLevelBytes: this._maxBytes,
      levelTimeMs: this.levelTimeUs / 1000, maxLevelTimeMs: this._maxTimeUs / 1000,
    };
  }

  /** Over a byte or time bound (the item bound is kept by the ring itself). */
  private _over(): boolean {
    const b = this.bounds;
    return (b.bytes !== undefined && this._bytes > b.bytes) || (b.timeUs !== undefined && this.levelTimeUs > b.timeUs);
  }

  private _count(item: T): { bytes: number; track: string | undefined } | undefined {
    const m = this._measure;
    if (m === undefined) return undefined;
    const bytes = m.bytes(item);
    this._bytes += bytes;
    const s = m.span(item);
    if (s === undefined) return { bytes, track: undefined };
    let t = this._tracks.get(s.track);
    if (t === undefined) this._tracks.set(s.track, (t = { starts: [], head: 0, newestEnd: s.end }));
    t.starts.push(s.start);
    t.newestEnd = Math.max(t.newestEnd, s.end);
    return { bytes, track: s.track };
  }

  private _uncount(counted: { bytes: number; track: string | undefined } | undefined): void {
    if (counted === undefined) return;
    this._bytes -= counted.bytes;
    const t = counted.track === undefined ? undefined : this._tracks.get(counted.track);
    if (t === undefined) return;
    // Items of a track leave in the order they came: its oldest start is the next one.
    t.head++;
    if (t.head === t.starts.length) this._tracks.delete(counted.track!);
    else if (t.head > 64 && t.head * 2 > t.starts.length) {
      t.starts = t.starts.slice(t.head);
      t.head = 0;
    }
  }

  private _take(): T {
    const item = this._items[this._head] as T;
    this._items[this._head] = undefined;
    this._uncount(this._counted[this._head]);
    this._counted[this._head] = undefined;
    this._head = (this._head + 1) % this.bounds.items;
    this._level--;
    return item;
  }
}
