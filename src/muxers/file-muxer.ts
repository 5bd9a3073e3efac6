import {
  EncodedAudioPacketSource, EncodedVideoPacketSource, MB_AUDIO_CODEC, MB_VIDEO_CODEC, Mp4OutputFormat, OggOutputFormat, Output,
  StreamTarget, WebMOutputFormat, toPacket, type OutputFormat,
} from './mediabunny.js';
import type { EncodedOutput } from '../codecs/encoded-chunk.js';
import type { AudioCodecName, FileContainer, VideoCodecName } from '../config/codecs.js';
import { AvpipeError, toAvpipeError } from '../errors.js';
import type { PositionalWrite } from '../sinks/file-sink.js';
import type { Microseconds } from '../time.js';

/** One muxed track's counters. Times are media time. */
export interface MuxerTrackStats {
  kind: 'video' | 'audio';
  codec: string;
  packets: number;
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
   * MP4 only: write fragments as the media comes (a fragment at each keyframe at least `fragmented`
   * seconds after the last one), so a killed recorder leaves a file that plays up to its last whole
   * fragment; finalizing then turns it into a regular MP4 in place ({@link finalizeFragmentedMp4}).
   */
  fragmented?: number;
}


function formatFor(container: FileContainer, fragmented: number | undefined): OutputFormat {
  switch (container) {
    // Metadata at the end: streaming writes, flat memory, nothing buffered until finalize; or fragments.
    case 'mp4': return new Mp4OutputFormat(fragmented === undefined ? { fastStart: false } : { fastStart: 'fragmented', minimumFragmentDuration: fragmented });
    case 'webm': return new WebMOutputFormat();
    case 'ogg': return new OggOutputFormat();
  }
}

/**
 * The muxer node: mediabunny writing MP4, WebM or Ogg from one WritableStream of encoded chunks (both
 * tracks, interleaved upstream). `add()` is awaited, so the sink's backpressure reaches the encoders.
 */
export class FileMuxer {
  readonly container: FileContainer;
  private readonly _output: Output;
  private readonly _tracks = new Map<'video' | 'audio', { source: EncodedVideoPacketSource | EncodedAudioPacketSource; stats: MuxerTrackStats }>();
  private _finished = false;
  /** Takes both tracks' chunks; closing it means every track has ended. */
  readonly writable: WritableStream<EncodedOutput>;

  constructor(options: FileMuxerOptions) {
    this.container = options.container;
    const target = new StreamTarget(options.target as WritableStream, options.chunkSize === undefined ? {} : { chunked: true, chunkSize: options.chunkSize });
    this._output = new Output({ format: formatFor(options.container, options.fragmented), target });
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
