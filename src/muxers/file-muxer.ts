import {
  EncodedAudioPacketSource, EncodedVideoPacketSource, MB_AUDIO_CODEC, MB_VIDEO_CODEC, Mp4OutputFormat, OggOutputFormat, Output,
  StreamTarget, WebMOutputFormat, toPacket, type OutputFormat,
} from './mediabunny.js';
import type { EncodedOutput } from '../media/encoded-chunk.js';
import type { AudioCodecName, FileContainer, VideoCodecName } from '../config/codecs.js';
import { AvpipeError, toAvpipeError } from '../errors.js';
import type { PositionalWrite } from './positional-write.js';
import type { Microseconds } from '../time.js';
import { WriteGather } from './write-gather.js';

/** One muxed track's counters. Times are media time. */
export interface MuxerTrackStats {
  /** Video or audio. */
  kind: 'video' | 'audio';
  /** The codec as avpipe names it: `h264`, `vp8`, `vp9`, `opus`, `aac`. */
  codec: string;
  /** Packets muxed (for an MP4 copied whole, its samples). */
  packets: number;
  /** Bytes of those packets, without the container's own. */
  bytes: number;
  /** Presentation time of the first packet, microseconds. */
  firstTimestamp: Microseconds | null;
  /** End (timestamp + duration) of the latest packet, microseconds. */
  endTimestamp: Microseconds | null;
}

/** What a file muxer is built from. */
export interface FileMuxerOptions {
  container: FileContainer;
  /** `fps` snaps timestamps to that rate (encoded tracks); absent for copied tracks. */
  video?: { codec: VideoCodecName; fps?: number };
  audio?: { codec: AudioCodecName };
  /** Where the muxer writes. */
  target: WritableStream<PositionalWrite>;
  /**
   * Gather writes into chunks of this many bytes (fewer system calls); absent: every write as it comes.
   * Bytes wait in memory until their chunk is full, so live runs use small chunks.
   */
  chunkSize?: number;
  /**
   * Live recording, crash-safe. MP4: write fragments as the media comes (a fragment at each keyframe
   * at least `fragmented` seconds after the last one), so a killed recorder leaves a file that plays up
   * to its last whole fragment; finalizing then turns it into a regular MP4 in place
   * ({@link finalizeFragmentedMp4}). WebM: clusters of at least `fragmented` seconds; what is muxed
   * reaches the target every `fragmented` seconds of media, the segment's and the open cluster's sizes
   * unknown until they are known ({@link repairWebm} finishes what a killed recorder left). Not with
   * `chunkSize`.
   */
  fragmented?: number;
}


/** A 6-byte EBML size of all ones: unknown (the width mediabunny reserves for the segment size). */
const UNKNOWN_SIZE_6 = new Uint8Array([0x07, 0xff, 0xff, 0xff, 0xff, 0xff]);
const SEGMENT_ID = [0x18, 0x53, 0x80, 0x67];

function formatFor(container: FileContainer, fragmented: number | undefined, onSegmentHeader: (data: Uint8Array, position: number) => void): OutputFormat {
  switch (container) {
    // Metadata at the end: streaming writes, flat memory, nothing buffered until finalize; or fragments.
    case 'mp4': return new Mp4OutputFormat(fragmented === undefined ? { fastStart: false } : { fastStart: 'fragmented', minimumFragmentDuration: fragmented });
    case 'webm': return new WebMOutputFormat(fragmented === undefined ? {} : { minimumClusterDuration: fragmented, onSegmentHeader });
    case 'ogg': return new OggOutputFormat();
  }
}

/**
 * The muxer node: mediabunny writing MP4, WebM or Ogg from one WritableStream of encoded chunks (both
 * tracks, interleaved upstream). `add()` is awaited, so the sink's backpressure reaches the encoders.
 * @internal
 */
export class FileMuxer {
  readonly container: FileContainer;
  private readonly _output: Output;
  private readonly _tracks = new Map<'video' | 'audio', { source: EncodedVideoPacketSource | EncodedAudioPacketSource; stats: MuxerTrackStats }>();
  private _finished = false;
  /** A live WebM's gather, released every `_releaseEvery` microseconds of media (from `_releaseAt`). */
  private readonly _gather: WriteGather | undefined;
  private readonly _releaseEvery: Microseconds;
  private _releaseAt: Microseconds = 0;
  /** Takes both tracks' chunks; closing it means every track has ended. */
  readonly writable: WritableStream<EncodedOutput>;

  constructor(options: FileMuxerOptions) {
    this.container = options.container;
    // A live WebM's blocks are held and written about once a second of media (mediabunny writes each as it comes).
    const gather = options.container === 'webm' && options.fragmented !== undefined ? new WriteGather(options.target) : undefined;
    this._gather = gather;
    this._releaseEvery = Math.round((options.fragmented ?? 1) * 1e6);
    const target = new StreamTarget((gather?.writable ?? options.target) as WritableStream, options.chunkSize === undefined ? {} : { chunked: true, chunkSize: options.chunkSize });
    const onSegmentHeader = (data: Uint8Array, position: number): void => {
      // Until the end, the segment's size says unknown, not "the headers": a killed recorder's clusters
      // are inside it for every reader; so does the first cluster's, written with it (the others' are
      // seen by the gather). At finalize the header may come with the real sizes: left alone.
      if (this._finished || !SEGMENT_ID.every((b, i) => data[i] === b) || ((data[4] ?? 0) & 0xfc) !== 0x04) return;
      gather?.override(position + 4, UNKNOWN_SIZE_6);
      gather?.clusterAt(position + data.byteLength);
    };
    this._output = new Output({ format: formatFor(options.container, options.fragmented, onSegmentHeader), target });
    if (options.video !== undefined) {
      const source = new EncodedVideoPacketSource(MB_VIDEO_CODEC[options.video.codec]);
      this._output.addVideoTrack(source, options.video.fps === undefined ? {} : { frameRate: options.video.fps });
      this._addTrack('video', options.video.codec, source);
    }
    if (options.audio !== undefined) {
      const source = new EncodedAudioPacketSource(MB_AUDIO_CODEC[options.audio.codec]);
      this._output.addAudioTrack(source);
      this._addTrack('audio', options.audio.codec, source);
    }
    this.writable = new WritableStream<EncodedOutput>({ write: (item) => this._write(item) });
  }

  private async _write({ kind, chunk, metadata }: EncodedOutput): Promise<void> {
    const track = this._tracks.get(kind);
    if (track === undefined) throw new AvpipeError('MUXER_FAILED', `this ${this.container} muxer has no ${kind} track`);
    const { source, stats } = track;
    const packet = toPacket(chunk);
    // mediabunny wants the first call to carry the decoder config; its types are the DOM's.
    const meta = metadata.decoderConfig === undefined ? undefined : { decoderConfig: metadata.decoderConfig as never };
    try {
      await (source as EncodedVideoPacketSource).add(packet, meta);
    } catch (err) {
      throw toAvpipeError('MUXER_FAILED', `muxing ${kind} into ${this.container}`, err);
    }
    if (this._gather !== undefined && chunk.timestamp >= this._releaseAt) {
      this._gather.release();
      this._releaseAt = chunk.timestamp + this._releaseEvery;
    }
    stats.packets++;
    stats.bytes += chunk.byteLength;
    stats.firstTimestamp ??= chunk.timestamp;
    stats.endTimestamp = Math.max(stats.endTimestamp ?? -Infinity, chunk.timestamp + (chunk.duration ?? 0));
  }

  /** Writes the header; the sink starts receiving data now, not after a preroll. */
  async start(): Promise<void> {
    await this._output.start();
  }

  /** Per-track counters. */
  toJSON(): MuxerTrackStats[] {
    return [...this._tracks.values()].map((t) => ({ ...t.stats }));
  }

  /** Packets muxed so far, over all tracks. */
  get packets(): number {
    let n = 0;
    for (const t of this._tracks.values()) n += t.stats.packets;
    return n;
  }

  /** Writes the trailer (moov, cues): after this the file is complete and playable. */
  async finalize(): Promise<void> {
    if (this._finished) return;
    this._finished = true;
    for (const t of this._tracks.values()) t.source.close();
    try {
      await this._output.finalize();
    } catch (err) {
      throw toAvpipeError('MUXER_FAILED', `finalizing the ${this.container} file failed`, err);
    }
  }

  /** Gives up on the file without a trailer; idempotent. */
  async cancel(): Promise<void> {
    if (this._finished) return;
    this._finished = true;
    await this._output.cancel().catch(() => undefined);
  }

  private _addTrack(kind: 'video' | 'audio', codec: string, source: EncodedVideoPacketSource | EncodedAudioPacketSource): void {
    this._tracks.set(kind, { source, stats: { kind, codec, packets: 0, bytes: 0, firstTimestamp: null, endTimestamp: null } });
  }
}
