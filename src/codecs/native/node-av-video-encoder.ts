import type { Frame, Packet } from 'node-av/lib';
import { VPX_CPU_USED } from '../../config/codecs.js';
import { AvpipeError } from '../../errors.js';
import { EncoderBase } from '../codec-base.js';
import type { VideoEncoderConfig, VideoEncoderInit, VideoEncoderLike } from '../codec-provider.js';
import { avcCodecStringFromAnnexB, h264ProfileOf } from '../codec-strings.js';
import { EncodedVideoChunk, type VideoDecoderConfig } from '../../media/encoded-chunk.js';
import type { NodeAv } from './node-av-loader.js';
import { TurnQueue } from '../turn-queue.js';
import { NodeAvEncoderSession } from './node-av-session.js';
import { copyPlane, type VideoFrame } from '../../media/video-frame.js';

/** One turn's work: a frame to encode, or (frame null) a flush. */
interface Job {
  frame: VideoFrame | null;
  keyFrame: boolean;
  done?: () => void;
}

/**
 * A WebCodecs-shaped VideoEncoder over FFmpeg's libx264 / libvpx (node-av). It exists because no
 * WebCodecs provider for Node honours the speed preset (see docs in shared research): this one maps
 * x264 presets, profiles and GOP exactly as the ffmpeg CLI does.
 *
 * Frames are encoded one per event-loop turn with the synchronous native calls: one send and one
 * drain per frame, no thread-pool hop, while x264's own threads keep both cores busy.
 */
export class NodeAvVideoEncoder extends EncoderBase<VideoEncoderConfig, VideoFrame, { keyFrame?: boolean }> implements VideoEncoderLike {
  private readonly _init: VideoEncoderInit;
  private readonly _av: NodeAv;
  private _config: VideoEncoderConfig | undefined;
  private _session: NodeAvEncoderSession | undefined;
  private readonly _jobs = new TurnQueue<Job>((job) => this._step(job));
  private _sentDecoderConfig = false;
  private _drained = false;
  private _codecName: 'libx264' | 'libvpx' | 'libvpx-vp9' = 'libx264';
  /** Frames sent to the codec and packets received, for counters. */
  readonly counters = { framesIn: 0, packetsOut: 0, bytesOut: 0, keyframes: 0 };

  constructor(av: NodeAv, init: VideoEncoderInit) {
    super('VideoEncoder', 'ENCODER_FAILED', init.error);
    this._av = av;
    this._init = init;
  }

  protected get codecName(): string {
    return this._codecName;
  }

  protected open(config: VideoEncoderConfig): void {
    this._session?.close();
    this._session = undefined;
    const { Codec, CodecContext, Rational } = this._av.lib;
    const C = this._av.constants;
    const name = config.codec.startsWith('avc1') ? 'libx264' : config.codec === 'vp8' ? 'libvpx' : config.codec.startsWith('vp09') ? 'libvpx-vp9' : undefined;
    if (name === undefined) throw new AvpipeError('ENCODER_FAILED', `unsupported video codec string "${config.codec}"`);
    const encoderIds = { libx264: C.FF_ENCODER_LIBX264, libvpx: C.FF_ENCODER_LIBVPX_VP8, 'libvpx-vp9': C.FF_ENCODER_LIBVPX_VP9 } as const;
    const codec = Codec.findEncoderByName(encoderIds[name]);
    if (codec === null) throw new AvpipeError('ENCODER_FAILED', `the ${name} encoder is not in this FFmpeg build`);
    const ctx = new CodecContext();
    ctx.allocContext3(codec);
    ctx.width = config.width;
    ctx.height = config.height;
    ctx.pixelFormat = C.AV_PIX_FMT_YUV420P;
    ctx.timeBase = new Rational(1, config.framerate);
    ctx.framerate = new Rational(config.framerate, 1);
    ctx.bitRate = BigInt(Math.round(config.bitrate));
    ctx.threadCount = config.threads ?? 0;
    const gop = config.keyframeInterval ?? Math.round(config.framerate * 2);
    ctx.gopSize = gop;
    const preset = config.speedPreset ?? 'veryfast';
    if (name === 'libx264') {
      ctx.setOption('preset', preset);
      ctx.setOption('profile', h264ProfileOf(config.codec) ?? 'high');
      if (config.latencyMode === 'realtime') ctx.setOption('tune', 'zerolatency');
    } else {
      const vpx = name === 'libvpx' ? 'vp8' : 'vp9';
      const cpuUsed = VPX_CPU_USED[vpx][preset];
      ctx.setOption('deadline', cpuUsed >= (vpx === 'vp8' ? 6 : 5) ? 'realtime' : 'good');
      ctx.setOption('cpu-used', String(cpuUsed));
      if (vpx === 'vp9') ctx.setOption('row-mt', '1');
      ctx.setOption('auto-alt-ref', '0');
      ctx.setOption('lag-in-frames', '0');
    }
    this._session = NodeAvEncoderSession.open(this._av, name, ctx, codec, (frame) => {
      frame.width = config.width;
      frame.height = config.height;
      frame.format = C.AV_PIX_FMT_YUV420P;
    });
    this._config = config;
    this._codecName = name;
    this._sentDecoderConfig = false;
    this._drained = false;
  }

  protected submit(frame: VideoFrame, options: { keyFrame?: boolean } | undefined): void {
    // FFmpeg encoders take no frames after a drain; WebCodecs encoders do, so reopen on demand.
    if (this._drained) this.configure(this._config!);
    this._jobs.push({ frame, keyFrame: options?.keyFrame === true });
    this.enqueued();
  }

  /** Queued behind the frames before it, so it drains after they are encoded. */
  protected drain(): Promise<void> {
    return new Promise((resolve) => {
      this._jobs.push({ frame: null, keyFrame: false, done: resolve });
    });
  }

  /** Releases the native encoder; frames still queued are closed unencoded. */
  protected release(): void {
    for (const p of this._jobs.clear()) p.frame?.close();
    this._session?.close();
  }

  /** Encodes one frame (or runs a flush); the next job runs on a later turn of the event loop. */
  private _step(job: Job): void {
    if (this.state !== 'configured') {
      job.frame?.close();
      return;
    }
    try {
      const session = this._session!;
      if (job.frame === null) {
        session.encode(null, (pkt) => this._emit(pkt));
        this._drained = true;
        job.done?.();
      } else {
        const frame = this._copyIn(job.frame, job.keyFrame);
        session.encode(frame, (pkt) => this._emit(pkt));
        job.frame.close();
        this.dequeued();
      }
    } catch (err) {
      job.frame?.close();
      this.fail(err);
    }
  }

  /** Fills the frame to send: the decoder's own frame when it has one that fits (no copy), else a copy. */
  private _copyIn(src: VideoFrame, keyFrame: boolean): Frame {
    const cfg = this._config!;
    const C = this._av.constants;
    if (src.codedWidth !== cfg.width || src.codedHeight !== cfg.height) {
      throw new AvpipeError('ENCODER_FAILED', `frame is ${src.codedWidth}x${src.codedHeight}, the encoder was configured for ${cfg.width}x${cfg.height}`);
    }
    const native = src._native;
    let frame: Frame;
    if (native instanceof this._av.lib.Frame && native.width === cfg.width && native.height === cfg.height
      && (native.format === C.AV_PIX_FMT_YUV420P || native.format === C.AV_PIX_FMT_YUVJ420P)) {
      // The encoder copies the picture while sending, so a frame shared with held copies is safe to retime.
      frame = native;
    } else {
      const writable = this._session!.writableFrame();
      frame = writable.frame;
      const dst = writable.data;
      const lines = frame.linesize;
      src.planes().forEach((p, i) => copyPlane(p.data, p.stride, dst[i]!, 0, lines[i]!, p.width, p.rows));
    }
    frame.pts = BigInt(Math.round((src.timestamp * cfg.framerate) / 1e6));
    frame.pictType = keyFrame ? C.AV_PICTURE_TYPE_I : C.AV_PICTURE_TYPE_NONE;
    this.counters.framesIn++;
    return frame;
  }

  private _emit(pkt: Packet): void {
    const cfg = this._config!;
    const data = new Uint8Array(pkt.data!);
    const key = pkt.isKeyframe;
    const chunk = new EncodedVideoChunk({
      type: key ? 'key' : 'delta',
      timestamp: Math.round((Number(pkt.pts) * 1e6) / cfg.framerate),
      // x264 gives DTS < PTS with B-frames (shifted back by the reorder delay).
      decodeTimestamp: Math.round((Number(pkt.dts) * 1e6) / cfg.framerate),
      duration: Math.round(1e6 / cfg.framerate),
      data,
    });
    this.counters.packetsOut++;
    this.counters.bytesOut += data.byteLength;
    if (key) this.counters.keyframes++;
    let decoderConfig: VideoDecoderConfig | undefined;
    if (!this._sentDecoderConfig) {
      const codec = this._codecName === 'libx264' ? avcCodecStringFromAnnexB(data) ?? cfg.codec : cfg.codec;
      decoderConfig = { codec, codedWidth: cfg.width, codedHeight: cfg.height };
      this._sentDecoderConfig = true;
    }
    this._init.output(chunk, decoderConfig === undefined ? {} : { decoderConfig });
  }
}
