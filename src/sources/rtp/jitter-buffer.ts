/** The RTP fields the jitter buffer and the depacketizer read (werift's RtpPacket has them). */
export interface RtpPacketLike {
  header: { sequenceNumber: number; timestamp: number; marker: boolean; payloadType: number; ssrc: number };
  payload: Buffer;
}

/** What the jitter buffer releases, in sequence order: a packet, or a run of packets given up as lost. */
export type JitterOutput<P extends RtpPacketLike = RtpPacketLike> = { packet: P } | { lost: number };

/** A jitter buffer's counters. `received === released + duplicate + late + level`. */
export interface JitterStats {
  /** Packets that arrived. */
  received: number;
  /** Packets passed on, in sequence order. */
  released: number;
  /** Sequence numbers given up after waiting `latencyMs` (or when the buffer was full). */
  lost: number;
  /** Packets that arrived after a later one (then put back in order). */
  reordered: number;
  /** Packets held twice (the second dropped). */
  duplicate: number;
  /** Packets that arrived after their place was released or given up (dropped). */
  late: number;
  /** Packets held now, waiting for a gap before them to be filled or given up. */
  level: number;
}

/**
 * The pure core of a jitter buffer: puts packets back in sequence order and gives up on a gap once
 * the packet after it has waited `latencyMs` (time a retransmission gets to fill it). No timers: the
 * adapter calls {@link release} with the wall clock. Sequence numbers are unwrapped to 64-bit-safe
 * integers, so a stream may run for days.
 */
export class JitterBuffer<P extends RtpPacketLike = RtpPacketLike> {
  readonly latencyMs: number;
  readonly capacity: number;
  private readonly _held = new Map<number, { packet: P; arrivalMs: number }>();
  /** Unwrapped sequence number expected next; undefined before the first packet. */
  private _next: number | undefined;
  private _highest = 0;
  private readonly _stats: Omit<JitterStats, 'level'> = { received: 0, released: 0, lost: 0, reordered: 0, duplicate: 0, late: 0 };

  constructor(latencyMs: number, capacity = 512) {
    if (!(latencyMs >= 0)) throw new TypeError(`latencyMs must be >= 0, got ${latencyMs}`);
    this.latencyMs = latencyMs;
    this.capacity = capacity;
  }

  /** Takes one packet that arrived at `nowMs`; returns what is now in order (and gaps given up). */
  push(packet: P, nowMs: number): JitterOutput<P>[] {
    this._stats.received++;
    const seq = packet.header.sequenceNumber;
    if (this._next === undefined) {
      this._next = seq;
      this._highest = seq;
    }
    const ext = this._unwrap(seq);
    if (ext < this._next) {
      // Its place was already released or given up: a duplicate, or a retransmission that came too late.
      this._stats.late++;
      return this.release(nowMs);
    }
    if (this._held.has(ext)) {
      this._stats.duplicate++;
      return this.release(nowMs);
    }
    if (ext < this._highest) this._stats.reordered++;
    this._highest = Math.max(this._highest, ext);
    this._held.set(ext, { packet, arrivalMs: nowMs });
    return this.release(nowMs);
  }

  /**
   * Releases every packet now in order; a gap is given up when the oldest packet behind it has waited
   * `latencyMs`, or when more than `capacity` packets wait.
   */
  release(nowMs: number): JitterOutput<P>[] {
    const out: JitterOutput<P>[] = [];
    if (this._next === undefined) return out;
    for (;;) {
      const held = this._held.get(this._next);
      if (held !== undefined) {
        this._held.delete(this._next);
        this._next++;
        this._stats.released++;
        out.push({ packet: held.packet });
        continue;
      }
      if (this._held.size === 0) break;
      const first = Math.min(...this._held.keys());
      const waited = nowMs - this._held.get(first)!.arrivalMs;
      if (waited < this.latencyMs && this._held.size <= this.capacity) break;
      const lost = first - this._next;
      this._stats.lost += lost;
      out.push({ lost });
      this._next = first;
    }
    return out;
  }

  /** Releases everything held, gaps counted as lost (end of stream). */
  flush(): JitterOutput<P>[] {
    return this.release(Infinity);
  }

  /** The counters, for results. */
  toJSON(): JitterStats {
    return { ...this._stats, level: this._held.size };
  }

  /** The unwrapped sequence number nearest the highest seen. */
  private _unwrap(seq: number): number {
    const base = this._highest - (this._highest & 0xffff);
    let ext = base + seq;
    if (ext - this._highest > 0x8000) ext -= 0x10000;
    else if (this._highest - ext > 0x8000) ext += 0x10000;
    return ext;
  }
}
