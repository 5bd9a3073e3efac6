import { rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { AudioCodecName, VideoCodecName } from '../config/codecs.js';
import type { Rendition } from '../config/encoding.js';
import type { SegmentsOutputSpec } from '../config/outputs.js';
import { AvpipeError, toAvpipeError } from '../errors.js';
import { atomicWrite } from '../file-io.js';
import type { EncodedOutput } from '../media/encoded-chunk.js';
import { masterPlaylist } from '../muxers/playlist.js';
import type { Microseconds } from '../time.js';
import { HlsOutput, type RenditionPlaylistResult, type SegmentsOutputResult } from './hls-output.js';
import type { FileDone, OutputNode, OutputPort } from './output-node.js';

interface Rung {
  rendition: Rendition;
  output: HlsOutput;
  writer: WritableStreamDefaultWriter<EncodedOutput>;
}

/**
 * HLS for a ladder of renditions: the config's playlist is the master playlist, over one media
 * playlist per rendition beside it (`<name>_<rendition>.m3u8`, segments `<name>_<rendition>_%05d`),
 * each an {@link HlsOutput} muxing its rendition's video with the shared audio. The renditions'
 * keyframes are on one grid, so their segments start at the same times and a player switches at any
 * boundary. The master states each rendition's measured peak and average bandwidth, size, codecs and
 * rate; it is written once every rendition has a segment (a live player can start) and again at the end.
 * @internal
 */
export class HlsLadderOutput implements OutputNode<EncodedOutput, SegmentsOutputResult> {
  readonly spec: SegmentsOutputSpec;
  /** The whole ladder in one stream, routed by rendition (the graph feeds it through `ports`). */
  readonly writable: WritableStream<EncodedOutput>;
  /** A tee port per rendition: its video and the shared audio, into its media playlist. */
  readonly ports: readonly OutputPort<EncodedOutput>[];
  private readonly _rungs: Rung[];
  private readonly _fps: number;
  private readonly _onFile: FileDone | undefined;
  private _masterWritten = false;

  constructor(spec: SegmentsOutputSpec, renditions: readonly Rendition[], tracks: { video: VideoCodecName; audio?: AudioCodecName }, fps: number, onFile?: FileDone) {
    // Refused up front too (validate.ts); here for a caller that builds one without a config.
    if (spec.livePlaylist !== undefined) throw new AvpipeError('CONFIG_INVALID', `${spec.playlist}: a live (sliding window) playlist is not made for a ladder of renditions yet`);
    this.spec = spec;
    this._fps = fps;
    this._onFile = onFile;
    const base = basename(spec.playlist).replace(/\.m3u8$/i, '');
    const ext = spec.segmentFormat === 'ts' ? 'ts' : 'm4s';
    this._rungs = renditions.map((rendition) => {
      const output = new HlsOutput({
        ...spec, playlist: join(dirname(spec.playlist), `${base}_${rendition.name}.m3u8`), segmentTemplate: `${base}_${rendition.name}_%05d.${ext}`,
      }, tracks, onFile);
      return { rendition, output, writer: output.writable.getWriter() };
    });
    const main = renditions[0]!.name;
    const of = (item: EncodedOutput): string | undefined => (item.kind === 'audio' ? undefined : item.rendition ?? main);
    this.ports = this._rungs.map((r) => ({
      suffix: `#${r.rendition.name}`,
      // The shared audio goes into every rendition's segments; each video to its own.
      accepts: (item: EncodedOutput) => item.kind === 'audio' || of(item) === r.rendition.name,
      writable: new WritableStream<EncodedOutput>({
        write: async (item) => {
          await r.writer.write(item);
          await this._masterOnce();
        },
        close: () => r.writer.close(),
        abort: (reason) => r.writer.abort(reason),
      }),
    }));
    this.writable = new WritableStream<EncodedOutput>({
      write: async (item) => {
        for (const r of this._rungs) if (item.kind === 'audio' || of(item) === r.rendition.name) await r.writer.write(item);
        await this._masterOnce();
      },
      close: async () => {
        for (const r of this._rungs) await r.writer.close();
      },
      abort: async (reason) => {
        for (const r of this._rungs) await r.writer.abort(reason).catch(() => undefined);
      },
    });
  }

  /** The master, written as soon as every rendition has a segment: a live player can start. */
  private async _masterOnce(): Promise<void> {
    if (this._masterWritten || !this._rungs.every((r) => r.output.variant() !== undefined)) return;
    this._masterWritten = true;
    await this._writeMaster();
  }

  get name(): string {
    return this.spec.playlist;
  }

  get bytes(): number {
    return this._rungs.reduce((n, r) => n + r.output.bytes, 0);
  }

  async start(): Promise<void> {
    for (const r of this._rungs) await r.output.start();
  }

  /**
   * Finalizes every rendition's playlist, then writes the master with the bandwidths measured. A
   * rendition that could not finish (a full disk) keeps what it finished, and so does the master,
   * as long as every rendition has segments; one without any leaves nothing of the ladder behind.
   */
  async finalize(): Promise<void> {
    const errors: unknown[] = [];
    for (const r of this._rungs) await r.output.finalize().catch((err: unknown) => errors.push(err));
    if (this._rungs.some((r) => r.output.variant() === undefined)) {
      await this.discard();
      throw errors[0] ?? new AvpipeError('MUXER_FAILED', `no media reached ${this.spec.playlist}; it was removed`);
    }
    await this._writeMaster().catch((err: unknown) => errors.push(err));
    if (errors.length > 0) throw errors[0];
  }

  async discard(): Promise<void> {
    for (const r of this._rungs) await r.output.discard();
    await rm(this.spec.playlist, { force: true });
  }

  mediaTime(): Microseconds {
    return Math.min(...this._rungs.map((r) => r.output.mediaTime()));
  }

  result(): SegmentsOutputResult {
    const first = this._rungs[0]!.output.result();
    const renditions = this._rungs.map((r): RenditionPlaylistResult => {
      const res = r.output.result();
      const v = r.output.variant();
      return {
        name: r.rendition.name, playlist: res.playlist, width: r.rendition.width, height: r.rendition.height,
        segmentCount: res.segmentCount, durationMs: res.durationMs, size: res.size,
        bandwidth: Math.ceil(v?.bandwidth ?? 0), averageBandwidth: Math.ceil(v?.averageBandwidth ?? 0),
      };
    });
    return { ...first, playlist: this.spec.playlist, size: this.bytes, exists: renditions.every((r) => r.segmentCount > 0), renditions };
  }

  private async _writeMaster(): Promise<void> {
    const text = masterPlaylist(this._rungs.map((r) => {
      const v = r.output.variant();
      return {
        uri: basename(r.output.spec.playlist), bandwidth: v?.bandwidth ?? r.rendition.videoBitrateKbps * 1000, averageBandwidth: v?.averageBandwidth ?? r.rendition.videoBitrateKbps * 1000,
        width: r.rendition.width, height: r.rendition.height, codecs: v?.codecs ?? [], fps: this._fps,
      };
    }));
    try {
      await atomicWrite(this.spec.playlist, text);
    } catch (err) {
      throw toAvpipeError('SINK_FAILED', `writing ${this.spec.playlist} failed`, err);
    }
    this._onFile?.(this.spec.playlist, basename(this.spec.playlist), text.length, true);
  }
}
