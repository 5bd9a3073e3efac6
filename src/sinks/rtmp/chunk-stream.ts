/** An RTMP message: type, stream id, timestamp (ms) and payload. */
export interface RtmpMessage {
  type: number;
  streamId: number;
  timestamp: number;
  payload: Uint8Array;
}

/** RTMP message type ids avpipe uses. */
export const MSG = {
  SET_CHUNK_SIZE: 1, ACK: 3, USER_CONTROL: 4, WINDOW_ACK_SIZE: 5, SET_PEER_BANDWIDTH: 6,
  AUDIO: 8, VIDEO: 9, DATA_AMF0: 18, COMMAND_AMF0: 20,
} as const;

/**
 * Splits messages into chunks (RTMP spec 5.3). Every message starts with a type-0 header, so no
 * state between messages is needed; continuation chunks are type 3.
 */
export class ChunkWriter {
  chunkSize = 128;

  encode(csid: number, msg: RtmpMessage): Buffer {
    const ts = Math.max(0, Math.round(msg.timestamp)) >>> 0;
    const extended = ts >= 0xffffff;
    const len = msg.payload.byteLength;
    const basic = (fmt: number): Buffer => (csid < 64 ? Buffer.from([(fmt << 6) | csid]) : Buffer.from([(fmt << 6) | 0, csid - 64]));
    const header = Buffer.alloc(11);
    header.writeUIntBE(extended ? 0xffffff : ts, 0, 3);
    header.writeUIntBE(len, 3, 3);
    header[6] = msg.type;
    header.writeUInt32LE(msg.streamId, 7);
    const ext = Buffer.alloc(extended ? 4 : 0);
    if (extended) ext.writeUInt32BE(ts);
    const parts: Buffer[] = [basic(0), header, ext];
    const payload = Buffer.from(msg.payload.buffer, msg.payload.byteOffset, len);
    for (let off = 0; off < len || off === 0; off += this.chunkSize) {
      if (off > 0) parts.push(basic(3), ext);
      parts.push(payload.subarray(off, Math.min(len, off + this.chunkSize)));
      if (len === 0) break;
    }
    return Buffer.concat(parts);
  }
}

/** Reassembles messages from the server's chunks (all header types). */
export class ChunkReader {
  chunkSize = 128;
  private _buf: Buffer = Buffer.alloc(0);
  private readonly _streams = new Map<number, { timestamp: number; delta: number; length: number; type: number; streamId: number; parts: Buffer[]; got: number; extended: boolean }>();

  /** Feeds bytes; returns the messages they completed. */
  push(data: Buffer): RtmpMessage[] {
    this._buf = this._buf.length === 0 ? data : Buffer.concat([this._buf, data]);
    const out: RtmpMessage[] = [];
    for (;;) {
      const m = this._one();
      if (m === undefined) break;
      if (m !== null) {
        if (m.type === MSG.SET_CHUNK_SIZE) this.chunkSize = Buffer.from(m.payload).readUInt32BE(0) & 0x7fffffff;
        out.push(m);
      }
    }
    return out;
  }

  /** One chunk: undefined when more bytes are needed, null for a chunk that did not end a message. */
  private _one(): RtmpMessage | null | undefined {
    const b = this._buf;
    if (b.length < 1) return undefined;
    const fmt = b[0]! >> 6;
    let csid = b[0]! & 0x3f;
    let p = 1;
    if (csid === 0) { if (b.length < 2) return undefined; csid = b[1]! + 64; p = 2; }
    else if (csid === 1) { if (b.length < 3) return undefined; csid = b[1]! + b[2]! * 256 + 64; p = 3; }
    const hlen = [11, 7, 3, 0][fmt]!;
    if (b.length < p + hlen) return undefined;
    const prev = this._streams.get(csid);
    const s = prev ?? { timestamp: 0, delta: 0, length: 0, type: 0, streamId: 0, parts: [], got: 0, extended: false };
    let ts = fmt < 3 ? b.readUIntBE(p, 3) : 0;
    if (fmt <= 1) { s.length = b.readUIntBE(p + 3, 3); s.type = b[p + 6]!; }
    if (fmt === 0) s.streamId = b.readUInt32LE(p + 7);
    p += hlen;
    const extended = fmt < 3 ? ts === 0xffffff : s.extended;
    if (extended) { if (b.length < p + 4) return undefined; ts = b.readUInt32BE(p); p += 4; }
    const starting = s.got === 0;
    const n = Math.min(this.chunkSize, s.length - s.got);
    if (b.length < p + n) return undefined;
    if (starting) {
      if (fmt === 0) s.timestamp = ts;
      else if (fmt < 3) { s.delta = ts; s.timestamp += ts; }
      else s.timestamp += s.delta;
    }
    s.extended = extended;
    s.parts.push(b.subarray(p, p + n));
    s.got += n;
    this._buf = b.subarray(p + n);
    this._streams.set(csid, s);
    if (s.got < s.length) return null;
    const payload = Buffer.concat(s.parts);
    s.parts = [];
    s.got = 0;
    return { type: s.type, streamId: s.streamId, timestamp: s.timestamp, payload };
  }
}
