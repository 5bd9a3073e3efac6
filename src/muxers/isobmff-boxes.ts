import type { FileHandle } from 'node:fs/promises';
import { AvpipeError } from '../errors.js';
import { readAt } from '../file-io.js';

/**
 * ISO BMFF (MP4/MOV) boxes as a tree: parsed from bytes, changed, written back. The containers avpipe
 * rewrites get children; every other box stays its raw payload, so what avpipe does not understand
 * is written back as it was. @internal
 */

/** A box in a parsed tree: raw payload for leaves, children for the containers avpipe rewrites. */
export interface Box {
  type: string;
  /** Payload (after the header) for leaves. */
  payload: Uint8Array;
  children?: Box[];
}

export const CONTAINERS = new Set(['moov', 'trak', 'mdia', 'minf', 'stbl', 'mvex', 'moof', 'traf', 'edts', 'dinf']);

export function fourcc(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);
}

/** A box's header: its type, its header's length (8, or 16 with a 64-bit size) and its whole size. */
export interface BoxHeader {
  type: string;
  header: number;
  size: number;
}

/**
 * The header of the box at `at` in `b`, whose parent has `rest` bytes from `at` on (a size of 0 runs
 * to there). Undefined when its 64-bit size is cut off. The size is as stated: it may be less than
 * the header or run past the parent, which the caller judges.
 */
export function boxHeader(b: Uint8Array, at: number, rest: number): BoxHeader | undefined {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const size = view.getUint32(at);
  const type = fourcc(b, at + 4);
  if (size === 1) return at + 16 <= b.byteLength ? { type, header: 16, size: Number(view.getBigUint64(at + 8)) } : undefined;
  return { type, header: 8, size: size === 0 ? rest : size };
}

/** Parses boxes in `b` (a moov's or moof's body); containers get children. */
export function parseBoxes(b: Uint8Array): Box[] {
  const out: Box[] = [];
  let at = 0;
  while (at + 8 <= b.byteLength) {
    const h = boxHeader(b, at, b.byteLength - at);
    if (h === undefined || h.size < h.header || at + h.size > b.byteLength) throw new AvpipeError('INPUT_INVALID', `a ${h?.type ?? fourcc(b, at + 4)} box overruns its parent`);
    const payload = b.subarray(at + h.header, at + h.size);
    out.push(CONTAINERS.has(h.type) ? { type: h.type, payload, children: parseBoxes(payload) } : { type: h.type, payload });
    at += h.size;
  }
  return out;
}

/** A top-level box of a file: where it starts, and its header (its size may run past the file's end). */
export interface TopBox extends BoxHeader {
  start: number;
}

/**
 * A file's top-level boxes from their headers alone (16 bytes read per box), in order. The scan stops
 * at the end, at a header that cannot be read or states a size below its own length (`stopped:
 * 'bad-header'`), or after `max` boxes (`'max'`). The last box may run past the file's end (a cut file).
 */
export async function readTopBoxes(fh: FileHandle, fileSize: number, max = Infinity): Promise<{ boxes: TopBox[]; stopped: 'end' | 'bad-header' | 'max' }> {
  const boxes: TopBox[] = [];
  for (let at = 0; at + 8 <= fileSize;) {
    if (boxes.length >= max) return { boxes, stopped: 'max' };
    const h = boxHeader(await readAt(fh, at, 16), 0, fileSize - at);
    if (h === undefined || h.size < h.header) return { boxes, stopped: 'bad-header' };
    boxes.push({ ...h, start: at });
    at += h.size;
  }
  return { boxes, stopped: 'end' };
}

/** A box's size once written (32-bit headers). */
export function boxSize(box: Box): number {
  return 8 + (box.children === undefined ? box.payload.byteLength : box.children.reduce((n, c) => n + boxSize(c), 0));
}

/** Writes a box into `out` at `at` (32-bit headers); returns where it ends. */
export function writeBox(box: Box, out: Uint8Array, at: number): number {
  const start = at;
  at += 8;
  if (box.children === undefined) {
    out.set(box.payload, at);
    at += box.payload.byteLength;
  } else for (const c of box.children) at = writeBox(c, out, at);
  new DataView(out.buffer, out.byteOffset).setUint32(start, at - start);
  for (let i = 0; i < 4; i++) out[start + 4 + i] = box.type.charCodeAt(i);
  return at;
}

/** A box as bytes. */
export function serialize(box: Box): Uint8Array {
  const out = new Uint8Array(boxSize(box));
  writeBox(box, out, 0);
  return out;
}


export const child = (box: Box | undefined, type: string): Box | undefined => box?.children?.find((c) => c.type === type);
export const dv = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** A full box payload from version, flags and fields (u32 unless a bigint, written as u64). */
export function fullBox(type: string, version: number, flags: number, words: (number | bigint)[]): Box {
  const size = 4 + words.reduce<number>((n, w) => n + (typeof w === 'bigint' ? 8 : 4), 0);
  const payload = new Uint8Array(size);
  const v = dv(payload);
  v.setUint32(0, (version << 24) | flags);
  let at = 4;
  for (const w of words) {
    if (typeof w === 'bigint') {
      v.setBigUint64(at, w);
      at += 8;
    } else {
      v.setUint32(at, w >>> 0);
      at += 4;
    }
  }
  return { type, payload };
}

/** The handler type of a trak ('vide', 'soun'). */
export function handlerOf(trak: Box): string {
  const hdlr = child(child(trak, 'mdia'), 'hdlr');
  return hdlr === undefined ? '' : fourcc(hdlr.payload, 8);
}
