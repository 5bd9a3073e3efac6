import { rename } from 'node:fs/promises';
import { basename } from 'node:path';
import { asidePath } from '../file-io.js';
import type { EncodedOutput } from '../media/encoded-chunk.js';
import type { FileContainer } from '../config/codecs.js';
import type { FileOutputSpec } from '../config/outputs.js';
import { AvpipeError, toAvpipeError } from '../errors.js';
import { FileMuxer, type FileMuxerOptions, type MuxerTrackStats } from '../muxers/file-muxer.js';
import { finalizeFragmentedMp4, type Mp4FinalizeReport } from '../muxers/mp4-defragment.js';
import { repairWebm, type WebmRepairReport } from '../muxers/webm-repair.js';
import type { Microseconds } from '../time.js';
import { FileSink } from './file-sink.js';
import type { FileDone } from './output-node.js';
import type { OutputNode } from './output-node.js';

/** One file output in a result. */
export interface FileOutputResult {
  /** The kind of output: always `file`. */
  type: 'file';
  /** The file's path, as configured. */
  path: string;
  /** `mp4`, `webm` or `ogg`. */
  container: FileContainer;
  /** Bytes, or 0 when the file was removed. */
  size: number;
  /** Media duration in ms (never wall time). */
  durationMs: number;
  /** Unix ms of the first byte written. */
  startedAt: number | null;
  /** Unix ms of the file's completion. */
  endedAt: number | null;
  /** False when the output could not be finalized and was removed. */
  exists: boolean;
  /** Each muxed track's counters. */
  tracks: MuxerTrackStats[];
}

/** A file output: the file muxer writing into a file sink. @internal */
export class FileOutput implements OutputNode<EncodedOutput, FileOutputResult> {
  readonly spec: FileOutputSpec;
  readonly muxer: FileMuxer;
  readonly sink: FileSink;
  private _startedAt: number | null = null;
  private _endedAt: number | null = null;
  private _removed = false;
  /** Written in fragments (MP4) or whole clusters (WebM) as it goes: what is on disk survives a crash. */
  private readonly _fragmented: boolean;
  /** Where the bytes go: the path, or a temporary name beside it renamed on success. */
  private readonly _writePath: string;
  /** What a failed fragmented file kept (its result then reports that, not what the muxer took). */
  private _kept: Mp4FinalizeReport | WebmRepairReport | undefined;

  /** `onSize` sees the file's size after each write (a size limit watches it). */
  private readonly _onFile: FileDone | undefined;

  /**
   * `writeAside`: write to a temporary name beside the path and rename on success, so the path never
   * holds half a file and an existing file there stays as it was unless the run succeeds (exports).
   * A live recording is written at its path, where a killed recorder's fragments can be repaired.
   */
  constructor(spec: FileOutputSpec, tracks: Pick<FileMuxerOptions, 'video' | 'audio' | 'chunkSize' | 'fragmented'> & { writeAside?: boolean }, onSize?: (size: number) => void, onFile?: FileDone) {
    this.spec = spec;
    this._fragmented = tracks.fragmented !== undefined;
    this._writePath = tracks.writeAside === true ? asidePath(spec.path) : spec.path;
    this._onFile = onFile;
    this.sink = new FileSink(this._writePath, spec.path);
    this.sink.onSize = (size) => {
      this._startedAt ??= Date.now();
      onSize?.(size);
    };
    this.muxer = new FileMuxer({ container: spec.container, ...tracks, target: this.sink.writable });
  }

  get name(): string {
    return this.spec.path;
  }

  get writable(): WritableStream<EncodedOutput> {
    return this.muxer.writable;
  }

  get bytes(): number {
    return this.sink.toJSON().size;
  }

  async start(): Promise<void> {
    await this.muxer.start();
  }

  /** Finalized and playable when anything was muxed, otherwise removed. */
  async finalize(): Promise<void> {
    try {
      if (this.muxer.packets === 0) throw new AvpipeError('MUXER_FAILED', 'no media reached the muxer');
      await this.muxer.finalize();
      await this.sink.close();
      if (this._fragmented && this.spec.container === 'mp4') await finalizeFragmentedMp4(this.spec.path);
      if (this._writePath !== this.spec.path) await rename(this._writePath, this.spec.path);
      this._endedAt = Date.now();
      this._onFile?.(this.spec.path, basename(this.spec.path), this.bytes);
    } catch (err) {
      // A fragmented file holds its complete fragments (a WebM its complete clusters) whatever failed (a
      // full disk, a write error): never delete them. Finalized from them where that can be done, else
      // left as it is (it plays, and `avpipe repair` finishes it once there is room).
      if (this._fragmented && this.sink.created && this.muxer.packets > 0) {
        await this.muxer.cancel();
        await this.sink.close();
        const parts = this.spec.container === 'webm' ? 'clusters' : 'fragments';
        const repair = this.spec.container === 'webm' ? repairWebm : finalizeFragmentedMp4;
        const kept = await repair(this.spec.path).then((r: Mp4FinalizeReport | WebmRepairReport) => {
          this._kept = r;
          const cues = 'cuesSkipped' in r && r.cuesSkipped !== null ? ` without cues (${r.cuesSkipped})` : '';
          return `its ${'fragments' in r ? r.fragments : r.clusters} complete ${parts} were kept and finalized${cues}`;
        }, (e: unknown) => `its complete ${parts} were kept, not finalized (${(e as Error).message}): avpipe repair finishes it`);
        this._endedAt = Date.now();
        throw toAvpipeError('MUXER_FAILED', `could not finish ${this.spec.path}; ${kept}`, err);
      }
      await this.discard();
      if (this.muxer.packets > 0) throw toAvpipeError('MUXER_FAILED', `could not finalize ${this.spec.path}; it was removed`, err);
    }
  }

  async discard(): Promise<void> {
    await this.muxer.cancel();
    await this.sink.remove();
    this._removed = true;
  }

  mediaTime(): Microseconds {
    const ends = this.muxer.toJSON().map((t) => t.endTimestamp ?? 0);
    return ends.length === 0 ? 0 : Math.max(0, Math.min(...ends));
  }

  result(): FileOutputResult {
    const tracks = this.muxer.toJSON();
    const ends = tracks.map((t) => t.endTimestamp ?? 0);
    const starts = tracks.filter((t) => t.firstTimestamp !== null).map((t) => Math.max(0, t.firstTimestamp!));
    const durationUs = ends.length === 0 ? 0 : Math.max(...ends) - (starts.length === 0 ? 0 : Math.min(...starts));
    return {
      type: 'file', path: this.spec.path, container: this.spec.container,
      size: this._removed ? 0 : this.bytes,
      durationMs: this._removed ? 0 : this._kept !== undefined ? Math.max(0, ...this._kept.tracks.map((t) => t.durationUs)) / 1000 : Math.max(0, durationUs) / 1000,
      startedAt: this._startedAt, endedAt: this._removed ? null : this._endedAt,
      exists: !this._removed && this.sink.created,
      tracks,
    };
  }
}
