import type { AVPixelFormat } from 'node-av/constants';
import type { CodecContext, Frame } from 'node-av/lib';
import { VideoScaler } from './video-scaler.js';
import type { VideoDecoderInit } from '../codec-provider.js';
import type { VideoDecoderConfig } from '../../media/encoded-chunk.js';
import { NodeAvDecoder } from './node-av-decoder.js';
import type { NodeAv } from './node-av-loader.js';
import { VideoFrame, type PlaneView } from '../../media/video-frame.js';

/**
 * A WebCodecs-shaped VideoDecoder over FFmpeg (h264, hevc, vp8, vp9, av1). Frames come out as I420 at
 * the stream's size: 4:2:0 frames as views of the decoder's own buffers (no copy), other pixel formats
 * (4:2:2, 4:4:4, 10-bit) converted by swscale.
 */
export class NodeAvVideoDecoder extends NodeAvDecoder<VideoDecoderConfig> {
  private readonly _output: (frame: VideoFrame) => void;
  /** Converts other pixel formats to I420 (created on the first such frame). */
  private _scaler: VideoScaler | undefined;

  constructor(av: NodeAv, init: VideoDecoderInit) {
    super(av, 'VideoDecoder', init.error, init.threads);
    this._output = init.output;
  }

  protected override release(): void {
    super.release();
    this._scaler?.close();
    this._scaler = undefined;
  }

  protected setup(ctx: CodecContext, config: VideoDecoderConfig): void {
    ctx.width = config.codedWidth;
    ctx.height = config.codedHeight;
  }

  protected emit(frame: Frame): void {
    const C = this.av.constants;
    const ts = frame.bestEffortTimestamp !== C.AV_NOPTS_VALUE ? frame.bestEffortTimestamp : frame.pts;
    // 4:2:0 sizes are even: an odd last row or column is left out.
    const width = frame.width & ~1;
    const height = frame.height & ~1;
    const init = { format: 'I420' as const, codedWidth: width, codedHeight: height, timestamp: Number(ts), ...(frame.duration > 0n ? { duration: Number(frame.duration) } : {}) };
    if (frame.format === C.AV_PIX_FMT_YUV420P || frame.format === C.AV_PIX_FMT_YUVJ420P) {
      // No copy: a new reference to the decoder's buffers, released when the VideoFrame and every
      // retimed copy of it are closed. Its planes are viewed only if something reads them: each view
      // is reported to V8 as external memory, and at 1.4 MB a 720p frame that forced a full GC every
      // ~50 frames (156 in a 60 s transcode, 11% of its CPU) though most frames go to an encoder unread.
      const ref = frame.clone();
      if (ref === null) throw new Error('out of memory referencing a decoded frame');
      const planes = (): PlaneView[] => {
        const data = ref.data!;
        const lines = ref.linesize;
        return [0, 1, 2].map((i) => ({ data: data[i]!, stride: lines[i]! }));
      };
      this._output(new VideoFrame(planes, init, () => ref.free(), ref));
      return;
    }
    if (this._scaler === undefined || this._scaler.width !== width || this._scaler.height !== height) {
      this._scaler?.close();
      this._scaler = new VideoScaler(this.av, width, height);
    }
    this._output(new VideoFrame(this._scaler.convert(frame.data!, frame.linesize, frame.format as AVPixelFormat, frame.width, frame.height), init));
  }
}
