import type { CodecContext, Frame, SoftwareScaleContext } from 'node-av/lib';
import type { VideoDecoderInit } from './codec-provider.js';
import type { VideoDecoderConfig } from './encoded-chunk.js';
import { NodeAvDecoder } from './node-av-decoder.js';
import type { NodeAv } from './node-av-loader.js';
import { VideoFrame, i420Layout, i420Size } from './video-frame.js';

/**
 * A WebCodecs-shaped VideoDecoder over FFmpeg (h264, hevc, vp8, vp9, av1). Frames come out as I420 at
 * the stream's size: 4:2:0 frames as views of the decoder's own buffers (no copy), other pixel formats
 * (4:2:2, 4:4:4, 10-bit) converted by swscale.
 */
export class NodeAvVideoDecoder extends NodeAvDecoder<VideoDecoderConfig> {
  private readonly _output: (frame: VideoFrame) => void;
  private _sws: SoftwareScaleContext | undefined;
  private _swsKey = '';

  constructor(av: NodeAv, init: VideoDecoderInit) {
    super(av, init.error);
    this._output = init.output;
  }

  override close(): void {
    super.close();
    this._sws?.freeContext();
    this._sws = undefined;
  }

  protected setup(ctx: CodecContext, config: VideoDecoderConfig): void {
    ctx.width = config.codedWidth;
    ctx.height = config.codedHeight;
  }

  protected emit(frame: Frame): void {
    const C = this.av.constants;
    const ts = frame.bestEffortTimestamp !== C.AV_NOPTS_VALUE ? frame.bestEffortTimestamp : frame.pts;
    const init = { format: 'I420' as const, timestamp: Number(ts), ...(frame.duration > 0n ? { duration: Number(frame.duration) } : {}) };
    const i420 = frame.format === C.AV_PIX_FMT_YUV420P || frame.format === C.AV_PIX_FMT_YUVJ420P;
    if (i420 && frame.width % 2 === 0 && frame.height % 2 === 0) {
      // No copy: a new reference to the decoder's buffers, released when the VideoFrame and every
      // retimed copy of it are closed.
      const ref = frame.clone();
      if (ref !== null) {
        const data = ref.data!;
        const lines = ref.linesize;
        this._output(new VideoFrame([0, 1, 2].map((i) => ({ data: data[i]!, stride: lines[i]! })), { ...init, codedWidth: frame.width, codedHeight: frame.height }, () => ref.free(), ref));
        return;
      }
    }
    const width = frame.width & ~1;
    const h = frame.height & ~1;
    const out = new Uint8Array(i420Size(width, h));
    if (i420) {
      const layout = i420Layout(width, h);
      const src = frame.data!;
      const lines = frame.linesize;
      for (let p = 0; p < 3; p++) {
        const rows = p === 0 ? h : h >> 1;
        const bytes = p === 0 ? width : width >> 1;
        const { offset, stride } = layout[p]!;
        for (let r = 0; r < rows; r++) out.set(src[p]!.subarray(r * lines[p]!, r * lines[p]! + bytes), offset + r * stride);
      }
    } else {
      this._convert(frame, width, h, out);
    }
    this._output(new VideoFrame(out, { ...init, codedWidth: width, codedHeight: h }));
  }

  private _convert(frame: Frame, width: number, height: number, out: Uint8Array): void {
    const { SoftwareScaleContext, FFmpegError } = this.av.lib;
    const C = this.av.constants;
    const key = `${frame.format}:${frame.width}x${frame.height}`;
    if (this._sws === undefined || this._swsKey !== key) {
      this._sws?.freeContext();
      const sws = new SoftwareScaleContext();
      sws.getContext(frame.width, frame.height, frame.format as never, width, height, C.AV_PIX_FMT_YUV420P, C.SWS_BILINEAR);
      this._sws = sws;
      this._swsKey = key;
    }
    const layout = i420Layout(width, height);
    const dst = layout.map((l, i) => Buffer.from(out.buffer, out.byteOffset + l.offset, l.stride * (i === 0 ? height : height >> 1)));
    FFmpegError.throwIfError(this._sws.scaleSync(frame.data!, frame.linesize, 0, frame.height, dst, layout.map((l) => l.stride)), 'convert pixel format');
  }
}
