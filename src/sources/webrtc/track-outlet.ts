import type { EncodedChunk } from '../../media/encoded-chunk.js';

/** An outlet's counters. At every moment `in === out + dropped + level`. */
export interface OutletStats {
  in: number;
  out: number;
  dropped: number;
  level: number;
  maxLevel: number;
}

/**
 * Where a live track's frames wait for the pipeline: a bounded buffer behind a ReadableStream. The
 * network never waits, so when the pipeline falls behind and the buffer is full the oldest frames go
 * (video: up to the next keyframe, so what is kept still decodes), counted. The buffer also holds the
 * frames that arrive before the pipeline starts.
 */
export class TrackOutlet {
  readonly readable: ReadableStream<EncodedChunk>;
  readonly capacity: number;
  private readonly _video: boolean;
  private _items: EncodedChunk[] = [];
  private _ended = false;
  /** Everything was dropped: delta frames are left out until a keyframe. */
  private _needKey = false;
  private readonly _onNeedKey: () => void;
  private _wake: (() => void) | undefined;
  private readonly _stats = { in: 0, out: 0, dropped: 0, maxLevel: 0 };

  /** `onNeedKey` is told when video had to be dropped through to the newest frame (the source asks for a keyframe). */
  constructor(kind: 'video' | 'audio', capacity: number, onDone: () => void, onNeedKey: () => void = () => undefined) {
    this._video = kind === 'video';
    this._onNeedKey = onNeedKey;
    this.capacity = capacity;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      onDone();
    };
    this.readable = new ReadableStream<EncodedChunk>({
      pull: async (controller) => {
        while (this._items.length === 0 && !this._ended) await new Promise<void>((resolve) => (this._wake = resolve));
        const item = this._items.shift();
        if (item === undefined) {
          controller.close();
          finish();
          return;
        }
        this._stats.out++;
        controller.enqueue(item);
      },
      cancel: () => {
        this._ended = true;
        this._stats.dropped += this._items.length;
        this._items = [];
        finish();
      },
    }, { highWaterMark: 0 });
  }

  /** Queues one frame; drops the oldest when full. Frames after {@link end} are dropped. */
  push(chunk: EncodedChunk): void {
    this._stats.in++;
    if (this._ended || (this._needKey && chunk.type !== 'key')) {
      this._stats.dropped++;
      return;
    }
    this._needKey = false;
    this._items.push(chunk);
    if (this._items.length > this.capacity) this._dropOldest();
    this._stats.maxLevel = Math.max(this._stats.maxLevel, this._items.length);
    this._wakeReader();
  }

  /** Ends the stream once what it holds is read. Idempotent. */
  end(): void {
    this._ended = true;
    this._wakeReader();
  }

  /** The counters, for results. */
  toJSON(): OutletStats {
    return { ...this._stats, level: this._items.length };
  }

  private _dropOldest(): void {
    let n = 1;
    if (this._video) {
      // Up to the next keyframe: a delta frame without its reference would not decode.
      const nextKey = this._items.findIndex((c, i) => i > 0 && c.type === 'key');
      n = nextKey > 0 ? nextKey : this._items.length;
      if (nextKey <= 0) {
        this._needKey = true;
        this._onNeedKey();
      }
    }
    this._items.splice(0, n);
    this._stats.dropped += n;
  }

  private _wakeReader(): void {
    const wake = this._wake;
    this._wake = undefined;
    wake?.();
  }
}
