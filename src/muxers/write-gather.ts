import type { PositionalWrite } from './positional-write.js';

const CLUSTER_ID = [0x1f, 0x43, 0xb6, 0x75];
/** A 5-byte EBML size of all ones: unknown. */
const UNKNOWN_SIZE_5 = new Uint8Array([0x0f, 0xff, 0xff, 0xff, 0xff]);

/**
 * A cluster header at `at` whose size (5 bytes) is still mediabunny's placeholder: the size of the
 * Timestamp that follows. A done cluster's header carries its real size (it may come so at the end).
 */
function isNewCluster(d: Uint8Array, at: number): boolean {
  return CLUSTER_ID.every((b, i) => d[at + i] === b) && d[at + 4] === 0x08 && d[at + 5] === 0 && d[at + 6] === 0 && d[at + 7] === 0
    && d[at + 9] === 0xe7 && d[at + 8] === 2 + ((d[at + 10] ?? 0) & 0x7f);
}

/** A write gather's counters. */
export interface WriteGatherStats {
  writesIn: number;
  /** Writes passed on (about one per `release`, plus each cluster's size). */
  writesOut: number;
  /** Bytes held now, and the most ever held (about a second of media). */
  held: number;
  maxHeld: number;
}

/**
 * Holds a Matroska muxer's appended bytes and passes them on in one write when the muxer writes behind
 * its end (it goes back to write a cluster's size when the cluster is done), when told to (`release`,
 * about every second of media) or when more than `maxBytes` are held. A recording then costs a write
 * or two a second, not one per block, and a killed recorder loses at most what was held. A cluster
 * goes out first with its size unknown, which every reader takes as "up to the next cluster or the
 * end of the file"; its real size follows when it is done.
 */
export class WriteGather {
  /** Takes the muxer's positional writes. */
  readonly writable: WritableStream<PositionalWrite>;
  private readonly _out: WritableStreamDefaultWriter<PositionalWrite>;
  private readonly _maxBytes: number;
  private _buf = new Uint8Array(64 << 10);
  /** File position of `_buf[0]` and how many bytes it holds. */
  private _start = 0;
  private _length = 0;
  /** The furthest byte seen: a write before it is a patch. */
  private _end = 0;
  private readonly _overrides: { position: number; bytes: Uint8Array }[] = [];
  /** Where clusters start inside a write (the first one comes after the segment's header). */
  private readonly _clusterStarts: number[] = [];
  private _release = false;
  private readonly _stats: WriteGatherStats = { writesIn: 0, writesOut: 0, held: 0, maxHeld: 0 };

  constructor(target: WritableStream<PositionalWrite>, maxBytes = 16 << 20) {
    this._out = target.getWriter();
    this._maxBytes = maxBytes;
    this.writable = new WritableStream<PositionalWrite>({
      write: (w) => this._write(w),
      close: async () => {
        await this._flush();
        await this._out.close();
      },
      abort: (reason) => this._out.abort(reason),
    });
  }

  /**
   * The first bytes written at `position` are replaced by `bytes` (a live WebM's segment size is
   * written as unknown, so readers do not stop at the headers; the muxer writes the real one last).
   */
  override(position: number, bytes: Uint8Array): void {
    this._overrides.push({ position, bytes });
  }

  /** A cluster starts at `position` (inside a write: those at a write's start are seen without this). */
  clusterAt(position: number): void {
    this._clusterStarts.push(position);
  }

  /** What is held goes out with the next write (the muxer's writes arrive a packet at a time). */
  release(): void {
    this._release = true;
  }

  toJSON(): WriteGatherStats {
    return { ...this._stats, held: this._length };
  }

  private async _write(w: PositionalWrite): Promise<void> {
    this._stats.writesIn++;
    const data = this._applyOverrides(w);
    const end = this._start + this._length;
    if (this._length > 0 && w.position >= this._start && w.position <= end) {
      this._put(data, w.position);
      if (w.position < end || this._release || this._length >= this._maxBytes) await this._flush();
      return;
    }
    const behind = w.position < this._end;
    await this._flush();
    if (behind) {
      await this._send(data, w.position);
      return;
    }
    this._start = w.position;
    this._put(data, w.position);
    if (this._release || this._length >= this._maxBytes) await this._flush();
  }

  private _applyOverrides(w: PositionalWrite): Uint8Array {
    let data = w.data;
    // A new cluster goes out with its size unknown (its real size is written when it is done).
    if (w.position >= this._end) {
      const starts = [0, ...this._clusterStarts.filter((p) => p > w.position && p < w.position + data.byteLength).map((p) => p - w.position)];
      for (const at of starts) {
        if (!isNewCluster(data, at)) continue;
        if (data === w.data) data = data.slice();
        data.set(UNKNOWN_SIZE_5, at + 4);
      }
      this._clusterStarts.splice(0, this._clusterStarts.length, ...this._clusterStarts.filter((p) => p >= w.position + data.byteLength));
    }
    for (let i = 0; i < this._overrides.length; i++) {
      const o = this._overrides[i]!;
      if (o.position < w.position || o.position + o.bytes.byteLength > w.position + data.byteLength) continue;
      if (data === w.data) data = data.slice();
      data.set(o.bytes, o.position - w.position);
      this._overrides.splice(i--, 1);
    }
    return data;
  }

  /** Lays `data` over the held bytes at `position` (inside them or right after). */
  private _put(data: Uint8Array, position: number): void {
    const at = position - this._start;
    const length = Math.max(this._length, at + data.byteLength);
    if (length > this._buf.byteLength) {
      let size = this._buf.byteLength;
      while (size < length) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this._buf.subarray(0, this._length));
      this._buf = grown;
    }
    this._buf.set(data, at);
    this._length = length;
    this._end = Math.max(this._end, position + data.byteLength);
    this._stats.maxHeld = Math.max(this._stats.maxHeld, length);
  }

  private async _flush(): Promise<void> {
    this._release = false;
    if (this._length === 0) return;
    const data = this._buf.slice(0, this._length);
    const position = this._start;
    this._start += this._length;
    this._length = 0;
    await this._send(data, position);
  }

  private async _send(data: Uint8Array, position: number): Promise<void> {
    this._stats.writesOut++;
    this._end = Math.max(this._end, position + data.byteLength);
    await this._out.write({ type: 'write', data, position });
  }
}
