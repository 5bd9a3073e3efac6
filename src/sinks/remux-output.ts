import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import type { FileOutputSpec } from '../config/outputs.js';
import { AvpipeError } from '../errors.js';
import { asidePath, readAt, readInto, writeAll } from '../file-io.js';
import type { MuxerTrackStats } from '../muxers/file-muxer.js';
import { readTopBoxes } from '../muxers/isobmff-boxes.js';
import { planMp4Remux, RemuxDeclined, type Mp4RemuxPlan } from '../muxers/mp4-remux.js';
import type { Microseconds } from '../time.js';
import type { FileOutputResult } from './file-output.js';
import type { FileDone } from './output-node.js';

/** Bytes per read and write: two blocks in flight, one read while the other is written. */
const BLOCK_BYTES = 8 << 20;
/** A moov larger than this is not read whole (the packet path reads it its own way). */
const MAX_MOOV_BYTES = 256 << 20;
/** More top-level boxes than this is not a file to remux (each costs a read to find the next). */
const MAX_TOP_BOXES = 10_000;

/** What a remux keeps of its input: track IDs and the codec names the result gives them. */
export interface RemuxTrack {
  trackId: number;
  codec: string;
}

/**
 * A file output made by copying an MP4's media in large blocks under a rewritten moov
 * ({@link planMp4Remux}), instead of muxing it packet by packet. Written beside the path as
 * `.NAME.partial` and renamed when complete, like every export: the path never holds half a file.
 * @internal
 */
export class RemuxOutput {
  readonly spec: FileOutputSpec;
  private readonly _input: string;
  private readonly _plan: Mp4RemuxPlan;
  private readonly _codecs: ReadonlyMap<number, string>;
  private readonly _writePath: string;
  private readonly _onFile: FileDone | undefined;
  private _written = 0;
  private _startedAt: number | null = null;
  private _endedAt: number | null = null;
  private _created = false;
  private _removed = false;

  private constructor(spec: FileOutputSpec, input: string, plan: Mp4RemuxPlan, codecs: ReadonlyMap<number, string>, onFile: FileDone | undefined) {
    this.spec = spec;
    this._input = input;
    this._plan = plan;
    this._codecs = codecs;
    this._writePath = asidePath(spec.path);
    this._onFile = onFile;
  }

  /**
   * Reads the input's top-level boxes and its moov and plans the copy. Throws {@link RemuxDeclined}
   * when the input is not one it can copy this way (the run then goes packet by packet).
   */
  static async plan(spec: FileOutputSpec, input: string, tracks: readonly RemuxTrack[], maxGapUs: Microseconds, onFile?: FileDone): Promise<RemuxOutput> {
    const fh = await open(input, 'r');
    try {
      const fileSize = (await fh.stat()).size;
      const { boxes, stopped } = await readTopBoxes(fh, fileSize, MAX_TOP_BOXES + 1);
      if (stopped === 'max') throw new RemuxDeclined(`more than ${MAX_TOP_BOXES} top-level boxes`);
      if (stopped === 'bad-header') throw new RemuxDeclined(`a box after ${boxes.at(-1)?.type ?? 'the start'} has a header that cannot be read`);
      const read = async (type: string): Promise<Uint8Array | undefined> => {
        const found = boxes.filter((b) => b.type === type);
        if (found.length > 1) throw new RemuxDeclined(`${found.length} ${type} boxes`);
        const b = found[0];
        if (b === undefined) return undefined;
        if (b.size > MAX_MOOV_BYTES) throw new RemuxDeclined(`a ${type} of ${b.size} bytes`);
        const bytes = await readAt(fh, b.start, b.size);
        if (bytes.byteLength < b.size) throw new RemuxDeclined(`its ${type} is cut short`);
        return bytes;
      };
      const ftyp = await read('ftyp');
      const moov = await read('moov');
      if (moov === undefined) throw new RemuxDeclined('no moov box');
      const plan = planMp4Remux({ fileSize, boxes, ftyp, moov }, tracks.map((t) => t.trackId), maxGapUs);
      return new RemuxOutput(spec, input, plan, new Map(tracks.map((t) => [t.trackId, t.codec])), onFile);
    } finally {
      await fh.close();
    }
  }

  get name(): string {
    return this.spec.path;
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this._written;
  }

  /** How far the copy is, as media time (the bytes copied, scaled to the duration). */
  mediaTime(): Microseconds {
    return Math.round(this._durationUs() * (this._written / this._plan.size));
  }

  /** Samples of a kind copied so far (scaled as {@link mediaTime}). */
  samples(kind: 'video' | 'audio'): number {
    const all = this._plan.tracks.filter((t) => t.kind === kind).reduce((n, t) => n + t.samples, 0);
    return Math.round(all * (this._written / this._plan.size));
  }

  /** Writes the head, then copies every run, two blocks in flight. Stops between blocks when `signal` aborts. */
  async copy(signal: AbortSignal): Promise<void> {
    const from = await open(this._input, 'r');
    let to: FileHandle | undefined;
    let writing: Promise<void> = Promise.resolve();
    try {
      to = await open(this._writePath, 'w').catch((err: Error) => {
        throw new AvpipeError('SINK_FAILED', `cannot create ${this.spec.path}: ${err.message}`, { cause: err });
      });
      this._created = true;
      this._startedAt = Date.now();
      const out = to;
      const write = async (bytes: Uint8Array, at: number): Promise<void> => {
        await writeAll(out, bytes, at).catch((err: Error) => {
          throw new AvpipeError('SINK_FAILED', `writing ${this.spec.path} failed: ${err.message}`, { cause: err });
        });
        this._written += bytes.byteLength;
      };
      await write(this._plan.head, 0);
      const buffers = [new Uint8Array(BLOCK_BYTES), new Uint8Array(BLOCK_BYTES)];
      let at = this._plan.head.byteLength;
      let turn = 0;
      for (const run of this._plan.runs) {
        for (let done = 0; done < run.length;) {
          signal.throwIfAborted();
          const length = Math.min(BLOCK_BYTES, run.length - done);
          const buffer = buffers[turn++ % 2]!;
          // This buffer's last write was awaited before the other buffer's began: free to fill.
          if ((await readInto(from, buffer, run.from + done, length)) < length) throw new AvpipeError('INPUT_INVALID', `input ${this._input}: it ended while being copied (it shrank?)`);
          await writing;
          writing = write(buffer.subarray(0, length), at);
          // Handled now, thrown where it is awaited: a write that fails (a full disk) while the next
          // block is read would otherwise be an unhandled rejection, which ends the process.
          writing.catch(() => undefined);
          at += length;
          done += length;
        }
      }
      await writing;
    } finally {
      // A write still in flight when a read failed or the run was aborted: waited for, its error
      // already superseded by the one thrown.
      await writing.catch(() => undefined);
      await Promise.allSettled([from.close(), to?.close()]);
    }
  }

  /** Renames the complete file onto its path. */
  async finalize(): Promise<void> {
    if (this._written !== this._plan.size) throw new AvpipeError('MUXER_FAILED', `${this.spec.path}: ${this._written} of ${this._plan.size} bytes were copied`);
    await rename(this._writePath, this.spec.path);
    this._endedAt = Date.now();
    this._onFile?.(this.spec.path, basename(this.spec.path), this._written);
  }

  /** Removes what was written; the path keeps what it held. Idempotent. */
  async discard(): Promise<void> {
    if (this._removed) return;
    this._removed = true;
    if (this._created) await rm(this._writePath, { force: true });
  }

  result(): FileOutputResult {
    const tracks: MuxerTrackStats[] = this._plan.tracks.map((t) => ({
      kind: t.kind, codec: this._codecs.get(t.id) ?? '', packets: t.samples, bytes: t.bytes, firstTimestamp: t.firstUs, endTimestamp: t.endUs,
    }));
    const complete = this._endedAt !== null && !this._removed;
    return {
      type: 'file', path: this.spec.path, container: this.spec.container,
      size: complete ? this._written : 0,
      durationMs: complete ? this._durationUs() / 1000 : 0,
      startedAt: this._startedAt, endedAt: this._endedAt,
      exists: complete,
      tracks,
    };
  }

  private _durationUs(): Microseconds {
    const t = this._plan.tracks;
    return Math.max(0, ...t.map((x) => x.endUs)) - Math.min(...t.map((x) => x.firstUs));
  }
}
