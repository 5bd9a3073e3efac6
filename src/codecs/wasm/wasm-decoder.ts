import { AvpipeError } from '../../errors.js';
import { DecoderBase } from '../codec-base.js';
import type { DecoderLike } from '../codec-provider.js';
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
 * dropped. `decodeQueueSize` counts the writes (chunks, and the stream header) not yet taken by
 * ffmpeg's input ring; the output is bounded because ffmpeg waits for input that only comes as frames
 * are taken downstream.
 */
export abstract class WasmDecoder<C extends FeedTrack> extends DecoderBase<C> implements DecoderLike<C> {
  protected config: C | undefined;
  private _run: FfmpegWasmRun | undefined;
  private _frames: FramecrcOutput | undefined;
  /** Chunks in, frames out. */
  readonly counters = { chunksIn: 0, framesOut: 0 };

  /** `kind` is the WebCodecs interface state errors name: `VideoDecoder` or `AudioDecoder`. */
  protected constructor(kind: string, error: (e: Error) => void) {
    super(kind, 'SOURCE_FAILED', error);
  }

  protected get codecName(): string {
    return `wasm ${this.config?.codec ?? ''} decoder`;
  }

  protected open(config: C): void {
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
      onError: (err) => this.fail(err),
    });
    this.enqueued();
    this._run.write([header], () => this.dequeued());
  }

  protected submit(chunk: EncodedChunk): void {
    this.counters.chunksIn++;
    this.enqueued();
    this._run!.write(matroskaBlock(chunk), () => this.dequeued());
  }

  protected async drain(): Promise<void> {
    await this._run!.finish(`${this.config!.codec} decoder`);
    const { stamps, bytes } = this._frames!.unmatched;
    if (stamps > 0 || bytes > 0) throw new AvpipeError('SOURCE_FAILED', `the ${this.config!.codec} decoder ended with ${stamps} frame(s) and ${bytes} bytes unmatched`);
  }

  protected release(): void {
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
    // Nothing comes out after close (the worker's last writes may still arrive), or after a failure.
    if (this.state !== 'configured') return;
    this.counters.framesOut++;
    try {
      this.emit(bytes, stamp);
    } catch (err) {
      this.fail(err);
    }
  }
}
