import { open, realpath, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { concatBytes } from '../bytes.js';
import { AvpipeError, toAvpipeError } from '../errors.js';
import { readAt, writeAll } from '../file-io.js';

/**
 * Finishing a WebM that a killed recorder left: its segment size says unknown (or only the headers),
 * its duration 0, its seek head points nowhere and it has no cues. The file is scanned element by
 * element (headers and block headers only, through a 1 MiB window: an hour costs the same memory as
 * a minute), cut after its last complete block, and finished in place: the last cluster's size, cues
 * appended at the end, the segment size, the duration and the seek head written where mediabunny
 * reserved room for them. The media data is never moved.
 *
 * A WebM from another muxer that left no such room (a browser's MediaRecorder, ffmpeg writing to a
 * pipe: no Duration in its Info, no seek head entry for cues) cannot be finished without moving its
 * media: it is copied, finished, to a temporary file beside it (clusters streamed through the same
 * window) that is then renamed over it, so a failure leaves the original as it was.
 */

/** What repairing a WebM found and kept. */
export interface WebmRepairReport {
  /** The file, repaired (in place, or copied over itself: see `rewritten`). */
  path: string;
  /** Clusters kept (each with at least one complete block). */
  clusters: number;
  /** Per track: its number, kind, blocks kept and media duration in microseconds. */
  tracks: {
    /** The TrackNumber. */
    number: number;
    /** From the TrackType. */
    kind: 'video' | 'audio' | 'other';
    /** Blocks kept. */
    blocks: number;
    /** Media duration, microseconds. */
    durationUs: number;
  }[];
  /** The duration written in the file's Info, microseconds. */
  durationUs: number;
  /** Cue points written (one per cluster and track starting it on a keyframe). */
  cuePoints: number;
  /** Why no cues were written, when they were not (a disk with no room left for them); null when they were. */
  cuesSkipped: string | null;
  /** Bytes of an incomplete end (a cut block, a half-written cluster) cut off. */
  truncatedBytes: number;
  /**
   * True when the file was copied, finished, over itself (it had no room for a duration or a seek
   * head pointing at cues: another muxer's); false when it was finished in place (avpipe's own).
   */
  rewritten: boolean;
}

const ID = {
  EBML: 0x1a45dfa3, Segment: 0x18538067, SeekHead: 0x114d9b74, Seek: 0x4dbb, SeekID: 0x53ab, SeekPosition: 0x53ac,
  Info: 0x1549a966, TimestampScale: 0x2ad7b1, Duration: 0x4489, Tracks: 0x1654ae6b, TrackEntry: 0xae, TrackNumber: 0xd7,
  TrackType: 0x83, DefaultDuration: 0x23e383, Cluster: 0x1f43b675, Timestamp: 0xe7, SimpleBlock: 0xa3, BlockGroup: 0xa0,
  Block: 0xa1, BlockDuration: 0x9b, ReferenceBlock: 0xfb, Cues: 0x1c53bb6b, CuePoint: 0xbb, CueTime: 0xb3,
  CueTrackPositions: 0xb7, CueTrack: 0xf7, CueClusterPosition: 0xf1, Void: 0xec, CRC32: 0xbf, Tags: 0x1254c367,
  Attachments: 0x1941a469, Chapters: 0x1043a770,
} as const;

/** Elements a cluster may hold (blocks, their groups and the small ones around them). */
const CLUSTER_CHILDREN = new Set<number>([ID.Timestamp, ID.SimpleBlock, ID.BlockGroup, ID.Void, ID.CRC32, 0xa7, 0xab, 0x5854, 0xaf]);
/** Elements a segment may hold at its top level. */
const TOP_LEVEL = new Set<number>([ID.SeekHead, ID.Info, ID.Tracks, ID.Cluster, ID.Cues, ID.Tags, ID.Attachments, ID.Chapters, ID.Void, ID.CRC32]);

/** Top-level elements a copy does not take as they are: made anew (seek head, info, cues) or dropped. */
const NOT_COPIED = new Set<number>([ID.SeekHead, ID.Info, ID.Cues, ID.Void, ID.CRC32]);

/** An element's header: where it starts, its ID, where its size field and its data are. */
interface Header {
  id: number;
  start: number;
  sizeAt: number;
  sizeWidth: number;
  dataStart: number;
  /** Bytes of data, or -1 for unknown. */
  size: number;
}

/** Reads a file through one window of `WINDOW` bytes: few system calls, bounded memory. */
class FileWindow {
  private static readonly WINDOW = 1 << 20;
  private _buf: Uint8Array = new Uint8Array(0);
  private _at = 0;
  constructor(private readonly _fh: FileHandle, readonly size: number) {}

  /** Up to `length` bytes at `position` (fewer at the end of the file). */
  async bytes(position: number, length: number): Promise<Uint8Array> {
    if (position < this._at || position + length > this._at + this._buf.byteLength) {
      this._buf = await readAt(this._fh, position, Math.min(Math.max(length, FileWindow.WINDOW), Math.max(0, this.size - position)));
      this._at = position;
    }
    return this._buf.subarray(position - this._at, Math.min(this._buf.byteLength, position - this._at + length));
  }

  /** Copies bytes `from`..`to` to `at` of `out`, a window at a time: a long recording costs no more memory. */
  async copyTo(out: FileHandle, from: number, to: number, at: number): Promise<void> {
    for (let p = from; p < to;) {
      const b = await this.bytes(p, Math.min(FileWindow.WINDOW, to - p));
      if (b.byteLength === 0) throw new Error('the file got shorter while it was copied');
      await writeAll(out, b, at + p - from);
      p += b.byteLength;
    }
  }
}

/** Width of a variable-size integer from its first byte (0: invalid). */
function vintWidth(first: number): number {
  for (let w = 1; w <= 8; w++) if (first & (0x100 >> w)) return w;
  return 0;
}

/** An element header at `position`, or undefined when the bytes there are not one (or cut off). */
async function readHeader(win: FileWindow, position: number): Promise<Header | undefined> {
  const b = await win.bytes(position, 12);
  const idWidth = vintWidth(b[0] ?? 0);
  if (idWidth === 0 || idWidth > 4 || b.byteLength < idWidth + 1) return undefined;
  let id = 0;
  for (let i = 0; i < idWidth; i++) id = id * 256 + b[i]!;
  const sizeWidth = vintWidth(b[idWidth]!);
  if (sizeWidth === 0 || b.byteLength < idWidth + sizeWidth) return undefined;
  let size = b[idWidth]! & (0xff >> sizeWidth);
  let ones = size === 0xff >> sizeWidth;
  for (let i = 1; i < sizeWidth; i++) {
    size = size * 256 + b[idWidth + i]!;
    ones &&= b[idWidth + i] === 0xff;
  }
  return { id, start: position, sizeAt: position + idWidth, sizeWidth, dataStart: position + idWidth + sizeWidth, size: ones ? -1 : size };
}

/** The children of a master element held in `b` (its data), as [id, data start, data] triples. */
function children(b: Uint8Array): { id: number; at: number; data: Uint8Array }[] {
  const out: { id: number; at: number; data: Uint8Array }[] = [];
  let at = 0;
  while (at < b.byteLength) {
    const idWidth = vintWidth(b[at]!);
    if (idWidth === 0 || idWidth > 4 || at + idWidth >= b.byteLength) break;
    let id = 0;
    for (let i = 0; i < idWidth; i++) id = id * 256 + b[at + i]!;
    const sizeWidth = vintWidth(b[at + idWidth]!);
    if (sizeWidth === 0) break;
    let size = b[at + idWidth]! & (0xff >> sizeWidth);
    for (let i = 1; i < sizeWidth; i++) size = size * 256 + (b[at + idWidth + i] ?? 0);
    const start = at + idWidth + sizeWidth;
    if (start + size > b.byteLength) break;
    out.push({ id, at: start, data: b.subarray(start, start + size) });
    at = start + size;
  }
  return out;
}

const uint = (b: Uint8Array): number => b.reduce((n, x) => n * 256 + x, 0);

/** `value` as a size field of `width` bytes, or undefined when it does not fit. */
function vint(value: number, width: number): Uint8Array | undefined {
  if (value >= 2 ** (7 * width) - 1) return undefined;
  const out = new Uint8Array(width);
  let v = value;
  for (let i = width - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  out[0]! |= 0x100 >> width;
  return out;
}

/** `value` as an unsigned integer of `width` bytes, or undefined when it does not fit. */
function uintBytes(value: number, width: number): Uint8Array | undefined {
  if (value >= 2 ** (8 * width)) return undefined;
  const out = new Uint8Array(width);
  let v = value;
  for (let i = width - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

/** An element: its ID, a minimal size field and its data. */
function element(id: number, data: Uint8Array | Uint8Array[]): Uint8Array {
  const body = Array.isArray(data) ? concatBytes(data) : data;
  const idBytes: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) idBytes.unshift(v % 256);
  let width = 1;
  while (body.byteLength >= 2 ** (7 * width) - 1) width++;
  return concatBytes([new Uint8Array(idBytes), vint(body.byteLength, width)!, body]);
}

/** An unsigned integer element with the fewest bytes. */
function uintElement(id: number, value: number): Uint8Array {
  let width = 1;
  while (value >= 2 ** (8 * width)) width++;
  return element(id, uintBytes(value, width)!);
}

/** One block's header: its track, time relative to its cluster, keyframe flag. */
function blockHeader(b: Uint8Array): { track: number; relative: number; key: boolean } | undefined {
  const w = vintWidth(b[0] ?? 0);
  if (w === 0 || b.byteLength < w + 3) return undefined;
  let track = b[0]! & (0xff >> w);
  for (let i = 1; i < w; i++) track = track * 256 + b[i]!;
  const relative = ((b[w]! << 8) | b[w + 1]!) << 16 >> 16;
  return { track, relative, key: (b[w + 2]! & 0x80) !== 0 };
}

interface TrackState {
  number: number;
  kind: 'video' | 'audio' | 'other';
  /** DefaultDuration in timestamp ticks, when the track declares it. */
  defaultTicks: number | undefined;
  blocks: number;
  first: number | undefined;
  last: number | undefined;
  /** The interval before the last block: the best guess of its duration when nothing says it. */
  lastInterval: number;
  /** Furthest end known from a BlockDuration. */
  end: number;
}

/**
 * Repairs a WebM (or Matroska) file a killed recorder left into a finalized one: in place when it has
 * room for that, else through a finished copy renamed over it. Throws an `INPUT_INVALID` error, leaving
 * the file untouched, when it is not one or holds no complete cluster, or is already finalized; a
 * `SINK_FAILED` one, the file untouched, when the copy cannot be written.
 * @internal
 */
export async function repairWebm(path: string): Promise<WebmRepairReport> {
  const fh = await open(path, 'r+');
  try {
    const stats = await fh.stat();
    const fileSize = stats.size;
    const win = new FileWindow(fh, fileSize);
    const ebml = await readHeader(win, 0);
    if (ebml?.id !== ID.EBML || ebml.size < 0) throw new AvpipeError('INPUT_INVALID', `${path} is not a WebM file (no EBML header)`);
    const segment = await readHeader(win, ebml.dataStart + ebml.size);
    if (segment?.id !== ID.Segment) throw new AvpipeError('INPUT_INVALID', `${path} has no Matroska segment`);
    const base = segment.dataStart;

    let timescale = 1_000_000;
    let duration: { at: number; width: number; value: number } | undefined;
    const seeks: { target: number; at: number; width: number }[] = [];
    const positions = new Map<number, number>();
    const tracks = new Map<number, TrackState>();
    const cues: { time: number; track: number; cluster: number }[] = [];
    const sizePatches: { at: number; bytes: Uint8Array }[] = [];
    // What a copy keeps before the clusters: the Info's data (rebuilt with a duration), the rest as it is.
    let info = new Uint8Array(0);
    const heads: { id: number; start: number; end: number }[] = [];
    let firstCluster = -1;
    let clusters = 0;
    let hasCues = false;
    let mediaEnd = -1;

    // The segment's children, whatever its size says (a killed recorder's is unknown or too small).
    let at = base;
    scan: while (at < fileSize) {
      const h = await readHeader(win, at);
      if (h === undefined || !TOP_LEVEL.has(h.id)) break;
      if (h.id !== ID.Cluster) {
        if (h.size < 0 || h.dataStart + h.size > fileSize) break;
        if (h.id === ID.Cues) hasCues = true;
        if (clusters > 0 && h.id !== ID.Void) break;
        positions.set(h.id, h.start - base);
        if (clusters === 0 && !NOT_COPIED.has(h.id)) heads.push({ id: h.id, start: h.start, end: h.dataStart + h.size });
        if (h.id === ID.SeekHead || h.id === ID.Info || h.id === ID.Tracks) {
          const data = new Uint8Array(await win.bytes(h.dataStart, h.size));
          if (h.id === ID.SeekHead) {
            for (const seek of children(data).filter((c) => c.id === ID.Seek)) {
              const f = children(seek.data);
              const target = f.find((c) => c.id === ID.SeekID);
              const pos = f.find((c) => c.id === ID.SeekPosition);
              if (target !== undefined && pos !== undefined) seeks.push({ target: uint(target.data), at: h.dataStart + seek.at + (pos.data.byteOffset - seek.data.byteOffset), width: pos.data.byteLength });
            }
          } else if (h.id === ID.Info) {
            info = data;
            for (const c of children(data)) {
              if (c.id === ID.TimestampScale) timescale = uint(c.data);
              if (c.id === ID.Duration) {
                const v = new DataView(c.data.buffer, c.data.byteOffset, c.data.byteLength);
                duration = { at: h.dataStart + c.at, width: c.data.byteLength, value: c.data.byteLength === 8 ? v.getFloat64(0) : c.data.byteLength === 4 ? v.getFloat32(0) : 0 };
              }
            }
          } else {
            for (const entry of children(data).filter((c) => c.id === ID.TrackEntry)) {
              const f = children(entry.data);
              const number = uint(f.find((c) => c.id === ID.TrackNumber)?.data ?? new Uint8Array(0));
              const type = uint(f.find((c) => c.id === ID.TrackType)?.data ?? new Uint8Array(0));
              const dd = f.find((c) => c.id === ID.DefaultDuration);
              tracks.set(number, {
                number, kind: type === 1 ? 'video' : type === 2 ? 'audio' : 'other', defaultTicks: dd === undefined ? undefined : uint(dd.data) / timescale,
                blocks: 0, first: undefined, last: undefined, lastInterval: 0, end: -Infinity,
              });
            }
          }
        }
        if (mediaEnd < 0 || clusters === 0) mediaEnd = h.dataStart + h.size;
        at = h.dataStart + h.size;
        continue;
      }
      // A cluster: its blocks, as far as they are whole. A size written before the cluster was done
      // (mediabunny's placeholder) is passed over when blocks follow it.
      let clusterTime = 0;
      let p = h.dataStart;
      let blocks = 0;
      let lastGood = h.dataStart;
      const firstKey = new Map<number, number>();
      const started = new Set<number>();
      while (p < fileSize) {
        const c = await readHeader(win, p);
        if (c === undefined || !CLUSTER_CHILDREN.has(c.id) || c.size < 0 || c.dataStart + c.size > fileSize) break;
        if (c.id === ID.Timestamp) clusterTime = uint(await win.bytes(c.dataStart, c.size));
        else if (c.id === ID.SimpleBlock || c.id === ID.BlockGroup) {
          let head: Uint8Array;
          let blockDuration: number | undefined;
          let key = true;
          if (c.id === ID.SimpleBlock) head = await win.bytes(c.dataStart, Math.min(c.size, 12));
          else {
            const group = children(new Uint8Array(await win.bytes(c.dataStart, c.size)));
            head = group.find((g) => g.id === ID.Block)?.data ?? new Uint8Array(0);
            const d = group.find((g) => g.id === ID.BlockDuration);
            if (d !== undefined) blockDuration = uint(d.data);
            key = !group.some((g) => g.id === ID.ReferenceBlock);
          }
          const b = blockHeader(head);
          const track = b === undefined ? undefined : tracks.get(b.track);
          if (b === undefined || track === undefined) break;
          if (c.id === ID.SimpleBlock) key = b.key;
          const time = clusterTime + b.relative;
          track.blocks++;
          track.first ??= time;
          if (track.last !== undefined && time > track.last) track.lastInterval = time - track.last;
          track.last = track.last === undefined ? time : Math.max(track.last, time);
          if (blockDuration !== undefined) track.end = Math.max(track.end, time + blockDuration);
          // A cue per track that starts the cluster on a keyframe, as mediabunny writes them.
          if (!started.has(b.track)) {
            started.add(b.track);
            if (key) firstKey.set(b.track, time);
          }
          blocks++;
        }
        p = c.dataStart + c.size;
        if (blocks > 0) lastGood = p;
        // Past its declared end, a cluster goes on only while blocks follow (its size was a placeholder).
        if (h.size >= 0 && p >= h.dataStart + h.size) {
          const next = await readHeader(win, p);
          if (next === undefined || next.id !== ID.SimpleBlock && next.id !== ID.BlockGroup) break;
        }
      }
      if (blocks === 0) break scan;
      const realSize = lastGood - h.dataStart;
      if (realSize !== h.size) {
        const bytes = vint(realSize, h.sizeWidth);
        // A 1-byte unknown size cannot hold the real one: unknown is valid, and the cluster ends where the next begins.
        if (bytes !== undefined) sizePatches.push({ at: h.sizeAt, bytes });
      }
      for (const [track, time] of firstKey) cues.push({ time, track, cluster: h.start - base });
      if (clusters === 0) firstCluster = h.start;
      clusters++;
      mediaEnd = lastGood;
      positions.delete(ID.Cues);
      at = lastGood;
    }

    if (clusters === 0) throw new AvpipeError('INPUT_INVALID', `${path} holds no complete cluster: nothing was recorded that can be kept`);
    if (hasCues && segment.size >= 0 && base + segment.size === fileSize && (duration?.value ?? 0) > 0 && sizePatches.length === 0) {
      throw new AvpipeError('INPUT_INVALID', `${path} is already a finalized WebM (duration and cues): nothing to repair`);
    }

    // Duration: the furthest end of any track, the last block lasting as long as the one before it.
    let endTicks = 0;
    const report: WebmRepairReport['tracks'] = [];
    for (const t of tracks.values()) {
      if (t.blocks === 0 || t.first === undefined || t.last === undefined) continue;
      const end = Math.max(t.end, t.last + (t.defaultTicks ?? t.lastInterval));
      endTicks = Math.max(endTicks, end);
      report.push({ number: t.number, kind: t.kind, blocks: t.blocks, durationUs: Math.round(((end - Math.max(0, t.first)) * timescale) / 1000) });
    }

    // The cues, their cluster positions moved by `shift` bytes (where a copy puts the clusters).
    const byTime = new Map<number, { track: number; cluster: number }[]>();
    for (const c of cues) byTime.set(c.time, [...(byTime.get(c.time) ?? []), c]);
    const cuesElement = (shift: number): Uint8Array => element(ID.Cues, [...byTime].sort((a, b) => a[0] - b[0]).map(([time, list]) => element(ID.CuePoint, [
      uintElement(ID.CueTime, Math.max(0, time)),
      ...list.map((c) => element(ID.CueTrackPositions, [uintElement(ID.CueTrack, c.track), uintElement(ID.CueClusterPosition, c.cluster + shift)])),
    ])));
    const done = (cuePoints: number, cuesSkipped: string | null, rewritten: boolean): WebmRepairReport => ({
      path, clusters, tracks: report, durationUs: Math.round((endTicks * timescale) / 1000), cuePoints, cuesSkipped, truncatedBytes: fileSize - mediaEnd, rewritten,
    });

    // No duration to overwrite, or no seek head entry to point at the cues: only a copy has room for them.
    if (duration === undefined || !seeks.some((s) => s.target === ID.Cues)) {
      await rewrite(path, win, stats.mode & 0o7777, {
        segment, info, heads, clusters: { start: firstCluster, end: mediaEnd }, sizePatches, durationTicks: endTicks, cues: cuesElement,
      });
      return done(byTime.size, null, true);
    }

    // In place first (no room needed): the cut, the cluster sizes, the duration, a segment ending at the media.
    if (fileSize > mediaEnd) await fh.truncate(mediaEnd);
    for (const s of sizePatches) await writeAll(fh, s.bytes, s.at);
    if (duration !== undefined) {
      const b = new Uint8Array(duration.width);
      const v = new DataView(b.buffer);
      if (duration.width === 8) v.setFloat64(0, endTicks);
      else if (duration.width === 4) v.setFloat32(0, endTicks);
      if (duration.width === 8 || duration.width === 4) await writeAll(fh, b, duration.at);
    }
    const segmentSize = async (end: number): Promise<void> => {
      const bytes = segment.size < 0 && segment.sizeWidth === 1 ? undefined : vint(end - base, segment.sizeWidth);
      if (bytes !== undefined) await writeAll(fh, bytes, segment.sizeAt);
    };
    await segmentSize(mediaEnd);
    await fh.sync();

    // Then the cues after the media, the segment grown over them and the seek head pointing at them.
    const cueBytes = cuesElement(0);
    try {
      await writeAll(fh, cueBytes, mediaEnd);
      await fh.sync();
    } catch (err) {
      // A file without cues plays (it seeks less well): finished without them, and said so.
      await fh.truncate(mediaEnd).catch(() => undefined);
      return done(0, `the cues could not be written (${(err as Error).message}); avpipe repair adds them once there is room`, false);
    }
    positions.set(ID.Cues, mediaEnd - base);
    await segmentSize(mediaEnd + cueBytes.byteLength);
    for (const s of seeks) {
      const target = positions.get(s.target);
      const bytes = target === undefined ? undefined : uintBytes(target, s.width);
      if (bytes !== undefined) await writeAll(fh, bytes, s.at);
    }
    await fh.sync();
    return done(byTime.size, null, false);
  } finally {
    await fh.close();
  }
}

/** What a finished copy is made of: the parts of the file its scan kept. */
interface CopyPlan {
  segment: Header;
  /** The Info's data: copied with the duration added. */
  info: Uint8Array;
  /** The other top-level elements before the clusters (tracks, tags…), copied as they are. */
  heads: { id: number; start: number; end: number }[];
  /** The kept clusters (and any voids between them), copied as they are but for `sizePatches`. */
  clusters: { start: number; end: number };
  sizePatches: { at: number; bytes: Uint8Array }[];
  /** The duration, in timestamp ticks. */
  durationTicks: number;
  /** The Cues element, its cluster positions moved by `shift` bytes. */
  cues: (shift: number) => Uint8Array;
}

/**
 * Writes the file finished to a temporary file beside it (EBML header, a segment of known size holding
 * a seek head, the Info with its duration, the other headers, the clusters and cues), syncs it and
 * renames it over the file: a reader sees the old file or the whole new one, never half of it. On
 * failure the temporary file is removed and the file is as it was.
 */
async function rewrite(path: string, win: FileWindow, mode: number, plan: CopyPlan): Promise<void> {
  const duration = new Uint8Array(8);
  new DataView(duration.buffer).setFloat64(0, plan.durationTicks);
  const info = element(ID.Info, [
    // A CRC-32 of the old data would no longer hold.
    ...children(plan.info).filter((c) => c.id !== ID.Duration && c.id !== ID.CRC32).map((c) => element(c.id, c.data)),
    element(ID.Duration, duration),
  ]);
  // Positions of 8 bytes: the seek head's size does not depend on them, so what follows it can be placed first.
  const seekHead = (targets: [number, number][]): Uint8Array => element(ID.SeekHead, targets.map(([id, position]) => element(ID.Seek, [
    uintElement(ID.SeekID, id), element(ID.SeekPosition, uintBytes(position, 8)!),
  ])));
  // Positions relative to the segment's data, as the seek head and the cues give them.
  let at = seekHead([ID.Info, ...plan.heads.map((h) => h.id), ID.Cues].map((id) => [id, 0])).byteLength;
  const targets: [number, number][] = [[ID.Info, at]];
  at += info.byteLength;
  for (const h of plan.heads) {
    targets.push([h.id, at]);
    at += h.end - h.start;
  }
  const cues = plan.cues(at - (plan.clusters.start - plan.segment.dataStart));
  at += plan.clusters.end - plan.clusters.start;
  targets.push([ID.Cues, at]);
  const segmentSize = at + cues.byteLength;

  // Beside the file a symlink points to, and renamed over it: the link keeps pointing at the finished
  // file (a hard link's other names keep the old bytes).
  const target = await realpath(path);
  const tmp = join(dirname(target), `.${basename(target)}.repair-${process.pid}.tmp`);
  try {
    const out = await open(tmp, 'w');
    try {
      await out.chmod(mode);
      // The EBML header and the segment's ID as they are; from its size on, written in order.
      await win.copyTo(out, 0, plan.segment.sizeAt, 0);
      let pos = plan.segment.sizeAt;
      const head = concatBytes([vint(segmentSize, 8)!, seekHead(targets), info]);
      await writeAll(out, head, pos);
      pos += head.byteLength;
      for (const h of plan.heads) {
        await win.copyTo(out, h.start, h.end, pos);
        pos += h.end - h.start;
      }
      await win.copyTo(out, plan.clusters.start, plan.clusters.end, pos);
      for (const s of plan.sizePatches) await writeAll(out, s.bytes, s.at - plan.clusters.start + pos);
      await writeAll(out, cues, pos + plan.clusters.end - plan.clusters.start);
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(tmp, target);
    // The rename itself reaches the disk: a power cut after this returns keeps the finished file.
    const dir = await open(dirname(target), 'r');
    await dir.sync().finally(() => dir.close());
  } catch (err) {
    await rm(tmp, { force: true });
    throw toAvpipeError('SINK_FAILED', `${path}: its finished copy could not be written, the file is left as it was`, err);
  }
}
