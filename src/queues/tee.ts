import { AvpipeError, toAvpipeError } from '../errors.js';
import type { QueueBounds, QueueMeasure, QueuePolicy, QueueStarts, QueueStats } from './bounded-queue.js';
import { QueueNode } from './queue-node.js';

/** How a tee treats its items. */
export interface TeeItemOps<T> {
  /** Another handle on an item for one more consumer (a frame clone; identity for GC-owned packets). */
  share: (item: T) => T;
  /** Releases a handle nobody will consume. */
  release: (item: T) => void;
  /**
   * For encoded video: whether the item can start decoding (a keyframe). Undefined for items that
   * stand alone (raw frames, audio). Makes each port's queue keyframe-aware: what it drops takes the
   * deltas that depend on it, and a late port starts at a keyframe (see {@link QueueStarts}).
   */
  canStart?: (item: T) => boolean | undefined;
  /** Fills in what a consumer that joins late needs on its first item (the decoder config). */
  prime?: (item: T, seen: ReadonlyMap<string, T>) => T;
  /** A key under which the tee remembers the latest priming item (e.g. the track kind). */
  primeKey?: (item: T) => string | undefined;
}

/** What one output's branch of a tee is made of. */
export interface TeePortInit<T> {
  name: string;
  /** How counters and errors name the port (a stream URL with its key redacted); default `name`. */
  label?: string;
  consumer: WritableStream<T>;
  /** The port queue's bounds (a number: items); byte and time bounds need `measure`. */
  bounds: number | QueueBounds;
  measure?: QueueMeasure<T>;
  policy: QueuePolicy;
  /**
   * `fail` (file outputs, every non-live output): the consumer's failure fails the run. `isolate` (live
   * stream outputs): the port is marked failed and discards from then on; the other outputs go on.
   */
  onError: 'fail' | 'isolate';
  /** Joined after the first item: start at a point that can start decoding, primed with the decoder config. */
  late?: boolean;
  /**
   * The items this port takes (default all): an output of one rendition of a ladder takes that
   * rendition's video and the audio, so its queue's keyframe-aware drops see one video stream.
   */
  accepts?: (item: T) => boolean;
}

/** One tee port's counters (its queue's, plus what it skipped waiting for a keyframe). */
export interface TeePortStats extends QueueStats {
  /**
   * Of `dropped`, the deltas that went because they could not be decoded: with the keyframe or delta
   * they depend on, or before the first keyframe of a late port (the port queue's `BoundedQueue.skipped`).
   */
  skipped: number;
  /** Why the port's consumer (its output) failed; null while it has not. */
  error: string | null;
}

/** A port: a bounded queue between the tee and one consumer. */
class TeePort<T> {
  readonly name: string;
  readonly node: QueueNode<T>;
  readonly done: Promise<void>;
  readonly onError: 'fail' | 'isolate';
  /** A drop-oldest port: never makes the tee wait for room. */
  readonly leaky: boolean;
  private readonly _writer: WritableStreamDefaultWriter<T>;
  error: AvpipeError | undefined;
  removed = false;
  readonly accepts: ((item: T) => boolean) | undefined;

  constructor(init: TeePortInit<T>, ops: TeeItemOps<T>, seen: ReadonlyMap<string, T>, onFatal: (e: AvpipeError) => void, signal: AbortSignal) {
    this.name = init.name;
    this.accepts = init.accepts;
    this.onError = init.onError;
    this.leaky = init.policy === 'drop-oldest';
    const label = init.label ?? init.name;
    // The queue keeps what it holds decodable: a drop takes the deltas that depend on the dropped item,
    // and a late port's queue refuses deltas until its first keyframe.
    const canStart = ops.canStart;
    const starts: QueueStarts<T> | undefined = canStart === undefined ? undefined : { canStart, waitForStart: init.late === true };
    this.node = new QueueNode<T>(`${label}-queue`, init.bounds, init.policy, ops.release, init.measure, starts);
    this._writer = this.node.writable.getWriter();
    // A consumer that joins late needs the decoder config on its first item of each kind: not a queue
    // concern, so it is done here, as items leave the queue.
    const primed = new Set<string>();
    const prime = new TransformStream<T, T>({
      transform: (item, c) => {
        const key = ops.primeKey?.(item);
        if (init.late === true && key !== undefined && ops.prime !== undefined && !primed.has(key)) {
          primed.add(key);
          c.enqueue(ops.prime(item, seen));
          return;
        }
        c.enqueue(item);
      },
    });
    this.done = this.node.readable.pipeThrough(prime, { signal }).pipeTo(init.consumer, { signal }).catch((err: unknown) => {
      if (signal.aborted && this.error === undefined) return;
      this.error = toAvpipeError('SINK_FAILED', `output ${label} failed`, err);
      if (this.onError === 'fail') onFatal(this.error);
    });
  }

  /** Hands an item to this port: waits for room when the queue blocks, never when it drops. */
  async offer(item: T, ops: TeeItemOps<T>): Promise<void> {
    if (this.error !== undefined || this.removed) {
      ops.release(item);
      return;
    }
    // A consumer that failed errors the queue's writer before `error` is set: the item is released,
    // and the port's failure is handled by its pipe (isolated, or failing the run), never by the tee.
    const ready = await this._writer.ready.then(() => true, () => false);
    if (!ready) {
      ops.release(item);
      return;
    }
    this._writer.write(item).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this._writer.close().catch(() => undefined);
  }

  toJSON(): TeePortStats {
    return { ...this.node.toJSON(), skipped: this.node.queue.skipped, error: this.error?.message ?? null };
  }
}

/**
 * A tee (GStreamer's tee + one queue per branch): every item goes to every port's bounded queue. A
 * `block` port holds the tee until it has room, so the slowest output sets the pace and nothing is
 * dropped (non-live); a `drop-oldest` port never holds it up (live: a stalled output drops and counts,
 * the others go on). Ports may be added and removed while it runs (live stream outputs).
 * @internal
 */
export class Tee<T> {
  readonly name: string;
  readonly writable: WritableStream<T>;
  private readonly _ports = new Map<string, TeePort<T>>();
  private readonly _retired: TeePort<T>[] = [];
  private readonly _ops: TeeItemOps<T>;
  private readonly _seen = new Map<string, T>();
  private readonly _signal: AbortSignal;
  private readonly _onFatal: (e: AvpipeError) => void;
  private readonly _yieldToPorts: boolean;
  private _items = 0;
  private _closed = false;

  /**
   * `yieldToPorts`: yield to consumers that hold items (see write). Only for consumers that never block
   * the thread (muxers, network outputs): to an encoder that encodes synchronously, a yield hands the
   * turn and would pace the source by the encoder, which a live source must never be.
   */
  constructor(name: string, ops: TeeItemOps<T>, signal: AbortSignal, onFatal: (e: AvpipeError) => void, yieldToPorts = false) {
    this.name = name;
    this._yieldToPorts = yieldToPorts;
    this._ops = ops;
    this._signal = signal;
    this._onFatal = onFatal;
    this.writable = new WritableStream<T>({
      write: async (item) => {
        this._items++;
        const key = ops.primeKey?.(item);
        if (key !== undefined && !this._seen.has(key)) this._seen.set(key, item);
        const ports = [...this._ports.values()].filter((p) => p.accepts?.(item) ?? true);
        if (ports.length === 0) {
          ops.release(item);
          return;
        }
        // The first port takes the item itself, the others a shared handle.
        await Promise.all(ports.map((p, i) => p.offer(i === 0 ? item : ops.share(item), ops)));
        // A drop-oldest port never holds the tee up. Fed from memory (a publisher's burst, or the frames
        // that waited while the pipeline started), the tee would then outrun consumers that are not slow
        // at all, since a consumer's item takes more promise turns than the tee's, and the port would
        // fill and drop. With `yieldToPorts`, the tee yields a macrotask while a live port holds anything,
        // so every consumer that is not waiting on I/O catches up first; one that is stalled still drops,
        // at its bound.
        if (this._yieldToPorts && ports.some((p) => p.leaky && p.node.queue.level > 0)) await new Promise<void>((resolve) => setImmediate(resolve));
      },
      close: async () => {
        this._closed = true;
        await Promise.all([...this._ports.values()].map((p) => p.close()));
      },
      abort: async () => {
        this._closed = true;
        await Promise.all([...this._ports.values()].map((p) => p.close()));
      },
    });
  }

  /** Adds a port; `late` for one added after items have flowed (starts at a keyframe, primed). */
  addPort(init: TeePortInit<T>): void {
    if (this._ports.has(init.name)) throw new AvpipeError('CONFIG_INVALID', `tee ${this.name} already has an output ${init.name}`);
    const port = new TeePort<T>({ ...init, late: init.late ?? this._items > 0 }, this._ops, this._seen, this._onFatal, this._signal);
    this._ports.set(init.name, port);
    if (this._closed) void port.close();
  }

  /** Ends a port: what it holds is still delivered, then its consumer closes. */
  async removePort(name: string): Promise<void> {
    const port = this._ports.get(name);
    if (port === undefined) return;
    // A port of the same name may be added again later; its counters stay in toJSON() under the old entry.
    this._ports.delete(name);
    this._retired.push(port);
    port.removed = true;
    await port.close();
    await port.done;
  }

  /**
   * Resolves when every port (attached or removed) has delivered everything to its consumer; with
   * `isolated` false, ports whose failures are isolated (live streams) are not waited for: they end
   * when their output is finalized.
   */
  async done(isolated = true): Promise<void> {
    await Promise.all([...this._ports.values(), ...this._retired].filter((p) => isolated || p.onError === 'fail').map((p) => p.done));
  }

  /** Resolves when the named port has delivered everything it holds (or failed). */
  portDone(name: string): Promise<void> {
    return this._port(name)?.done ?? Promise.resolve();
  }

  /** Counters of the named port (attached or removed). */
  portStats(name: string): TeePortStats | undefined {
    return this._port(name)?.toJSON();
  }

  /** The first fatal error among the ports, if any. */
  portError(name: string): AvpipeError | undefined {
    return this._port(name)?.error;
  }

  /** The named port, attached or removed. */
  private _port(name: string): TeePort<T> | undefined {
    return this._ports.get(name) ?? this._retired.find((p) => p.name === name);
  }

  /** Counters of every port. */
  toJSON(): TeePortStats[] {
    return [...this._ports.values(), ...this._retired].map((p) => p.toJSON());
  }
}
