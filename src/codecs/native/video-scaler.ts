import type { AVPixelFormat } from 'node-av/constants';
import type { SoftwareScaleContext } from 'node-av/lib';
import type { NodeAv } from './node-av-loader.js';
import { VideoFrame, i420Layout, i420Size } from '../../media/video-frame.js';
import type { FrameScaler } from '../../convert/frame-scaler.js';

/**
 * Scales I420 frames to another size (and other pixel formats to I420) with FFmpeg's swscale (bilinear, native code: no per-pixel
 * JavaScript on the hot path). One context per input size, rebuilt if the input size changes.
 */
export class VideoScaler implements FrameScaler {
  readonly width: number;
  readonly height: number;
  private readonly _av: NodeAv;
  private _sws: SoftwareScaleContext | undefined;
  private _key = '';

  constructor(av: NodeAv, width: number, height: number) {
    this._av = av;
    this.width = width;
    this.height = height;
  }

  /** The frame at the target size (the same frame when it already is). Closes the input when it makes a new one. */
  scale(frame: VideoFrame): VideoFrame {
    if (frame.codedWidth === this.width && frame.codedHeight === this.height) return frame;
    const src = frame.planes();
    const out = this.convert(src.map((p) => p.data), src.map((p) => p.stride), this._av.constants.AV_PIX_FMT_YUV420P, frame.codedWidth, frame.codedHeight);
    const scaled = new VideoFrame(out, { format: 'I420', codedWidth: this.width, codedHeight: this.height, timestamp: frame.timestamp, ...(frame.duration === null ? {} : { duration: frame.duration }) });
    frame.close();
    return scaled;
  }

  /**
   * Converts planes of any pixel format and size FFmpeg knows to a tight I420 buffer at the target
   * size (decoders use it for 4:2:2, 4:4:4 and high bit depth). The context is rebuilt only when the
   * input format or size changes.
   */
  convert(planes: readonly Uint8Array[], strides: readonly number[], format: AVPixelFormat, width: number, height: number): Uint8Array {
    const { SoftwareScaleContext, FFmpegError } = this._av.lib;
    const C = this._av.constants;
    const key = `${format}:${width}x${height}`;
    if (this._sws === undefined || key !== this._key) {
      this._sws?.freeContext();
      this._sws = new SoftwareScaleContext();
      this._sws.getContext(width, height, format, this.width, this.height, C.AV_PIX_FMT_YUV420P, C.SWS_BILINEAR);
      this._key = key;
    }
    const out = new Uint8Array(i420Size(this.width, this.height));
    const layout = i420Layout(this.width, this.height);
    const dst = layout.map((l, i) => Buffer.from(out.buffer, l.offset, l.stride * (i === 0 ? this.height : this.height >> 1)));
    const src = planes.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    FFmpegError.throwIfError(this._sws.scaleSync(src, [...strides], 0, height, dst, layout.map((l) => l.stride)), 'scale');
    return out;
  }

  /** Idempotent. */
  close(): void {
    this._sws?.freeContext();
    this._sws = undefined;
  }
}
