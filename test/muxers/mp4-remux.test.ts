import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../src/bytes.js';
import { child, parseBoxes, type Box, type TopBox } from '../../src/muxers/isobmff-boxes.js';
import { planMp4Remux, RemuxDeclined, type Mp4RemuxInput } from '../../src/muxers/mp4-remux.js';

// Synthetic MP4s, built box by box here (not by the code under test): the plan is checked against
// offsets worked out by hand from the layout each test lays down.

const u32 = (...v: number[]): Uint8Array => {
  const out = new Uint8Array(4 * v.length);
  v.forEach((x, i) => new DataView(out.buffer).setUint32(4 * i, x));
  return out;
};
const u64 = (...v: number[]): Uint8Array => {
  const out = new Uint8Array(8 * v.length);
  v.forEach((x, i) => new DataView(out.buffer).setBigUint64(8 * i, BigInt(x)));
  return out;
};
const cat = (...parts: Uint8Array[]): Uint8Array => concatBytes(parts);
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const box = (type: string, ...body: Uint8Array[]): Uint8Array => {
  const payload = cat(...body);
  return cat(u32(8 + payload.byteLength), ascii(type), payload);
};
/** A full box: version 0, flags 0. */
const full = (type: string, ...body: Uint8Array[]): Uint8Array => box(type, u32(0), ...body);

interface TrackSpec {
  id: number;
  handler: 'vide' | 'soun';
  timescale: number;
  /** Per chunk: its offset in the file and its samples' sizes. */
  chunks: { offset: number; sizes: number[] }[];
  delta: number;
  wide?: boolean;
  tref?: boolean;
  /** The sample entry's type (default none). */
  entry?: string;
  /** A data reference to another file (the self-contained flag clear). */
  external?: boolean;
}

function trak(t: TrackSpec): Uint8Array {
  const sizes = t.chunks.flatMap((c) => c.sizes);
  const stsc = t.chunks.map((c, i) => [i + 1, c.sizes.length, 1]).flat();
  const offsets = t.chunks.map((c) => c.offset);
  return box('trak',
    full('tkhd', u32(0, 0, t.id, 0, 0), new Uint8Array(60)),
    ...(t.tref === true ? [box('tref', box('chap', u32(2)))] : []),
    box('mdia',
      full('mdhd', u32(0, 0, t.timescale, sizes.length * t.delta, 0)),
      full('hdlr', u32(0), ascii(t.handler), new Uint8Array(13)),
      box('minf',
        ...(t.external === true ? [box('dinf', full('dref', u32(1), box('url ', u32(0), ascii('other.mp4'))))] : []),
        box('stbl',
        t.entry === undefined ? full('stsd', u32(0)) : full('stsd', u32(1), box(t.entry, new Uint8Array(8))),
        full('stts', u32(1, sizes.length, t.delta)),
        full('stsc', u32(t.chunks.length, ...stsc)),
        full('stsz', u32(0, sizes.length, ...sizes)),
        t.wide === true ? full('co64', u32(offsets.length), u64(...offsets)) : full('stco', u32(offsets.length, ...offsets)),
      ))));
}

const FTYP = box('ftyp', ascii('isom'), u32(512), ascii('isomiso2avc1mp41'));

/** ftyp, moov, then one mdat at `mdatStart` (the tracks' offsets point into it) of `mdatSize` bytes. */
function input(tracks: TrackSpec[], mdatStart: number, mdatSize: number, extra: { brand?: string; mvex?: boolean; moof?: boolean; fileSize?: number; mdatHeader?: number } = {}): Mp4RemuxInput {
  const ftyp = extra.brand === undefined ? FTYP : box('ftyp', ascii(extra.brand), u32(0));
  const moov = box('moov', full('mvhd', u32(0, 0, 1000, 0), new Uint8Array(80)), ...tracks.map(trak), ...(extra.mvex === true ? [box('mvex')] : []));
  const boxes: TopBox[] = [
    { type: 'ftyp', start: 0, header: 8, size: ftyp.byteLength },
    { type: 'moov', start: ftyp.byteLength, header: 8, size: moov.byteLength },
    { type: 'mdat', start: mdatStart, header: extra.mdatHeader ?? 8, size: mdatSize },
    ...(extra.moof === true ? [{ type: 'moof', start: mdatStart + mdatSize, header: 8, size: 100 }] : []),
  ];
  return { fileSize: extra.fileSize ?? mdatStart + mdatSize + (extra.moof === true ? 100 : 0), boxes, ftyp, moov };
}

/** The output's moov, parsed back, and each kept track's chunk offsets. */
function readHead(head: Uint8Array): { moov: Box; offsets: Map<number, { type: string; values: number[] }>; mdatAt: number; mdatHeader: Uint8Array } {
  const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const headerAt = v.getUint32(0) + v.getUint32(v.getUint32(0));
  const top = parseBoxes(head.subarray(0, headerAt));
  const moov = top.find((b) => b.type === 'moov')!;
  const offsets = new Map<number, { type: string; values: number[] }>();
  for (const t of moov.children!.filter((c) => c.type === 'trak')) {
    const id = new DataView(child(t, 'tkhd')!.payload.buffer, child(t, 'tkhd')!.payload.byteOffset).getUint32(12);
    const stbl = child(child(child(t, 'mdia'), 'minf'), 'stbl')!;
    const table = child(stbl, 'stco') ?? child(stbl, 'co64')!;
    const v = new DataView(table.payload.buffer, table.payload.byteOffset, table.payload.byteLength);
    const n = v.getUint32(4);
    offsets.set(id, { type: table.type, values: Array.from({ length: n }, (_, i) => (table.type === 'co64' ? Number(v.getBigUint64(8 + 8 * i)) : v.getUint32(8 + 4 * i))) });
  }
  return { moov, offsets, mdatAt: headerAt, mdatHeader: head.subarray(headerAt) };
}

// Two tracks interleaved in one mdat starting at 1000: video chunks of 300 and 500 bytes, audio of 100.
const MDAT = 1000;
const VIDEO: TrackSpec = {
  id: 1, handler: 'vide', timescale: 30, delta: 1,
  chunks: [{ offset: 1008, sizes: [200, 100] }, { offset: 1408, sizes: [500] }, { offset: 2008, sizes: [50, 50, 50] }],
};
const AUDIO: TrackSpec = {
  id: 2, handler: 'soun', timescale: 48000, delta: 1024,
  chunks: [{ offset: 1308, sizes: [60, 40] }, { offset: 1908, sizes: [100] }, { offset: 2158, sizes: [100] }],
};
const MEDIA_END = 2258;

describe('planMp4Remux', () => {
  it('keeps every track: one run of all the media, every chunk moved by the same amount', () => {
    const plan = planMp4Remux(input([VIDEO, AUDIO], MDAT, MEDIA_END - MDAT), [1, 2], 10e6);
    expect(plan.runs).toEqual([{ from: 1008, length: MEDIA_END - 1008 }]);
    const { offsets, mdatAt, mdatHeader } = readHead(plan.head);
    const shift = plan.head.byteLength - 1008;
    expect(offsets.get(1)).toEqual({ type: 'stco', values: [1008 + shift, 1408 + shift, 2008 + shift] });
    expect(offsets.get(2)).toEqual({ type: 'stco', values: [1308 + shift, 1908 + shift, 2158 + shift] });
    expect(mdatAt).toBe(plan.head.byteLength - 8);
    expect(new DataView(mdatHeader.buffer, mdatHeader.byteOffset).getUint32(0)).toBe(8 + MEDIA_END - 1008);
    expect(plan.size).toBe(plan.head.byteLength + MEDIA_END - 1008);
    // ftyp first, as it was.
    expect(plan.head.subarray(0, FTYP.byteLength)).toEqual(FTYP);
    expect(plan.tracks).toEqual([
      { id: 1, kind: 'video', samples: 6, bytes: 950, firstUs: 0, endUs: 200_000 },
      { id: 2, kind: 'audio', samples: 4, bytes: 300, firstUs: 0, endUs: Math.round((4 * 1024 / 48000) * 1e6) },
    ]);
  });

  it('leaves a track out: only the kept chunks are copied, packed, and no track reference is left dangling', () => {
    const plan = planMp4Remux(input([{ ...VIDEO, tref: true }, AUDIO], MDAT, MEDIA_END - MDAT), [1], 10e6);
    expect(plan.runs).toEqual([{ from: 1008, length: 300 }, { from: 1408, length: 500 }, { from: 2008, length: 150 }]);
    const { moov, offsets } = readHead(plan.head);
    const h = plan.head.byteLength;
    expect(offsets.get(1)!.values).toEqual([h, h + 300, h + 800]);
    expect(offsets.has(2)).toBe(false);
    expect(moov.children!.filter((c) => c.type === 'trak')).toHaveLength(1);
    expect(child(moov.children!.find((c) => c.type === 'trak'), 'tref')).toBeUndefined();
    expect(plan.size).toBe(h + 950);
  });

  it('writes 64-bit offsets and a 64-bit mdat size past 4 GiB', () => {
    const G = 2 ** 30;
    const big: TrackSpec = { id: 1, handler: 'vide', timescale: 30, delta: 1, wide: true, chunks: [{ offset: 2000, sizes: [2 * G] }, { offset: 2000 + 2 * G, sizes: [2 * G, 1000] }] };
    const plan = planMp4Remux(input([big], 1984, 16 + 4 * G + 1000, { mdatHeader: 16 }), [1], 10e6);
    const { offsets, mdatHeader } = readHead(plan.head);
    const h = plan.head.byteLength;
    expect(offsets.get(1)).toEqual({ type: 'co64', values: [h, h + 2 * G] });
    expect(mdatHeader.byteLength).toBe(16);
    const v = new DataView(mdatHeader.buffer, mdatHeader.byteOffset);
    expect(v.getUint32(0)).toBe(1);
    expect(Number(v.getBigUint64(8))).toBe(16 + 4 * G + 1000);
    expect(plan.size).toBe(h + 4 * G + 1000);
  });

  it('declines what it cannot copy as it is, naming why', () => {
    const decline = (i: Mp4RemuxInput, keep = [1, 2]): string => {
      try {
        planMp4Remux(i, keep, 10e6);
      } catch (err) {
        expect(err).toBeInstanceOf(RemuxDeclined);
        return (err as Error).message;
      }
      throw new Error('not declined');
    };
    const ok = input([VIDEO, AUDIO], MDAT, MEDIA_END - MDAT);
    expect(decline({ ...ok, ftyp: undefined })).toMatch(/no ftyp/);
    expect(decline(input([VIDEO, AUDIO], MDAT, MEDIA_END - MDAT, { brand: 'qt  ' }))).toMatch(/QuickTime/);
    expect(decline(input([VIDEO, AUDIO], MDAT, MEDIA_END - MDAT, { mvex: true }))).toMatch(/fragmented/);
    expect(decline(input([VIDEO, AUDIO], MDAT, MEDIA_END - MDAT, { moof: true }))).toMatch(/fragmented/);
    // The mdat runs past the end of the file: the packet path reads what is there and warns.
    expect(decline({ ...ok, fileSize: 2000 })).toMatch(/truncated/);
    // A chunk outside every mdat.
    expect(decline(input([VIDEO, { ...AUDIO, chunks: [...AUDIO.chunks.slice(0, 2), { offset: 5000, sizes: [100] }] }], MDAT, MEDIA_END - MDAT))).toMatch(/outside the media data/);
    // Two tracks claiming the same bytes.
    expect(decline(input([VIDEO, { ...AUDIO, chunks: [{ offset: 1010, sizes: [10] }] }], MDAT, MEDIA_END - MDAT))).toMatch(/overlaps/);
    // A sample longer than limits.maxGap (a jump the packet path closes up).
    expect(decline(input([{ ...VIDEO, delta: 30 * 11 }, AUDIO], MDAT, MEDIA_END - MDAT))).toMatch(/maxGap/);
    // Video frames of no duration (all at one time): the packet path refuses the file, naming it.
    expect(decline(input([{ ...VIDEO, delta: 0 }, AUDIO], MDAT, MEDIA_END - MDAT))).toMatch(/no duration/);
    expect(decline(ok, [1, 3])).toMatch(/no track with ID 3/);
    // Encrypted samples (their auxiliary offsets would not be rewritten), media in another file.
    expect(decline(input([{ ...VIDEO, entry: 'encv' }, AUDIO], MDAT, MEDIA_END - MDAT))).toMatch(/track 1 is encrypted/);
    expect(decline(input([VIDEO, { ...AUDIO, external: true }], MDAT, MEDIA_END - MDAT))).toMatch(/track 2's media is in another file/);
    // A movie timescale of 0; a box that overruns its parent (declined, not thrown as another error).
    const zero = ok.moov.slice();
    new DataView(zero.buffer).setUint32(Buffer.from(zero).indexOf('mvhd') + 4 + 12, 0);
    expect(decline({ ...ok, moov: zero })).toMatch(/timescale of 0/);
    const overrun = ok.moov.slice();
    new DataView(overrun.buffer).setUint32(Buffer.from(overrun).indexOf('trak') - 4, 1e6);
    expect(decline({ ...ok, moov: overrun })).toMatch(/cannot be rewritten \(a trak box overruns its parent\)/);
  });

  it('declines a table whose count claims more entries than it holds, without reading past it', () => {
    const i = input([VIDEO, AUDIO], MDAT, MEDIA_END - MDAT);
    const moov = i.moov.slice();
    // The first stsz's sample count (after version/flags and the fixed size) becomes 10^9.
    const at = Buffer.from(moov).indexOf('stsz') + 4 + 8;
    new DataView(moov.buffer).setUint32(at, 1e9);
    expect(() => planMp4Remux({ ...i, moov }, [1, 2], 10e6)).toThrow(/stsz says 1000000000 entries/);
  });
});
