import { open } from 'node:fs/promises';
import { AvpipeError } from '../errors.js';
import { child, dv, fullBox, handlerOf, parseBoxes, readTopBoxes, serialize, type Box } from './isobmff-boxes.js';
import { readAt, writeAll } from '../file-io.js';

/**
 * Turning a fragmented MP4 (moov with mvex, then moof + mdat pairs) into a regular one in place, the
 * way OBS's hybrid MP4 and ffmpeg's `hybrid_fragmented` finish a recording: the media data stays where
 * it was written, a regular moov (sample tables pointing into the mdats) is appended at the end, and
 * the old moov and every moof become `free` boxes that readers skip. Nothing is copied a second time,
 * so finishing an hour-long recording costs the moov, not the hour. The same code repairs a file that
 * a killed recorder left: a partial last fragment is cut off, the complete ones are kept.
 */

/** What finalizing or repairing a fragmented MP4 found. */
export interface Mp4FinalizeReport {
  /** The file, finalized in place. */
  path: string;
  /** Fragments kept (complete moof + mdat pairs). */
  fragments: number;
  /** Per track: kind (from the handler), samples and media duration in microseconds. */
  tracks: {
    /** The track ID (tkhd). */
    id: number;
    /** The handler type: `vide`, `soun`... */
    handler: string;
    /** Samples kept. */
    samples: number;
    /** Media duration, microseconds. */
    durationUs: number;
  }[];
  /** Bytes of an incomplete last fragment (or trailing garbage) cut off. */
  truncatedBytes: number;
}

/** One sample of a track, in decode order, where it sits in the file. */
interface Sample {
  offset: number;
  size: number;
  duration: number;
  cto: number;
  sync: boolean;
  /** The fragment run it came in: samples of one run that are contiguous form one chunk. */
  run: number;
}

interface TrackInfo {
  id: number;
  timescale: number;
  handler: string;
  trex: { duration: number; size: number; flags: number };
  samples: Sample[];
}

/** A sample's flags say it is a sync sample: sample_depends_on != 1 and not a non-sync sample. */
function isSync(flags: number): boolean {
  return (flags & 0x00010000) === 0 && ((flags >>> 24) & 0x3) !== 1;
}

/** Reads one moof's samples into the tracks. Throws when its data would lie past `end` (incomplete). */
function readMoof(moof: Box, moofStart: number, tracks: Map<number, TrackInfo>, runBase: number, end: number): number {
  let runs = runBase;
  for (const traf of moof.children!.filter((c) => c.type === 'traf')) {
    const tfhd = child(traf, 'tfhd');
    if (tfhd === undefined) throw new AvpipeError('INPUT_INVALID', 'a traf without tfhd');
    const h = dv(tfhd.payload);
    const flags = h.getUint32(0) & 0xffffff;
    const track = tracks.get(h.getUint32(4));
    if (track === undefined) throw new AvpipeError('INPUT_INVALID', `a fragment of unknown track ${h.getUint32(4)}`);
    let at = 8;
    let base = moofStart;
    if (flags & 0x1) {
      base = Number(h.getBigUint64(at));
      at += 8;
    }
    if (flags & 0x2) at += 4;
    let defDuration = track.trex.duration;
    let defSize = track.trex.size;
    let defFlags = track.trex.flags;
    if (flags & 0x8) {
      defDuration = h.getUint32(at);
      at += 4;
    }
    if (flags & 0x10) {
      defSize = h.getUint32(at);
      at += 4;
    }
    if (flags & 0x20) defFlags = h.getUint32(at);
    let next = base;
    for (const trun of traf.children!.filter((c) => c.type === 'trun')) {
      const r = dv(trun.payload);
      const word = r.getUint32(0);
      const version = word >>> 24;
      const tf = word & 0xffffff;
      const count = r.getUint32(4);
      let p = 8;
      let offset = next;
      if (tf & 0x1) {
        offset = base + r.getInt32(p);
        p += 4;
      }
      let firstFlags: number | undefined;
      if (tf & 0x4) {
        firstFlags = r.getUint32(p);
        p += 4;
      }
      runs++;
      for (let i = 0; i < count; i++) {
        let duration = defDuration;
        let size = defSize;
        let sflags = i === 0 && firstFlags !== undefined ? firstFlags : defFlags;
        let cto = 0;
        if (tf & 0x100) {
          duration = r.getUint32(p);
          p += 4;
        }
        if (tf & 0x200) {
          size = r.getUint32(p);
          p += 4;
        }
        if (tf & 0x400) {
          sflags = r.getUint32(p);
          p += 4;
        }
        if (tf & 0x800) {
          cto = version === 0 ? r.getUint32(p) : r.getInt32(p);
          p += 4;
        }
        if (offset + size > end) throw new AvpipeError('INPUT_TRUNCATED', 'a fragment whose media data is cut off');
        track.samples.push({ offset, size, duration, cto, sync: isSync(sflags), run: runs });
        offset += size;
      }
      next = offset;
    }
  }
  return runs;
}

/** The sample tables of a regular MP4 for one track's samples. */
function sampleTable(stsd: Box, samples: Sample[]): Box {
  const boxes: Box[] = [stsd];
  const stts: number[] = [];
  for (const s of samples) {
    if (stts.length > 0 && stts[stts.length - 1] === s.duration) stts[stts.length - 2]!++;
    else stts.push(1, s.duration);
  }
  boxes.push(fullBox('stts', 0, 0, [stts.length / 2, ...stts]));
  if (samples.some((s) => s.cto !== 0)) {
    const ctts: number[] = [];
    for (const s of samples) {
      if (ctts.length > 0 && ctts[ctts.length - 1] === s.cto) ctts[ctts.length - 2]!++;
      else ctts.push(1, s.cto);
    }
    boxes.push(fullBox('ctts', samples.some((s) => s.cto < 0) ? 1 : 0, 0, [ctts.length / 2, ...ctts]));
  }
  if (samples.some((s) => !s.sync)) {
    const sync = samples.flatMap((s, i) => (s.sync ? [i + 1] : []));
    boxes.push(fullBox('stss', 0, 0, [sync.length, ...sync]));
  }
  // Chunks: samples of one run that follow each other in the file.
  const chunks: { offset: number; count: number }[] = [];
  samples.forEach((s, i) => {
    const prev = samples[i - 1];
    const last = chunks[chunks.length - 1];
    if (last !== undefined && prev !== undefined && prev.run === s.run && prev.offset + prev.size === s.offset) last.count++;
    else chunks.push({ offset: s.offset, count: 1 });
  });
  const stsc: number[] = [];
  chunks.forEach((c, i) => {
    if (stsc.length === 0 || stsc[stsc.length - 2] !== c.count) stsc.push(i + 1, c.count, 1);
  });
  boxes.push(fullBox('stsc', 0, 0, [stsc.length / 3, ...stsc]));
  boxes.push(fullBox('stsz', 0, 0, [0, samples.length, ...samples.map((s) => s.size)]));
  const wide = chunks.some((c) => c.offset > 0xffffffff);
  boxes.push(fullBox(wide ? 'co64' : 'stco', 0, 0, [chunks.length, ...chunks.map((c) => (wide ? BigInt(c.offset) : c.offset))]));
  return { type: 'stbl', payload: new Uint8Array(0), children: boxes };
}

/**
 * The u32 after version, flags and the creation and modification times (32 or 64 bits by version):
 * an mvhd's or mdhd's timescale, a tkhd's track_ID.
 */
function u32AfterTimes(box: Box): number {
  const v = dv(box.payload);
  return v.getUint32(v.getUint8(0) === 1 ? 20 : 12);
}

/** Sets the duration field of an mvhd/tkhd/mdhd payload (version 0 or 1). */
function setDuration(box: Box, duration: number): void {
  const v = dv(box.payload);
  const version = v.getUint8(0);
  // mvhd/mdhd: version, flags, creation, modification, timescale, duration; tkhd: ..., track_ID, reserved, duration.
  const at = box.type === 'tkhd' ? (version === 1 ? 28 : 20) : version === 1 ? 24 : 16;
  if (version === 1) v.setBigUint64(at, BigInt(duration));
  else if (duration > 0xffffffff) throw new AvpipeError('MUXER_FAILED', `a ${box.type} duration of ${duration} does not fit version 0`);
  else v.setUint32(at, duration);
}

/**
 * Finalizes (or repairs) the fragmented MP4 at `path` in place into a regular MP4. Throws an
 * `INPUT_INVALID` error when it is not a fragmented MP4 with at least one complete fragment.
 * @internal
 */
export async function finalizeFragmentedMp4(path: string): Promise<Mp4FinalizeReport> {
  const fh = await open(path, 'r+');
  try {
    const size = (await fh.stat()).size;
    // The top-level boxes, up to the first incomplete one (only the last can run past the end).
    const top = (await readTopBoxes(fh, size)).boxes.filter((b) => b.start + b.size <= size);
    const moovAt = top.find((b) => b.type === 'moov');
    if (moovAt === undefined) throw new AvpipeError('INPUT_INVALID', `${path} has no complete moov box: not an MP4 avpipe can finalize`);
    const moov = { type: 'moov', payload: new Uint8Array(0), children: parseBoxes((await readAt(fh, moovAt.start, moovAt.size)).subarray(moovAt.header)) } as Box;
    const mvex = child(moov, 'mvex');
    if (mvex === undefined) throw new AvpipeError('INPUT_INVALID', `${path} is not a fragmented MP4 (its moov has no mvex): nothing to finalize`);
    const tracks = new Map<number, TrackInfo>();
    for (const trak of moov.children!.filter((c) => c.type === 'trak')) {
      const id = u32AfterTimes(child(trak, 'tkhd')!);
      const timescale = u32AfterTimes(child(child(trak, 'mdia'), 'mdhd')!);
      const trex = mvex.children!.find((c) => c.type === 'trex' && dv(c.payload).getUint32(4) === id);
      const t = trex === undefined ? undefined : dv(trex.payload);
      tracks.set(id, { id, timescale, handler: handlerOf(trak), trex: { duration: t?.getUint32(12) ?? 0, size: t?.getUint32(16) ?? 0, flags: t?.getUint32(20) ?? 0 }, samples: [] });
    }
    // Every complete moof + mdat pair, in order; the first that is not complete ends the media.
    let fragments = 0;
    let runs = 0;
    let mediaEnd = moovAt.start + moovAt.size;
    const moofs: number[] = [];
    for (let i = 0; i < top.length; i++) {
      const b = top[i]!;
      if (b.type !== 'moof') continue;
      const mdat = top[i + 1];
      if (mdat?.type !== 'mdat') break;
      const moof = { type: 'moof', payload: new Uint8Array(0), children: parseBoxes((await readAt(fh, b.start, b.size)).subarray(b.header)) } as Box;
      const before = [...tracks.values()].map((t) => t.samples.length);
      try {
        runs = readMoof(moof, b.start, tracks, runs, mdat.start + mdat.size);
      } catch (err) {
        // Undo a half-read fragment, then stop: what came before it is complete.
        [...tracks.values()].forEach((t, k) => (t.samples.length = before[k]!));
        if (err instanceof AvpipeError && err.code === 'INPUT_TRUNCATED') break;
        throw err;
      }
      fragments++;
      moofs.push(b.start);
      mediaEnd = mdat.start + mdat.size;
    }
    if (fragments === 0) throw new AvpipeError('INPUT_INVALID', `${path} holds no complete fragment: nothing was recorded that can be kept`);
    // The regular moov: no mvex, sample tables per track, durations filled in.
    const mvhd = child(moov, 'mvhd')!;
    const movieScale = u32AfterTimes(mvhd);
    let movieDuration = 0;
    const report: Mp4FinalizeReport['tracks'] = [];
    const traks: Box[] = [];
    for (const trak of moov.children!.filter((c) => c.type === 'trak')) {
      const tkhd = child(trak, 'tkhd')!;
      const info = tracks.get(u32AfterTimes(tkhd))!;
      if (info.samples.length === 0) continue;
      const mediaDuration = info.samples.reduce((n, s) => n + s.duration, 0);
      const duration = Math.round((mediaDuration * movieScale) / info.timescale);
      movieDuration = Math.max(movieDuration, duration);
      setDuration(tkhd, duration);
      const mdia = child(trak, 'mdia')!;
      setDuration(child(mdia, 'mdhd')!, mediaDuration);
      // An edit list written for fragments says nothing of the length: its entries get the track's.
      const elst = child(child(trak, 'edts'), 'elst');
      if (elst !== undefined) {
        const e = dv(elst.payload);
        const version = e.getUint8(0);
        const count = e.getUint32(4);
        const mediaTimes = Array.from({ length: count }, (_, k) => (version === 1 ? Number(e.getBigInt64(8 + k * 20 + 8)) : e.getInt32(8 + k * 12 + 4)));
        for (let k = 0; k < count; k++) {
          if (mediaTimes[k]! < 0) continue;
          const segment = Math.max(0, Math.round(((mediaDuration - mediaTimes[k]!) * movieScale) / info.timescale));
          if (version === 1) e.setBigUint64(8 + k * 20, BigInt(segment));
          else e.setUint32(8 + k * 12, segment);
        }
      }
      const minf = child(mdia, 'minf')!;
      const stbl = child(minf, 'stbl')!;
      minf.children = minf.children!.map((c) => (c === stbl ? sampleTable(child(stbl, 'stsd')!, info.samples) : c));
      traks.push(trak);
      report.push({ id: info.id, handler: info.handler, samples: info.samples.length, durationUs: Math.round((mediaDuration * 1e6) / info.timescale) });
    }
    setDuration(mvhd, movieDuration);
    const moovOut = serialize({ type: 'moov', payload: new Uint8Array(0), children: moov.children!.filter((c) => c.type !== 'mvex' && (c.type !== 'trak' || traks.includes(c))) });
    // First the new moov after the last whole fragment (cutting off a partial one, or the mfra), then
    // the old boxes made free: until the old moov is free, readers still see the fragmented file.
    await fh.truncate(mediaEnd);
    try {
      await writeAll(fh, moovOut, mediaEnd);
      await fh.sync();
    } catch (err) {
      // No room for the moov (a full disk): the fragmented file stays as it was, whole fragments only.
      await fh.truncate(mediaEnd).catch(() => undefined);
      throw err;
    }
    const free = new TextEncoder().encode('free');
    await writeAll(fh, free, moovAt.start + 4);
    for (const m of moofs) await writeAll(fh, free, m + 4);
    await fh.sync();
    return { path, fragments, tracks: report, truncatedBytes: size - mediaEnd };
  } finally {
    await fh.close();
  }
}
