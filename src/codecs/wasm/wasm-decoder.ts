import { AvpipeError, toAvpipeError } from '../../errors.js';
import type { CodecState, DecoderLike } from '../codec-provider.js';
import type { EncodedChunk } from '../encoded-chunk.js';
import { FfmpegWasmRun } from './ffmpeg-wasm.js';
import { FEED_BASE_US, matroskaBlock, matroskaHeader, type FeedTrack } from './matroska-feed.js';

/** One decoded frame's place in time and size in bytes, from ffmpeg's framecrc line. */
export interface DecodedStamp {
  timestamp: number;
  duration: number;
  bytes: number;
}

/**
 * The shared half of the wasm decoders (WebCodecs-shaped): chunks go to FFmpeg's decoders inside
 * ffmpeg.wasm (a worker thread) as a Matroska stream, one Cluster each, so every chunk keeps its
 * codec private data, timestamp and key flag. ffmpeg writes two outputs per decoded frame, in step:
 * the raw samples (`/out`, which a subclass's arguments define) and a framecrc line (`/out1`) whose
 * pts is the frame's own timestamp (`-copyts`, microsecond time base), so frames come back with the
 * exact time they were decoded at, in presentation order, whatever the decoder reordered or
 * dropped. `decodeQueueSize` counts the chunks not yet taken by ffmpeg's input ring; the output is
 * bounded because ffmpeg waits for input that only comes as frames are taken downstream.
 */
export abstract class WasmDecoder<C extends FeedTrack> implements DecoderLike<C> {
  ondequeue: (() => void) | null = null;
  protected config: C | undefined;
  private _state: CodecState = 'unconfigured';
  private _run: FfmpegWasmRun | undefined;
  private readonly _error: (e: Error) => void;
  /** Raw output not yet cut into frames. */
  private _pieces: Uint8Array[] = [];
  private _piecesBytes = 0;
  /** framecrc text not yet ended by a newline, and the stamps read but not yet matched with bytes. */
  private _text = '';
  private _timeBase = 1;
  private readonly _stamps: DecodedStamp[] = [];
  private _failed: Error | undefined;
  /** Chunks in, frames out. */
  readonly counters = { chunksIn: 0, framesOut: 0 };

  protected constructor(error: (e: Error) => void) {
    this._error = error;
  }

  get state(): CodecState {
    return this._state;
  }

  get decodeQueueSize(): number {
    return this._run?.pending ?? 0;
  }

  configure(config: C): void {
    if (this._state === 'closed') throw new AvpipeError('INVALID_STATE', 'decoder is closed');
    if (this._run !== undefined) throw new AvpipeError('INVALID_STATE', 'a wasm decoder is configured once');
    const header = matroskaHeader(config);
    this.config = config;
    const meta = ['-enc_time_base', '1:1000000', '-f', 'framecrc', '-flush_packets', '1', '/out1'];
    const args = [
      // Probing would hold back up to 5 s of input before the first frame: the header says all it needs.
      '-hide_banner', '-nostats', '-probesize', '32', '-analyzeduration', '0', '-copyts', '-f', 'matroska', '-i', '/in',
      '-map', '0:0', ...this.outputArgs(config), '-avioflags', 'direct', '/out',
      '-map', '0:0', ...this.metaArgs(config), ...meta,
    ];
    this._run = new FfmpegWasmRun({
      args, ringBytes: this.ringBytes(config), outputs: 2, errorCode: 'SOURCE_FAILED',
      onOutput: (bytes, to) => (to === 0 ? this._onBytes(bytes) : this._onStamps(bytes)),
      onError: (err) => this._fail(err),
    });
    this._run.write([header]);
    this._state = 'configured';
  }

  decode(chunk: EncodedChunk): void {
    if (this._state !== 'configured') throw new AvpipeError('INVALID_STATE', `decode() on a ${this._state} decoder`);
    if (this._failed !== undefined) throw this._failed;
    this.counters.chunksIn++;
    this._run!.write(matroskaBlock(chunk), () => this.ondequeue?.());
  }

  async flush(): Promise<void> {
    if (this._state !== 'configured') throw new AvpipeError('INVALID_STATE', `flush() on a ${this._state} decoder`);
    await this._run!.finish(`${this.config!.codec} decoder`);
    if (this._failed !== undefined) throw this._failed;
    if (this._stamps.length > 0 || this._piecesBytes > 0) {
      throw new AvpipeError('SOURCE_FAILED', `the ${this.config!.codec} decoder ended with ${this._stamps.length} frame(s) and ${this._piecesBytes} bytes unmatched`);
    }
  }

  close(): void {
    if (this._state === 'closed') return;
    this._state = 'closed';
    this._run?.kill();
  }

  /** ffmpeg's options for the raw output (`-f ...`), before `/out`. */
  protected abstract outputArgs(config: C): string[];
  /** ffmpeg's options for the framecrc output's stream: the same frames, uncopied where it can. */
  protected abstract metaArgs(config: C): string[];
  /** How much encoded input may wait in the ring. */
  protected abstract ringBytes(config: C): number;
  /** The raw bytes of the frame a stamp describes (its framecrc size may not be). */
  protected abstract frameBytes(stamp: DecodedStamp): number;
  /** Hands one decoded frame on. */
  protected abstract emit(bytes: Uint8Array, stamp: DecodedStamp): void;

  private _onBytes(bytes: Uint8Array): void {
    this._pieces.push(bytes);
    this._piecesBytes += bytes.length;
    this._drain();
  }

  /** Reads framecrc lines: `#tb 0: num/den`, then `stream, dts, pts, duration, size, crc`. */
  private _onStamps(bytes: Uint8Array): void {
    const lines = (this._text + new TextDecoder().decode(bytes)).split('\n');
    this._text = lines.pop()!;
    for (const line of lines) {
      const tb = /^#tb \d+: (\d+)\/(\d+)/.exec(line);
      if (tb !== null) this._timeBase = (Number(tb[1]) * 1e6) / Number(tb[2]);
      if (line.startsWith('#') || line.trim() === '') continue;
      const f = line.split(',').map((x) => x.trim());
      this._stamps.push({
        timestamp: Math.round(Number(f[2]) * this._timeBase) - FEED_BASE_US,
        duration: Math.round(Number(f[3]) * this._timeBase),
        bytes: Number(f[4]),
      });
    }
    this._drain();
  }

  /** Emits every frame whose stamp and bytes have both arrived. */
  private _drain(): void {
    while (this._stamps.length > 0 && this._failed === undefined) {
      const stamp = this._stamps[0]!;
      const size = this.frameBytes(stamp);
      if (this._piecesBytes < size) return;
      this._stamps.shift();
      const bytes = this._take(size);
      this.counters.framesOut++;
      try {
        this.emit(bytes, stamp);
      } catch (err) {
        this._fail(err);
      }
    }
  }

  /** The next `size` output bytes, without a copy when one write held exactly them. */
  private _take(size: number): Uint8Array {
    this._piecesBytes -= size;
    const first = this._pieces[0]!;
    if (first.length === size) {
      this._pieces.shift();
      return first;
    }
    const out = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      const piece = this._pieces[0]!;
      const n = Math.min(piece.length, size - at);
      out.set(piece.subarray(0, n), at);
      at += n;
      if (n === piece.length) this._pieces.shift();
      else this._pieces[0] = piece.subarray(n);
    }
    return out;
  }

  private _fail(err: unknown): void {
    if (this._failed !== undefined) return;
    this._failed = toAvpipeError('SOURCE_FAILED', `wasm ${this.config?.codec ?? ''} decoder`, err);
    this._error(this._failed);
  }
}
