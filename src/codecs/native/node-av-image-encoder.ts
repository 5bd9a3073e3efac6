import type { SoftwareScaleContext } from 'node-av/lib';
import type { ImageFormat } from '../../config/outputs.js';
import { AvpipeError } from '../../errors.js';
import type { ImageEncoderLike } from '../codec-provider.js';
import type { NodeAv } from './node-av-loader.js';
import { NodeAvEncoderSession, encoderError } from './node-av-session.js';
import type { VideoFrame } from '../../media/video-frame.js';

/**
 * Still images from video frames: FFmpeg's mjpeg or png encoder (node-av), with swscale doing the
 * scaling and the conversion (full-range YUV for JPEG, RGB for PNG) in one pass. Native code only.
 */
export class NodeAvImageEncoder implements ImageEncoderLike {
  readonly format: ImageFormat;
  readonly width: number;
  readonly height: number;
  private readonly _av: NodeAv;
  private readonly _session: NodeAvEncoderSession;
  private _sws: SoftwareScaleContext | undefined;
  private _swsKey = '';
  private _n = 0;

  constructor(av: NodeAv, format: ImageFormat, width: number, height: number) {
    this._av = av;
    this.format = format;
    this.width = width;
    this.height = height;
    const { Codec, CodecContext, Rational } = av.lib;
    const C = av.constants;
    const name = format === 'jpeg' ? 'mjpeg' : 'png';
    const codec = Codec.findEncoderByName(format === 'jpeg' ? C.FF_ENCODER_MJPEG : C.FF_ENCODER_PNG);
    if (codec === null) throw new AvpipeError('ENCODER_FAILED', `the ${name} encoder is not in this FFmpeg build`);
    const pixelFormat = format === 'jpeg' ? C.AV_PIX_FMT_YUVJ420P : C.AV_PIX_FMT_RGB24;
    const ctx = new CodecContext();
    ctx.allocContext3(codec);
    ctx.width = width;
    ctx.height = height;
    ctx.pixelFormat = pixelFormat;
    ctx.timeBase = new Rational(1, 1);
    if (format === 'jpeg') {
      // A fixed quality (the ffmpeg CLI's -q:v 3), not a bitrate: thumbnails are independent images.
      ctx.flags = (ctx.flags | C.AV_CODEC_FLAG_QSCALE) as typeof ctx.flags;
      ctx.globalQuality = 3 * C.FF_QP2LAMBDA;
      ctx.colorRange = C.AVCOL_RANGE_JPEG;
    }
    this._session = NodeAvEncoderSession.open(av, name, ctx, codec, (frame) => {
      frame.width = width;
      frame.height = height;
      frame.format = pixelFormat;
      if (format === 'jpeg') frame.colorRange = C.AVCOL_RANGE_JPEG;
    });
  }

  /** Encodes one frame into a whole image file's bytes (synchronously, native code). Does not close the frame. */
  async encode(src: VideoFrame): Promise<Uint8Array> {
    const { SoftwareScaleContext, FFmpegError } = this._av.lib;
    const C = this._av.constants;
    try {
      const key = `${src.codedWidth}x${src.codedHeight}`;
      if (this._sws === undefined || key !== this._swsKey) {
        this._sws?.freeContext();
        this._sws = new SoftwareScaleContext();
        this._sws.getContext(src.codedWidth, src.codedHeight, C.AV_PIX_FMT_YUV420P, this.width, this.height, this._session.ctx.pixelFormat, C.SWS_BICUBIC);
        this._swsKey = key;
      }
      const { frame, data: dst } = this._session.writableFrame();
      const planes = src.planes();
      FFmpegError.throwIfError(this._sws.scaleSync(
        planes.map((p) => Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength)), planes.map((p) => p.stride), 0, src.codedHeight,
        dst.slice(0, this.format === 'jpeg' ? 3 : 1), frame.linesize.slice(0, this.format === 'jpeg' ? 3 : 1),
      ), 'scale');
      frame.pts = BigInt(this._n++);
      // As the ffmpeg CLI does: the encoder's quality goes on each frame.
      if (this.format === 'jpeg') frame.quality = this._session.ctx.globalQuality;
      const out: Uint8Array[] = [];
      this._session.encode(frame, (pkt) => out.push(new Uint8Array(pkt.data!)));
      if (out.length !== 1) throw new AvpipeError('ENCODER_FAILED', `the ${this.format} encoder gave ${out.length} packets for one image`);
      return out[0]!;
    } catch (err) {
      throw encoderError(this.format, err);
    }
  }

  /** Idempotent. */
  close(): void {
    this._sws?.freeContext();
    this._sws = undefined;
    this._session.close();
  }
}
