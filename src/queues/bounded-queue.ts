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
  /** The queue's name, e.g. `video-queue`. */
  name: string;
  /** What the queue does when full. */
  policy: QueuePolicy;
  /** The item bound. */
  capacity: number;
  /** The byte bound; null: none. */
  maxBytes: number | null;
  /** The media-time bound, ms; null: none. */
  maxTimeMs: number | null;
  /** Items offered to the queue, the dropped ones included. */
  in: number;
  /** Items taken out by the consumer. */
  out: number;
  /** Items that went without reaching the consumer: over a bound, undecodable, refused, or left at teardown. */
  dropped: number;
  /** Items held now. */
  level: number;
  /** The most items ever held. */
  maxLevel: number;
  /** Bytes of media held now (0 when the queue does not measure its items). */
  levelBytes: number;
  /** The most bytes ever held. */
  maxLevelBytes: number;
  /** Media time held now, ms: over its tracks, the longest from the oldest item's start to the newest's end. */
  levelTimeMs: number;
  /** The most media time ever held, ms. */
  maxLevelTimeMs: number;
}

/**
 * Where decoding can start, for a queue that holds encoded video: a delta frame needs the frames
 * before it back to a keyframe, so a queue that drops one must drop what depends on it too, or its
 * consumer would get frames that do not decode. The items for which `canStart` answers true or false
 * form one decoding chain (one video track); items it answers undefined for stand alone (audio, raw
 * frames) and are never dropped for the chain's sake.
 */
export interface QueueStarts<T> {
  /** Whether the item can start decoding (a keyframe); undefined for an item that stands alone. */
  canStart(item: T): boolean | undefined;
  /** Begin by waiting for a start: a consumer that joins a running stream cannot decode from a delta. */
  waitForStart?: boolean | undefined;
  /**
   * Told when a drop went through every item of the chain held, so that the queue now refuses deltas
   * until a start arrives: a live source asks its publisher for a keyframe instead of waiting a GOP.
   */
  onNeedStart?: (() => void) | undefined;
}

/** One held item, with what it was counted as (measured once: an item may be closed before it leaves). */
interface Slot<T> {
  item: T;
  /** `canStart` of the item, read once. */
  start: boolean | undefined;
  bytes: number;
  /** Its track in the media-time measure, and its start there. */
  track: string | undefined;
  startUs: Microseconds;
}

/** One track's media in a queue: its held items in order (the oldest at `head`), and the newest end. */
interface TrackSpan<T> {
  /** Items behind `head` have left (their slots cleared, not to keep them alive); compacted now and then. */
  held: (Slot<T> | undefined)[];
  head: number;
  newestEnd: Microseconds;
}

/**
 * The pure core of every queue: a bounded FIFO with counters, no timers, no promises. The stream
 * adapters ({@link QueueNode}, {@link PushQueue}) decide when to wait. With {@link QueueStarts}, a
 * `drop-oldest` queue keeps what it holds decodable (see {@link BoundedQueue.push}).
 * @internal
 */
export class BoundedQueue<T> {
  readonly name: string;
  readonly policy: QueuePolicy;
  readonly bounds: Readonly<QueueBounds>;
  private readonly _measure: QueueMeasure<T> | undefined;
  private readonly _starts: QueueStarts<T> | undefined;
  /** A ring one slot larger than the item bound: a new item goes in before the oldest is dropped for it. */
  private readonly _ring: (Slot<T> | undefined)[];
  private _head = 0;
  private _level = 0;
  private _in = 0;
  private _out = 0;
  private _dropped = 0;
  private _skipped = 0;
  private _waitingForStart: boolean;
  private _maxLevel = 0;
  private _bytes = 0;
  private _maxBytes = 0;
  private _maxTimeUs = 0;
  private readonly _tracks = new Map<string, TrackSpan<T>>();

  /**
   * `bounds` as a number bounds items only; `measure` is needed for the byte and time bounds; `starts`
   * makes the queue keyframe-aware.
   */
  constructor(name: string, bounds: number | QueueBounds, policy: QueuePolicy, measure?: QueueMeasure<T>, starts?: QueueStarts<T>) {
    const b: QueueBounds = typeof bounds === 'number' ? { items: bounds } : bounds;
    if (!(Number.isInteger(b.items) && b.items >= 1)) throw new TypeError(`capacity must be an integer >= 1, got ${b.items}`);
    if (b.bytes !== undefined && !(b.bytes > 0)) throw new TypeError(`bytes must be positive, got ${b.bytes}`);
    if (b.timeUs !== undefined && !(b.timeUs > 0)) throw new TypeError(`timeUs must be positive, got ${b.timeUs}`);
    if ((b.bytes !== undefined || b.timeUs !== undefined) && measure === undefined) throw new TypeError(`queue ${name}: byte and time bounds need a measure`);
    this.name = name;
    this.bounds = b;
    this.policy = policy;
    this._measure = measure;
    this._starts = starts;
    this._waitingForStart = starts?.waitForStart === true;
    this._ring = new Array<Slot<T> | undefined>(b.items + 1);
  }

  /** The item bound. */
  get capacity(): number {
    return this.bounds.items;
  }

  get level(): number {
    return this._level;
  }

  /**
   * Of `dropped`, the items that went not for a bound but because they could not be decoded: deltas
   * dropped with the item they depend on, and deltas refused while waiting for a start.
   */
  get skipped(): number {
    return this._skipped;
  }

  /** Whether deltas are refused until an item that can start arrives. */
  get waitingForStart(): boolean {
    return this._waitingForStart;
  }

  /** Bytes of media held. */
  get levelBytes(): number {
    return this._bytes;
  }

  /** Media time held: over the tracks, the newest end minus the oldest start. */
  get levelTimeUs(): Microseconds {
    let span = 0;
    for (const t of this._tracks.values()) {
      const oldest = t.held[t.head];
      if (oldest !== undefined) span = Math.max(span, t.newestEnd - oldest.startUs);
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
   *
   * With {@link QueueStarts}: an oldest item of the chain goes with the deltas after it up to the next
   * start (they would not decode without it); when no start follows, every delta held goes, the newest
   * too, `onNeedStart` is told, and deltas are refused (returned, counted as dropped) until a start
   * arrives. Items that stand alone stay in their place.
   */
  push(item: T): T[] {
    const start = this._starts?.canStart(item);
    if (this._waitingForStart && start === false) {
      // Refused before it takes room: it could not be decoded.
      this._in++;
      this._dropped++;
      this._skipped++;
      return [item];
    }
    if (this.policy === 'block' && this.isFull) throw new RangeError(`queue ${this.name} is full; a blocking queue's writer must wait for room`);
    if (start === true) this._waitingForStart = false;
    this._ring[(this._head + this._level) % this._ring.length] = this._count(item, start);
    this._level++;
    this._in++;
    const dropped: T[] = [];
    const waiting = this._waitingForStart;
    while (this._level > this.bounds.items || (this.policy === 'drop-oldest' && this._level > 1 && this._over())) this._dropOldest(dropped);
    if (this._level > this._maxLevel) this._maxLevel = this._level;
    if (this._bytes > this._maxBytes) this._maxBytes = this._bytes;
    const time = this.levelTimeUs;
    if (time > this._maxTimeUs) this._maxTimeUs = time;
    // Told last, with the queue consistent: the callback may act on it.
    if (!waiting && this._waitingForStart) this._starts?.onNeedStart?.();
    return dropped;
  }

  /** Removes and returns the oldest item, or undefined when empty. */
  shift(): T | undefined {
    if (this._level === 0) return undefined;
    this._out++;
    return this._take().item;
  }

  /** Removes every item (counted as dropped) and returns them, for release on teardown. */
  drain(): T[] {
    const all: T[] = [];
    while (this._level > 0) {
      all.push(this._take().item);
      this._dropped++;
    }
    return all;
  }

  /** Counts an item turned away without entering (its queue was closed): in, and dropped. */
  refuse(): void {
    this._in++;
    this._dropped++;
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

  /** Over a byte or time bound (the item bound is checked by `push` itself). */
  private _over(): boolean {
    const b = this.bounds;
    return (b.bytes !== undefined && this._bytes > b.bytes) || (b.timeUs !== undefined && this.levelTimeUs > b.timeUs);
  }

  /** Drops the oldest item into `out`; an item of the chain takes its dependents with it. */
  private _dropOldest(out: T[]): void {
    const oldest = this._take();
    out.push(oldest.item);
    this._dropped++;
    if (oldest.start !== undefined) this._dropDependents(out);
  }

  /**
   * Drops the chain's deltas held before its next start (the oldest ones of the chain, since the item
   * they depend on just went). Items that stand alone among them are moved up, keeping their order, so
   * the work is the distance to the next start, not the queue's length.
   */
  private _dropDependents(out: T[]): void {
    const len = this._ring.length;
    const at = (k: number): number => (this._head + k) % len;
    let next = 0;
    while (next < this._level && this._ring[at(next)]!.start !== true) next++;
    const startHeld = next < this._level;
    const gone: Slot<T>[] = [];
    let w = next - 1;
    for (let r = next - 1; r >= 0; r--) {
      const s = this._ring[at(r)]!;
      if (s.start === false) gone.push(s);
      else this._ring[at(w--)] = s;
    }
    for (let k = 0; k < gone.length; k++) this._ring[at(k)] = undefined;
    this._head = at(gone.length);
    this._level -= gone.length;
    for (const s of gone.reverse()) {
      this._uncount(s);
      out.push(s.item);
    }
    this._dropped += gone.length;
    this._skipped += gone.length;
    // No start held: the chain resumes only at the next one that arrives.
    if (!startHeld) this._waitingForStart = true;
  }

  private _count(item: T, start: boolean | undefined): Slot<T> {
    const slot: Slot<T> = { item, start, bytes: 0, track: undefined, startUs: 0 };
    const m = this._measure;
    if (m === undefined) return slot;
    slot.bytes = m.bytes(item);
    this._bytes += slot.bytes;
    const s = m.span(item);
    if (s === undefined) return slot;
    slot.track = s.track;
    slot.startUs = s.start;
    let t = this._tracks.get(s.track);
    if (t === undefined) this._tracks.set(s.track, (t = { held: [], head: 0, newestEnd: s.end }));
    t.held.push(slot);
    t.newestEnd = Math.max(t.newestEnd, s.end);
    return slot;
  }

  private _uncount(slot: Slot<T>): void {
    this._bytes -= slot.bytes;
    if (slot.track === undefined) return;
    const t = this._tracks.get(slot.track);
    if (t === undefined) return;
    // Items of a track leave in the order they came, so the leaving one is its oldest; a delta dropped
    // for the chain may not be, when the track also holds items that stand alone: taken out where it is.
    if (t.held[t.head] === slot) t.held[t.head++] = undefined;
    else {
      const at = t.held.indexOf(slot, t.head);
      if (at >= 0) t.held.splice(at, 1);
    }
    if (t.head === t.held.length) this._tracks.delete(slot.track);
    else if (t.head > 64 && t.head * 2 > t.held.length) {
      t.held = t.held.slice(t.head);
      t.head = 0;
    }
  }

  private _take(): Slot<T> {
    const slot = this._ring[this._head]!;
    this._ring[this._head] = undefined;
    this._uncount(slot);
    this._head = (this._head + 1) % this._ring.length;
    this._level--;
    return slot;
  }
}
