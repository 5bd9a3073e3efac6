import { AvpipeError, toAvpipeError } from '../../errors.js';
import type { CodecState, DecoderLike } from '../codec-provider.js';
import type { EncodedChunk } from '../../media/encoded-chunk.js';
import { FfmpegWasmRun } from './ffmpeg-wasm.js';
import { FramecrcOutput, type FramecrcStamp } from './framecrc-output.js';
import { matroskaBlock, matroskaHeader, type FeedTrack } from './matroska-feed.js';

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
  private _frames: FramecrcOutput | undefined;
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
    const output = new FramecrcOutput((stamp) => ({ skip: 0, bytes: this.frameBytes(stamp) }), (bytes, stamp) => this._emit(bytes, stamp));
    this._frames = output;
    this._run = new FfmpegWasmRun({
      args, ringBytes: this.ringBytes(config), outputs: 2, errorCode: 'SOURCE_FAILED',
      onOutput: (bytes, to) => (to === 0 ? output.data(bytes) : output.lines(bytes)),
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
    const { stamps, bytes } = this._frames!.unmatched;
    if (stamps > 0 || bytes > 0) throw new AvpipeError('SOURCE_FAILED', `the ${this.config!.codec} decoder ended with ${stamps} frame(s) and ${bytes} bytes unmatched`);
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
  protected abstract frameBytes(stamp: FramecrcStamp): number;
  /** Hands one decoded frame on. */
  protected abstract emit(bytes: Uint8Array, stamp: FramecrcStamp): void;

  private _emit(bytes: Uint8Array, stamp: FramecrcStamp): void {
    if (this._failed !== undefined) return;
    this.counters.framesOut++;
    try {
      this.emit(bytes, stamp);
    } catch (err) {
      this._fail(err);
    }
  }

  private _fail(err: unknown): void {
    if (this._failed !== undefined) return;
    this._failed = toAvpipeError('SOURCE_FAILED', `wasm ${this.config?.codec ?? ''} decoder`, err);
    this._error(this._failed);
  }
}
