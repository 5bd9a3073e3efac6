import type { CodecContext, Frame, Packet } from 'node-av/lib';
import { AvpipeError } from '../../errors.js';
import type { NodeAv } from './node-av-loader.js';

/**
 * One opened FFmpeg encoder with the frame and packet it reuses: the native part both node-av
 * encoders share. Synchronous on purpose (one send and one drain per frame, no thread-pool hop).
 */
export class NodeAvEncoderSession {
  /** The FFmpeg encoder name, for errors. */
  readonly name: string;
  readonly ctx: CodecContext;
  /** The input frame, allocated once and refilled for every frame. */
  readonly frame: Frame;
  private readonly _packet: Packet;
  private readonly _av: NodeAv;
  /** Views of the input frame's planes while its buffers stay the same. */
  private _data: Buffer[] | undefined;
  private _closed = false;

  private constructor(av: NodeAv, name: string, ctx: CodecContext, frame: Frame, packet: Packet) {
    this._av = av;
    this.name = name;
    this.ctx = ctx;
    this.frame = frame;
    this._packet = packet;
  }

  /**
   * Opens `ctx` (set up by the caller) as encoder `codec`, then allocates the input frame after
   * `describeFrame` has set its format and size.
   */
  static open(av: NodeAv, name: string, ctx: CodecContext, codec: Parameters<CodecContext['open2Sync']>[0], describeFrame: (frame: Frame) => void): NodeAvEncoderSession {
    const { Frame, Packet, FFmpegError } = av.lib;
    try {
      FFmpegError.throwIfError(ctx.open2Sync(codec, null), `open ${name}`);
    } catch (err) {
      ctx.freeContext();
      throw encoderError(name, err);
    }
    const frame = new Frame();
    frame.alloc();
    describeFrame(frame);
    FFmpegError.throwIfError(frame.allocBuffer(), `allocate ${name} frame`);
    const packet = new Packet();
    packet.alloc();
    return new NodeAvEncoderSession(av, name, ctx, frame, packet);
  }

  /**
   * Makes the input frame writable (the codec may still hold the last buffer) and returns it with
   * views of its planes. The views are kept while the frame keeps its buffers (it was writable, so
   * nothing was reallocated): each `frame.data` read makes new external buffers, which V8 counts
   * towards its next full GC (at 720p one every ~50 frames).
   */
  writableFrame(): { frame: Frame; data: Buffer[] } {
    const frame = this.frame;
    const kept = frame.isWritable ? this._data : undefined;
    this._av.lib.FFmpegError.throwIfError(frame.makeWritable(), `make ${this.name} frame writable`);
    const data = kept ?? (this._data = frame.data!);
    return { frame, data };
  }

  /** Sends a frame (`null` drains) and hands every packet that comes out to `onPacket`. */
  encode(frame: Frame | null, onPacket: (packet: Packet) => void): void {
    const { FFmpegError } = this._av.lib;
    const C = this._av.constants;
    FFmpegError.throwIfError(this.ctx.sendFrameSync(frame), `${this.name} send`);
    for (;;) {
      const ret = this.ctx.receivePacketSync(this._packet);
      if (ret === C.AVERROR_EAGAIN || ret === C.AVERROR_EOF) break;
      FFmpegError.throwIfError(ret, `${this.name} receive`);
      onPacket(this._packet);
      this._packet.unref();
    }
  }

  /** Frees the native encoder, frame and packet; idempotent. */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    this.ctx.freeContext();
    this.frame.free();
    this._packet.free();
  }
}

/** An ENCODER_FAILED error naming the encoder, keeping AvpipeErrors as they are. */
export function encoderError(name: string, err: unknown): AvpipeError {
  return err instanceof AvpipeError ? err : new AvpipeError('ENCODER_FAILED', `${name}: ${(err as Error).message}`, { cause: err });
}
