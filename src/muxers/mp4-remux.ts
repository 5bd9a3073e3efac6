import type { Microseconds } from '../time.js';
import { boxSize, child, dv, fourcc, handlerOf, parseBoxes, writeBox, type Box, type TopBox } from './isobmff-boxes.js';

/**
 * MP4 -> MP4 with every kept track copied, the way qt-faststart and MP4Box do it: the input's moov is
 * kept as it is (sample descriptions, timing, edit lists, metadata) but for the tracks left out and the
 * chunk offsets, which are rewritten to where the media lands; the media data is then copied in large
 * blocks, never read as packets. The output is ftyp, moov, mdat: it starts playing before it is all
 * downloaded (faststart). This file is the pure part: from the input's boxes to the bytes written
 * first and the input ranges copied after them.
 */

/** What a remux reads before it decides: the input's top-level boxes, its ftyp and moov (whole boxes). */
export interface Mp4RemuxInput {
  fileSize: number;
  boxes: readonly TopBox[];
  ftyp: Uint8Array | undefined;
  /** The moov box, header included. */
  moov: Uint8Array;
}

/** One copied track: its counters for the result. Times are media time. */
export interface Mp4RemuxTrack {
  id: number;
  kind: 'video' | 'audio';
  samples: number;
  bytes: number;
  /** Where it starts showing (a leading empty edit), microseconds. */
  firstUs: Microseconds;
  /** Where it ends showing, microseconds. */
  endUs: Microseconds;
}

/** What a remux writes: `head`, then each input range in order. */
export interface Mp4RemuxPlan {
  /** ftyp, the rewritten moov and the mdat header. */
  head: Uint8Array;
  /** Input byte ranges copied after the head, in order (adjacent chunks coalesced). */
  runs: { from: number; length: number }[];
  /** The output's size. */
  size: number;
  tracks: Mp4RemuxTrack[];
}

/** Why a remux cannot be made: the run then goes packet by packet. */
export class RemuxDeclined extends Error {
  override readonly name = 'RemuxDeclined';
}

const U32_MAX = 0xffffffff;

/** A track's chunks, in its table's order (typed arrays: an hour holds a hundred thousand). */
interface Chunks {
  offset: Float64Array;
  size: Float64Array;
  /** Where each lands in the output's media (from the mdat payload's start). */
  out: Float64Array;
  /** Indices in file order (the table's order, unless a muxer wrote them out of order). */
  order: Uint32Array;
}

interface ParsedTrack {
  trak: Box;
  stbl: Box;
  info: Mp4RemuxTrack;
  chunks: Chunks;
}

/**
 * Plans the remux of an input, keeping the tracks with these IDs (tkhd's track_ID) in the input's
 * order. `maxGapUs`: a sample longer than this (a jump the packet path would close up) declines.
 * Throws {@link RemuxDeclined} naming why when the input is not a whole, regular MP4 this can copy.
 */
export function planMp4Remux(input: Mp4RemuxInput, keep: readonly number[], maxGapUs: Microseconds): Mp4RemuxPlan {
  try {
    return plan(input, keep, maxGapUs);
  } catch (err) {
    // A box that overruns its parent, a field past a short box, nesting too deep to follow: the packet
    // path reads such a file its own way (and names what is wrong with it).
    if (err instanceof RemuxDeclined) throw err;
    throw new RemuxDeclined(`its moov cannot be rewritten (${(err as Error).message})`);
  }
}

function plan(input: Mp4RemuxInput, keep: readonly number[], maxGapUs: Microseconds): Mp4RemuxPlan {
  const { boxes, fileSize } = input;
  if (input.ftyp === undefined) throw new RemuxDeclined('no ftyp box (a QuickTime file)');
  const headerOf = (type: string): number => boxes.find((b) => b.type === type)?.header ?? 8;
  if (input.ftyp.byteLength < headerOf('ftyp') + 4) throw new RemuxDeclined('a short ftyp');
  const brand = fourcc(input.ftyp, headerOf('ftyp'));
  if (brand === 'qt  ') throw new RemuxDeclined('a QuickTime file (brand qt)');
  if (boxes.some((b) => b.type === 'moof')) throw new RemuxDeclined('a fragmented MP4');
  const mdats = boxes.filter((b) => b.type === 'mdat');
  for (const m of mdats) if (m.start + m.size > fileSize) throw new RemuxDeclined('its mdat is cut short (a truncated file)');
  const moovBody = input.moov.subarray(headerOf('moov'));
  const moovBoxes = parseBoxes(moovBody);
  const moov: Box = { type: 'moov', payload: moovBody, children: moovBoxes };
  // Offsets outside the sample tables would point at the old places: item locations (iloc).
  const meta = child(moov, 'meta');
  if (meta !== undefined && Buffer.from(meta.payload).includes('iloc')) throw new RemuxDeclined('its moov has item locations (iloc) that point into the file');
  if (child(moov, 'mvex') !== undefined) throw new RemuxDeclined('a fragmented MP4 (mvex)');
  const mvhd = child(moov, 'mvhd');
  if (mvhd === undefined) throw new RemuxDeclined('no mvhd');
  const movieScale = dv(mvhd.payload).getUint32(mvhd.payload[0] === 1 ? 20 : 12);
  if (movieScale === 0) throw new RemuxDeclined('a movie timescale of 0');

  const traks = moovBoxes.filter((b) => b.type === 'trak');
  const kept: ParsedTrack[] = [];
  for (const trak of traks) {
    const id = trackId(trak);
    if (!keep.includes(id)) continue;
    kept.push(parseTrack(trak, id, kept.length, movieScale, maxGapUs));
  }
  for (const id of keep) if (!kept.some((t) => t.info.id === id)) throw new RemuxDeclined(`no track with ID ${id}`);

  // Every chunk inside an mdat, no two overlapping; then runs of adjacent chunks, in file order, and
  // where each chunk lands in the output's media.
  const runs: { from: number; length: number }[] = [];
  let inMdat: TopBox | undefined;
  let media = 0;
  const next = kept.map(() => 0);
  for (;;) {
    // The next chunk in file order over all kept tracks: a merge of each track's ordered chunks.
    let k = -1;
    let offset = Infinity;
    for (const [i, t] of kept.entries()) {
      const j = next[i]!;
      if (j < t.chunks.order.length && t.chunks.offset[t.chunks.order[j]!]! < offset) {
        k = i;
        offset = t.chunks.offset[t.chunks.order[j]!]!;
      }
    }
    if (k < 0) break;
    const c = kept[k]!.chunks;
    const index = c.order[next[k]!++]!;
    const size = c.size[index]!;
    c.out[index] = media;
    if (size === 0) continue;
    if (inMdat === undefined || offset < inMdat.start + inMdat.header || offset + size > inMdat.start + inMdat.size) {
      inMdat = mdats.find((m) => offset >= m.start + m.header && offset + size <= m.start + m.size);
      if (inMdat === undefined) throw new RemuxDeclined(`track ${kept[k]!.info.id}'s chunk ${index + 1} is outside the media data`);
    }
    const last = runs.at(-1);
    const lastEnd = last === undefined ? -1 : last.from + last.length;
    if (offset < lastEnd) throw new RemuxDeclined(`track ${kept[k]!.info.id}'s chunk ${index + 1} overlaps another`);
    if (offset === lastEnd) last!.length += size;
    else runs.push({ from: offset, length: size });
    media += size;
  }

  // The head's size decides the offsets, and 64-bit offsets the head's size: 32-bit unless they overflow.
  const dropped = traks.length !== kept.length;
  const mdatHeader = media + 8 > U32_MAX ? 16 : 8;
  let out = outputMoov(moov, kept, dropped, false);
  let headSize = input.ftyp.byteLength + boxSize(out.moov) + mdatHeader;
  if (headSize + media > U32_MAX) {
    out = outputMoov(moov, kept, dropped, true);
    headSize = input.ftyp.byteLength + boxSize(out.moov) + mdatHeader;
  }
  for (const [i, t] of kept.entries()) {
    const v = dv(out.tables[i]!);
    const { out: landed } = t.chunks;
    // An empty chunk holds nothing to find: any offset does.
    if (out.wide) for (let j = 0; j < landed.length; j++) v.setBigUint64(8 + 8 * j, BigInt(headSize + landed[j]!));
    else for (let j = 0; j < landed.length; j++) v.setUint32(8 + 4 * j, headSize + landed[j]!);
  }
  const head = new Uint8Array(headSize);
  head.set(input.ftyp, 0);
  const moovEnd = writeBox(out.moov, head, input.ftyp.byteLength);
  head.set(mdatBoxHeader(media, mdatHeader), moovEnd);
  return { head, runs, size: headSize + media, tracks: kept.map((t) => t.info) };
}

/**
 * The output's moov: only the kept traks, each with a chunk offset table (zeros, filled once the
 * head's size is known) in place of its stco/co64; `tables[i]` is kept track i's table payload.
 */
function outputMoov(moov: Box, kept: readonly ParsedTrack[], dropped: boolean, wide: boolean): { moov: Box; tables: Uint8Array[]; wide: boolean } {
  const tables: Uint8Array[] = [];
  const children: Box[] = [];
  for (const b of moov.children!) {
    if (b.type !== 'trak') {
      children.push(b);
      continue;
    }
    const t = kept.find((k) => k.trak === b);
    if (t === undefined) continue;
    const n = t.chunks.offset.length;
    const payload = new Uint8Array(8 + n * (wide ? 8 : 4));
    dv(payload).setUint32(4, n);
    tables[kept.indexOf(t)] = payload;
    const table: Box = { type: wide ? 'co64' : 'stco', payload };
    const stbl: Box = { ...t.stbl, children: t.stbl.children!.map((c) => (c.type === 'stco' || c.type === 'co64' ? table : c)) };
    children.push(replaceIn(b, stbl, dropped));
  }
  return { moov: { type: 'moov', payload: new Uint8Array(0), children }, tables, wide };
}

/** The trak with its stbl replaced (and, when tracks were left out, no track references that may point at them). */
function replaceIn(box: Box, stbl: Box, dropRefs: boolean): Box {
  if (box.type === 'stbl') return stbl;
  if (box.children === undefined) return box;
  return { ...box, children: box.children.filter((c) => !(dropRefs && c.type === 'tref')).map((c) => replaceIn(c, stbl, dropRefs)) };
}

function mdatBoxHeader(media: number, header: 8 | 16): Uint8Array {
  const out = new Uint8Array(header);
  const v = dv(out);
  if (header === 8) v.setUint32(0, media + 8);
  else {
    v.setUint32(0, 1);
    v.setBigUint64(8, BigInt(media + 16));
  }
  out.set([0x6d, 0x64, 0x61, 0x74], 4);
  return out;
}

/** The first sample entry's type ('avc1', 'mp4a', 'encv'...); '' when there is none. */
function sampleEntry(stsd: Box | undefined): string {
  return stsd === undefined || stsd.payload.byteLength < 16 ? '' : fourcc(stsd.payload, 12);
}

/** True when every data reference says the media is in this file (flag 1), or there is none. */
function selfContained(dref: Box | undefined): boolean {
  if (dref === undefined) return true;
  const v = dv(dref.payload);
  const n = entries(dref, 4, 12, 'dref');
  let at = 8;
  for (let i = 0; i < n; i++) {
    if (at + 12 > dref.payload.byteLength) return false;
    const size = v.getUint32(at);
    if ((v.getUint32(at + 8) & 1) !== 1) return false;
    if (size < 12) return false;
    at += size;
  }
  return true;
}

function trackId(trak: Box): number {
  const tkhd = child(trak, 'tkhd');
  if (tkhd === undefined) throw new RemuxDeclined('a trak without tkhd');
  return dv(tkhd.payload).getUint32(tkhd.payload[0] === 1 ? 20 : 12);
}

/** A full box's entry count, checked against its payload: a hostile count declines instead of looping. */
function entries(box: Box, at: number, entryBytes: number, name: string): number {
  if (box.payload.byteLength < at + 4) throw new RemuxDeclined(`a short ${name}`);
  const n = dv(box.payload).getUint32(at);
  if (at + 4 + n * entryBytes > box.payload.byteLength) throw new RemuxDeclined(`${name} says ${n} entries, more than it holds`);
  return n;
}

function parseTrack(trak: Box, id: number, index: number, movieScale: number, maxGapUs: Microseconds): ParsedTrack {
  const handler = handlerOf(trak);
  const kind = handler === 'vide' ? 'video' : handler === 'soun' ? 'audio' : undefined;
  if (kind === undefined) throw new RemuxDeclined(`track ${id} is neither video nor audio (${handler})`);
  const mdia = child(trak, 'mdia');
  const mdhd = child(mdia, 'mdhd');
  const stbl = child(child(mdia, 'minf'), 'stbl');
  if (mdhd === undefined || stbl === undefined) throw new RemuxDeclined(`track ${id} has no mdhd or stbl`);
  const scale = dv(mdhd.payload).getUint32(mdhd.payload[0] === 1 ? 20 : 12);
  if (scale === 0) throw new RemuxDeclined(`track ${id} has a timescale of 0`);
  // Encrypted samples: their auxiliary information (saio) holds file offsets this does not rewrite.
  if (['saio', 'saiz', 'senc'].some((t) => child(stbl, t) !== undefined) || ['encv', 'enca'].includes(sampleEntry(child(stbl, 'stsd')))) {
    throw new RemuxDeclined(`track ${id} is encrypted`);
  }
  // Media in another file (a data reference without the self-contained flag) is not copied by this.
  if (!selfContained(child(child(child(mdia, 'minf'), 'dinf'), 'dref'))) throw new RemuxDeclined(`track ${id}'s media is in another file (dref)`);
  const need = (type: string): Box => {
    const b = child(stbl, type);
    if (b === undefined) throw new RemuxDeclined(`track ${id} has no ${type} (an ${type === 'stsz' ? 'stz2' : 'unusual'} sample table)`);
    return b;
  };

  // Sample sizes.
  const stsz = need('stsz');
  const sv = dv(stsz.payload);
  if (stsz.payload.byteLength < 12) throw new RemuxDeclined('a short stsz');
  const fixed = sv.getUint32(4);
  const samples = fixed === 0 ? entries(stsz, 8, 4, 'stsz') : sv.getUint32(8);

  // Chunk offsets.
  const co64 = child(stbl, 'co64');
  const stco = co64 ?? need('stco');
  const ov = dv(stco.payload);
  const chunkCount = entries(stco, 4, co64 === undefined ? 4 : 8, stco.type);
  const offsetOf = co64 === undefined ? (i: number): number => ov.getUint32(8 + 4 * i) : (i: number): number => Number(ov.getBigUint64(8 + 8 * i));

  // Samples per chunk, run-length coded from a first chunk on.
  const stsc = need('stsc');
  const cv = dv(stsc.payload);
  const runsCount = entries(stsc, 4, 12, 'stsc');
  const chunks: Chunks = { offset: new Float64Array(chunkCount), size: new Float64Array(chunkCount), out: new Float64Array(chunkCount), order: new Uint32Array(chunkCount) };
  let sample = 0;
  let bytes = 0;
  let inOrder = true;
  for (let r = 0; r < runsCount; r++) {
    const first = cv.getUint32(8 + 12 * r);
    const perChunk = cv.getUint32(12 + 12 * r);
    const next = r + 1 < runsCount ? cv.getUint32(8 + 12 * (r + 1)) : chunkCount + 1;
    if (first < 1 || next <= first || next > chunkCount + 1 || (r === 0 && first !== 1)) throw new RemuxDeclined(`track ${id}'s stsc is out of order`);
    for (let c = first - 1; c < next - 1; c++) {
      if (sample + perChunk > samples) throw new RemuxDeclined(`track ${id}'s chunks hold more samples than stsz has`);
      let size = 0;
      if (fixed !== 0) size = perChunk * fixed;
      else for (let s = 0; s < perChunk; s++) size += sv.getUint32(12 + 4 * (sample + s));
      sample += perChunk;
      bytes += size;
      chunks.offset[c] = offsetOf(c);
      chunks.size[c] = size;
      chunks.order[c] = c;
      if (c > 0 && chunks.offset[c]! < chunks.offset[c - 1]!) inOrder = false;
    }
  }
  if (sample !== samples) throw new RemuxDeclined(`track ${id}'s chunks hold ${sample} samples, stsz ${samples}`);
  if (!inOrder) chunks.order.sort((a, b) => chunks.offset[a]! - chunks.offset[b]!);

  // Durations: every sample counted once; none longer than the jump the packet path would close up.
  const stts = need('stts');
  const tv = dv(stts.payload);
  const timed = entries(stts, 4, 8, 'stts');
  let counted = 0;
  let total = 0;
  const maxDelta = (maxGapUs / 1e6) * scale;
  for (let i = 0; i < timed; i++) {
    const count = tv.getUint32(8 + 8 * i);
    const delta = tv.getUint32(12 + 8 * i);
    if (delta > maxDelta) throw new RemuxDeclined(`track ${id} has a sample of ${(delta / scale).toFixed(1)} s, past limits.maxGap`);
    // Frames at one time cannot all be shown: the packet path refuses such a file, naming it.
    if (delta === 0 && count > 0 && kind === 'video') throw new RemuxDeclined(`track ${id} has video samples of no duration (repeated times)`);
    counted += count;
    total += count * delta;
  }
  if (counted !== samples) throw new RemuxDeclined(`track ${id}'s stts times ${counted} samples, stsz has ${samples}`);

  // Where it shows: a leading empty edit delays it; the first edit's media time is where it starts.
  let leadUs = 0;
  let mediaStart = 0;
  /** The first shown edit's length, movie timescale: where it ends, when stated. */
  let shown = 0;
  const elst = child(child(trak, 'edts'), 'elst');
  if (elst !== undefined) {
    const ev = dv(elst.payload);
    const v1 = elst.payload[0] === 1;
    const n = entries(elst, 4, v1 ? 20 : 12, 'elst');
    for (let i = 0; i < n; i++) {
      const at = 8 + i * (v1 ? 20 : 12);
      const segment = v1 ? Number(ev.getBigUint64(at)) : ev.getUint32(at);
      const time = v1 ? Number(ev.getBigInt64(at + 8)) : ev.getInt32(at + 4);
      if (time !== -1) {
        mediaStart = time;
        shown = n === i + 1 ? segment : 0;
        break;
      }
      leadUs += Math.round((segment / movieScale) * 1e6);
    }
  }
  const firstUs = leadUs;
  // One shown edit with a length says where it ends; otherwise the media from the edit's start on.
  const endUs = leadUs + (shown > 0 ? Math.round((shown / movieScale) * 1e6) : Math.max(0, Math.round(((total - mediaStart) / scale) * 1e6)));
  return { trak, stbl, chunks, info: { id, kind, samples, bytes, firstUs, endUs } };
}
