import { appendFile, mkdir, readFile, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { AudioDecoderConfig, EncodedOutput, VideoDecoderConfig } from '../media/encoded-chunk.js';
import type { AudioCodecName, VideoCodecName } from '../config/codecs.js';
import { fillTemplate, type SegmentFormat, type SegmentsOutputSpec } from '../config/outputs.js';
import { AvpipeError, toAvpipeError } from '../errors.js';
import { atomicWrite } from '../file-io.js';
import { closingLines, mediaPlaylist, type PlaylistSegment } from '../muxers/playlist.js';
import { muxSegment } from '../muxers/segment-muxer.js';
import { Segmenter, type Segment } from '../muxers/segmenter.js';
import type { Microseconds } from '../time.js';
import type { FileDone } from './output-node.js';
import type { OutputNode } from './output-node.js';

/** A segments (HLS) output in a result. */
export interface SegmentsOutputResult {
  /** The kind of output: always `segments`. */
  type: 'segments';
  /** The playlist's path (with renditions, the master playlist's). */
  playlist: string;
  /** The sliding-window playlist's path; null when none was asked for. */
  livePlaylist: string | null;
  /** `ts` (MPEG-TS) or `fmp4` (CMAF). */
  format: SegmentFormat;
  /** Segments written (with renditions, the first rendition's). */
  segmentCount: number;
  /** Media duration of all segments, ms. */
  durationMs: number;
  /** Bytes of all segments (and the init segment). */
  size: number;
  /** Unix ms of the first segment. */
  startedAt: number | null;
  /** Unix ms of the output's end; null before it, or when the output was removed. */
  endedAt: number | null;
  /** False when nothing could be written and the output was removed. */
  exists: boolean;
  /** With a ladder of renditions: `playlist` is the master, and each rendition's media playlist is here. */
  renditions?: RenditionPlaylistResult[];
}

/** One rendition of a ladder's HLS output in a result. */
export interface RenditionPlaylistResult {
  /** The rendition's name (default: its height, e.g. `360p`). */
  name: string;
  /** Its media playlist's path, beside the master. */
  playlist: string;
  /** Video width, pixels. */
  width: number;
  /** Video height, pixels. */
  height: number;
  /** Segments written. */
  segmentCount: number;
  /** Media duration of its segments, ms. */
  durationMs: number;
  /** Bytes of its segments (and init segment). */
  size: number;
  /** Peak bits per second of its segments, as the master playlist states it. */
  bandwidth: number;
  /** Average bits per second of its segments, as the master playlist states it. */
  averageBandwidth: number;
}


/**
 * HLS: avpipe's segmenter cuts the encoded stream on keyframes at the segment boundaries, each
 * segment is muxed by mediabunny (MPEG-TS, or a CMAF fragment after one init segment), written
 * beside the playlist, and the playlists are rewritten (atomically) after every segment. Segments and
 * playlists are written to a temporary name and renamed, so whenever the recorder dies the playlist
 * on disk lists only complete segments; a write error (a full disk) keeps every finished segment and
 * closes the playlist that lists them.
 * @internal
 */
export class HlsOutput implements OutputNode<EncodedOutput, SegmentsOutputResult> {
  readonly spec: SegmentsOutputSpec;
  readonly writable: WritableStream<EncodedOutput>;
  private readonly _tracks: { video?: VideoCodecName; audio?: AudioCodecName };
  private readonly _segmenter: Segmenter;
  private readonly _dir: string;
  private readonly _configs: { video?: VideoDecoderConfig; audio?: AudioDecoderConfig } = {};
  private readonly _segments: (PlaylistSegment & { bytes: number })[] = [];
  private readonly _written: string[] = [];
  private readonly _onFile: FileDone | undefined;
  private _mapUri: string | undefined;
  /**
   * fMP4: what every timestamp is moved by, set by the first segment so that nothing starts before 0.
   * Each segment is muxed on its own, and a muxer moves a track that starts before 0 (AAC's priming
   * frame at -21 ms) by an edit list of its own: only the first segment's would be, and the init
   * segment's edit list would then put every later one's audio a frame early.
   */
  private _shiftUs: Microseconds | undefined;
  private _startDate: Date | undefined;
  private _bytes = 0;
  private _startedAt: number | null = null;
  private _endedAt: number | null = null;
  private _removed = false;
  private _finished = false;

  constructor(spec: SegmentsOutputSpec, tracks: { video?: VideoCodecName; audio?: AudioCodecName }, onFile?: FileDone) {
    this.spec = spec;
    this._tracks = tracks;
    this._dir = dirname(spec.playlist);
    this._onFile = onFile;
    this._segmenter = new Segmenter(Math.round(spec.segmentDuration * 1e6), { video: tracks.video !== undefined, audio: tracks.audio !== undefined });
    this.writable = new WritableStream<EncodedOutput>({
      write: async (item) => {
        if (item.metadata.decoderConfig !== undefined) (this._configs as Record<string, unknown>)[item.kind] = item.metadata.decoderConfig;
        for (const seg of this._segmenter.push(item)) await this._write(seg);
      },
      close: async () => {
        for (const seg of this._segmenter.finish()) await this._write(seg);
      },
    });
  }

  get name(): string {
    return this.spec.playlist;
  }

  get bytes(): number {
    return this._bytes;
  }

  async start(): Promise<void> {
    await mkdir(this._dir, { recursive: true });
    // Media time 0 is now (the run goes active right after), unless the caller dated it (an export
    // of a recording made earlier). Not the time a segment is written: that is wall time.
    this._startDate = this.spec.startDate ?? new Date();
  }

  /** Writes the playlists closed with ENDLIST; removes everything when no segment was written. */
  async finalize(): Promise<void> {
    if (this._finished) return;
    this._finished = true;
    if (this._segments.length === 0) {
      await this.discard();
      throw new AvpipeError('MUXER_FAILED', `no media reached ${this.spec.playlist}; it was removed`);
    }
    try {
      await this._writePlaylists(true);
      this._endedAt = Date.now();
    } catch (err) {
      // No room for the rewrite (a full disk): the playlists on disk list finished segments only, and
      // a line closes them in place. Nothing already written is removed.
      const closed = await Promise.all([this.spec.playlist, ...(this.spec.livePlaylist === undefined ? [] : [this.spec.livePlaylist])].map(closeInPlace)).then(() => true, () => false);
      this._endedAt = Date.now();
      throw toAvpipeError('SINK_FAILED', `could not finish ${this.spec.playlist}; its ${this._segments.length} segments were kept${closed ? ', the playlist closed' : ''}`, err);
    }
  }

  async discard(): Promise<void> {
    this._finished = true;
    this._removed = true;
    const paths = [this.spec.playlist, ...(this.spec.livePlaylist === undefined ? [] : [this.spec.livePlaylist]), ...this._written];
    await Promise.all(paths.map((p) => rm(p, { force: true })));
  }

  mediaTime(): Microseconds {
    const last = this._segments.at(-1);
    return last === undefined ? 0 : last.startUs + last.durationUs;
  }

  result(): SegmentsOutputResult {
    const first = this._segments[0];
    return {
      type: 'segments', playlist: this.spec.playlist, livePlaylist: this.spec.livePlaylist ?? null, format: this.spec.segmentFormat,
      segmentCount: this._removed ? 0 : this._segments.length,
      durationMs: this._removed || first === undefined ? 0 : (this.mediaTime() - first.startUs) / 1000,
      size: this._removed ? 0 : this._bytes,
      startedAt: this._startedAt, endedAt: this._removed ? null : this._endedAt,
      exists: !this._removed && this._segments.length > 0,
    };
  }

  /**
   * For a master playlist: the peak and average bits per second of its segments so far, and the
   * codecs its encoders named; undefined before its first segment.
   */
  variant(): { bandwidth: number; averageBandwidth: number; codecs: string[] } | undefined {
    if (this._segments.length === 0) return undefined;
    const bps = (bytes: number, us: number): number => (bytes * 8 * 1e6) / Math.max(1, us);
    const total = this._segments.reduce((n, s) => ({ bytes: n.bytes + s.bytes, us: n.us + s.durationUs }), { bytes: 0, us: 0 });
    return {
      bandwidth: Math.max(...this._segments.map((s) => bps(s.bytes, s.durationUs))),
      averageBandwidth: bps(total.bytes, total.us),
      codecs: [this._configs.video?.codec, this._configs.audio?.codec].filter((c): c is string => c !== undefined),
    };
  }

  private async _write(seg: Segment): Promise<void> {
    this._startedAt ??= Date.now();
    const fmp4 = this.spec.segmentFormat === 'fmp4';
    if (fmp4) this._shiftUs ??= Math.max(0, ...seg.items.map((i) => -i.chunk.timestamp));
    const muxed = await muxSegment(this.spec.segmentFormat, this._tracks, this._configs, seg.items, this._mapUri === undefined && fmp4, this._shiftUs ?? 0);
    if (muxed.init !== undefined) {
      this._mapUri = `${basename(this.spec.playlist).replace(/\.m3u8$/i, '')}_init.mp4`;
      await this._file(this._mapUri, muxed.init);
    }
    const uri = fillTemplate(this.spec.segmentTemplate, seg.index);
    await this._file(uri, muxed.data);
    this._segments.push({ uri, startUs: seg.startUs, durationUs: seg.endUs - seg.startUs, bytes: muxed.data.byteLength });
    await this._writePlaylists(false);
  }

  private async _file(uri: string, data: Uint8Array): Promise<void> {
    const path = join(this._dir, uri);
    try {
      await mkdir(dirname(path), { recursive: true });
      await atomicWrite(path, data);
    } catch (err) {
      throw toAvpipeError('SINK_FAILED', `writing ${path} failed`, err);
    }
    this._written.push(path);
    this._bytes += data.byteLength;
    this._onFile?.(path, uri, data.byteLength);
  }

  private async _writePlaylists(ended: boolean): Promise<void> {
    const common = { targetUs: Math.round(this.spec.segmentDuration * 1e6), ...(this._mapUri === undefined ? {} : { mapUri: this._mapUri }), ...(this._startDate === undefined ? {} : { startDate: this._startDate }), ended };
    const event = mediaPlaylist({ ...common, segments: this._segments, type: 'event', mediaSequence: 0 });
    await atomicWrite(this.spec.playlist, event).catch((err: unknown) => {
      throw toAvpipeError('SINK_FAILED', `writing ${this.spec.playlist} failed`, err);
    });
    // Playlists are rewritten after every segment: uploaded each time (the newest wins), never deleted locally.
    this._onFile?.(this.spec.playlist, basename(this.spec.playlist), event.length, true);
    if (this.spec.livePlaylist !== undefined) {
      const first = Math.max(0, this._segments.length - this.spec.liveWindow);
      const window = mediaPlaylist({ ...common, segments: this._segments.slice(first), type: 'window', mediaSequence: first });
      await atomicWrite(this.spec.livePlaylist, window).catch((err: unknown) => {
        throw toAvpipeError('SINK_FAILED', `writing ${this.spec.livePlaylist} failed`, err);
      });
      this._onFile?.(this.spec.livePlaylist, basename(this.spec.livePlaylist), window.length, true);
    }
  }
}


/** Closes the playlist on disk with ENDLIST, appended in place (a line, where a rewrite found no room). */
async function closeInPlace(path: string): Promise<void> {
  const tail = closingLines(await readFile(path, 'utf8'));
  if (tail !== '') await appendFile(path, tail);
}
