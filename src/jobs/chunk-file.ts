import { AvpipeError } from '../errors.js';
import type { VideoDecoderConfig } from '../media/encoded-chunk.js';
import type { ChunkPacket } from '../pipeline/chunk-protocol.js';

/** The first bytes of a chunk file: the format and its version. */
const MAGIC = Buffer.from('AVPIPE-CHUNK-1\n');
/** A record's header is small JSON: longer is not a chunk file avpipe wrote. */
const MAX_HEADER = 64 * 1024;

/** What one encoded chunk of a distributed export holds: its decoder configuration and its packets. */
export interface ChunkFile {
  decoderConfig: VideoDecoderConfig | undefined;
  packets: ChunkPacket[];
}

interface Header {
  type: ChunkPacket['type'];
  timestamp: number;
  duration: number | null;
  decodeTimestamp: number | null;
  size: number;
}

/**
 * A chunk's packets as bytes, to pass through storage from the worker that encoded it to the one
 * that joins: the magic, the decoder configuration as a JSON line (its description in base64), then
 * per packet a 4-byte length, a JSON header and the packet's bytes.
 */
export function encodeChunkFile(chunk: ChunkFile): Buffer {
  const config = chunk.decoderConfig === undefined ? null : { ...chunk.decoderConfig, description: chunk.decoderConfig.description === undefined ? undefined : Buffer.from(chunk.decoderConfig.description).toString('base64') };
  const parts: Buffer[] = [MAGIC, Buffer.from(`${JSON.stringify(config)}\n`)];
  for (const p of chunk.packets) {
    const header = Buffer.from(JSON.stringify({ type: p.type, timestamp: p.timestamp, duration: p.duration, decodeTimestamp: p.decodeTimestamp, size: p.data.byteLength } satisfies Header));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(header.byteLength);
    parts.push(length, header, Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength));
  }
  return Buffer.concat(parts);
}

/** Reads a chunk file back; one that is not whole or not avpipe's fails as INPUT_INVALID, naming `name`. */
export function decodeChunkFile(bytes: Uint8Array, name: string): ChunkFile {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why: string): AvpipeError => new AvpipeError('INPUT_INVALID', `chunk ${name}: ${why}`);
  if (!buf.subarray(0, MAGIC.byteLength).equals(MAGIC)) throw bad('not an avpipe chunk file');
  const eol = buf.indexOf(0x0a, MAGIC.byteLength);
  if (eol < 0 || eol - MAGIC.byteLength > MAX_HEADER) throw bad('no decoder configuration line');
  let decoderConfig: VideoDecoderConfig | undefined;
  try {
    const c = JSON.parse(buf.subarray(MAGIC.byteLength, eol).toString()) as unknown;
    if (c !== null && !(typeof c === 'object' && typeof (c as VideoDecoderConfig).codec === 'string' && Number.isInteger((c as VideoDecoderConfig).codedWidth) && Number.isInteger((c as VideoDecoderConfig).codedHeight))) throw new Error('not a decoder configuration');
    const d = (c as { description?: unknown } | null)?.description;
    if (d !== undefined && typeof d !== 'string') throw new Error('not a decoder configuration');
    decoderConfig = c === null ? undefined : { ...(c as VideoDecoderConfig), ...(d === undefined ? {} : { description: new Uint8Array(Buffer.from(d, 'base64')) }) };
  } catch {
    throw bad('its decoder configuration line is not one');
  }
  const packets: ChunkPacket[] = [];
  let at = eol + 1;
  while (at < buf.byteLength) {
    if (at + 4 > buf.byteLength) throw bad(`cut short at byte ${at}`);
    const length = buf.readUInt32BE(at);
    if (length > MAX_HEADER || at + 4 + length > buf.byteLength) throw bad(`packet ${packets.length}'s header runs past the end`);
    let h: Header;
    try {
      h = JSON.parse(buf.subarray(at + 4, at + 4 + length).toString()) as Header;
    } catch {
      throw bad(`packet ${packets.length}'s header is not JSON`);
    }
    at += 4 + length;
    if (typeof h !== 'object' || h === null) throw bad(`packet ${packets.length}'s header is not a packet's`);
    if (!Number.isInteger(h.size) || h.size < 0 || at + h.size > buf.byteLength) throw bad(`packet ${packets.length} runs past the end`);
    const optional = (x: unknown): boolean => x === null || (typeof x === 'number' && Number.isFinite(x));
    if ((h.type !== 'key' && h.type !== 'delta') || !Number.isFinite(h.timestamp) || !optional(h.duration) || !optional(h.decodeTimestamp)) throw bad(`packet ${packets.length}'s header is not a packet's`);
    // A copy: the packet's bytes outlive the file's buffer.
    packets.push({ type: h.type, timestamp: h.timestamp, duration: h.duration, decodeTimestamp: h.decodeTimestamp, data: new Uint8Array(buf.subarray(at, at + h.size)) });
    at += h.size;
  }
  return { decoderConfig, packets };
}
