/** AMF0 values avpipe sends and reads (RTMP command messages). */
export type Amf0Value = number | boolean | string | null | undefined | Amf0Object;
/** An AMF0 object (and ECMA array, written as an object). */
export interface Amf0Object { [key: string]: Amf0Value }

/** Encodes values one after another, as a command message body holds them. */
export function encodeAmf0(...values: Amf0Value[]): Uint8Array {
  const parts: Buffer[] = [];
  const str = (s: string): Buffer => {
    const b = Buffer.from(s, 'utf8');
    const h = Buffer.alloc(2);
    h.writeUInt16BE(b.length);
    return Buffer.concat([h, b]);
  };
  const write = (v: Amf0Value): void => {
    if (typeof v === 'number') {
      const b = Buffer.alloc(9);
      b[0] = 0x00;
      b.writeDoubleBE(v, 1);
      parts.push(b);
    } else if (typeof v === 'boolean') {
      parts.push(Buffer.from([0x01, v ? 1 : 0]));
    } else if (typeof v === 'string') {
      parts.push(Buffer.from([0x02]), str(v));
    } else if (v === null) {
      parts.push(Buffer.from([0x05]));
    } else if (v === undefined) {
      parts.push(Buffer.from([0x06]));
    } else {
      parts.push(Buffer.from([0x03]));
      for (const [k, x] of Object.entries(v)) {
        parts.push(str(k));
        write(x);
      }
      parts.push(Buffer.from([0x00, 0x00, 0x09]));
    }
  };
  for (const v of values) write(v);
  return Buffer.concat(parts);
}

/** Decodes every value in a command message body. Throws on types avpipe never expects. */
export function decodeAmf0(data: Uint8Array): Amf0Value[] {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let p = 0;
  const str = (long = false): string => {
    const n = long ? b.readUInt32BE(p) : b.readUInt16BE(p);
    p += long ? 4 : 2;
    const s = b.toString('utf8', p, p + n);
    p += n;
    return s;
  };
  const props = (): Amf0Object => {
    const o: Amf0Object = {};
    for (;;) {
      const k = str();
      if (k === '' && b[p] === 0x09) {
        p++;
        return o;
      }
      o[k] = read();
    }
  };
  const read = (): Amf0Value => {
    const type = b[p++];
    switch (type) {
      case 0x00: { const v = b.readDoubleBE(p); p += 8; return v; }
      case 0x01: return b[p++] !== 0;
      case 0x02: return str();
      case 0x03: return props();
      case 0x05: return null;
      case 0x06: return undefined;
      case 0x08: p += 4; return props();
      case 0x0c: return str(true);
      default: throw new Error(`AMF0 type 0x${(type ?? 0).toString(16)} at byte ${p - 1} is not supported`);
    }
  };
  const out: Amf0Value[] = [];
  while (p < b.length) out.push(read());
  return out;
}
