import { open, rm, type FileHandle } from 'node:fs/promises';
import { AvpipeError } from '../errors.js';
import type { PositionalWrite } from '../muxers/positional-write.js';


/** A file sink's counters. */
export interface FileSinkStats {
  path: string;
  writes: number;
  bytesWritten: number;
  /** The file's size so far: the furthest byte written. */
  size: number;
}

/**
 * The file sink: a WritableStream of positional writes onto one file. Each write is awaited, so a slow
 * disk holds the muxer back (backpressure) instead of piling buffers up in memory. The file is created
 * on the first write, not before: a run that fails before any data leaves nothing behind.
 * @internal
 */
export class FileSink {
  readonly path: string;
  readonly writable: WritableStream<PositionalWrite>;
  private _handle: FileHandle | undefined;
  private _opening: Promise<FileHandle> | undefined;
  private readonly _stats: FileSinkStats;
  private _closed = false;
  private readonly _shownAs: string;
  /** Called after each write with the file's size so far (limits watch this). */
  onSize: ((size: number) => void) | undefined;

  /** `shownAs`: the name errors give (the output's path when this writes a temporary file beside it). */
  constructor(path: string, shownAs: string = path) {
    this.path = path;
    this._shownAs = shownAs;
    this._stats = { path, writes: 0, bytesWritten: 0, size: 0 };
    this.writable = new WritableStream<PositionalWrite>({
      write: async (chunk) => {
        const fh = await this._open();
        try {
          let done = 0;
          while (done < chunk.data.byteLength) {
            const { bytesWritten } = await fh.write(chunk.data, done, chunk.data.byteLength - done, chunk.position + done);
            done += bytesWritten;
          }
        } catch (err) {
          throw new AvpipeError('SINK_FAILED', `writing ${this._shownAs} failed: ${(err as Error).message}`, { cause: err });
        }
        this._stats.writes++;
        this._stats.bytesWritten += chunk.data.byteLength;
        this._stats.size = Math.max(this._stats.size, chunk.position + chunk.data.byteLength);
        this.onSize?.(this._stats.size);
      },
      close: () => this.close(),
      abort: () => this.close(),
    });
  }

  /** True once anything was written (the file exists). */
  get created(): boolean {
    return this._opening !== undefined;
  }

  /** Closes the file; idempotent. */
  async close(): Promise<void> {
    if (this._closed) return;
    this._closed = true;
    const fh = this._handle ?? (await this._opening?.catch(() => undefined));
    await fh?.close();
  }

  /** Closes and deletes the file: for outputs that could not be finalized (never leave a corrupt file). */
  async remove(): Promise<void> {
    await this.close();
    await rm(this.path, { force: true });
  }

  toJSON(): FileSinkStats {
    return { ...this._stats };
  }

  private _open(): Promise<FileHandle> {
    this._opening ??= open(this.path, 'w').then(
      (fh) => (this._handle = fh),
      (err: Error) => {
        throw new AvpipeError('SINK_FAILED', `cannot create ${this._shownAs}: ${err.message}`, { cause: err });
      },
    );
    return this._opening;
  }
}
