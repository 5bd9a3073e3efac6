import type { CodecContext, Frame, Packet } from 'node-av/lib';
import { AvpipeError } from '../../errors.js';
import { DecoderBase } from '../codec-base.js';
import type { DecoderLike } from '../codec-provider.js';
import type { EncodedChunk } from '../../media/encoded-chunk.js';
import type { NodeAv } from './node-av-loader.js';
import { TurnQueue } from '../turn-queue.js';

/** WebCodecs codec string prefixes -> FFmpeg decoder names. */
const DECODERS: readonly [RegExp, string][] = [
  [/^(avc1|avc3)\b/, 'h264'], [/^(hev1|hvc1)\b/, 'hevc'], [/^vp8$/, 'vp8'], [/^vp09\b|^vp9$/, 'vp9'], [/^av01\b/, 'libdav1d'],
  [/^mp4a\.40\.\d+$|^aac$/, 'aac'], [/^mp4a\.(6b|69)$|^mp3$/, 'mp3float'], [/^opus$/, 'opus'], [/^vorbis$/, 'vorbis'], [/^flac$/, 'flac'],
  [/^ac-3$/, 'ac3'], [/^ec-3$/, 'eac3'], [/^dts[chle]$/, 'dca'], [/^(ap4x|ap4h|apch|apcn|apcs|apco)$/, 'prores'],
  [/^ulaw$/, 'pcm_mulaw'], [/^alaw$/, 'pcm_alaw'], [/^pcm-u8$/, 'pcm_u8'], [/^pcm-s8$/, 'pcm_s8'], [/^pcm-s16$/, 'pcm_s16le'], [/^pcm-s16be$/, 'pcm_s16be'],
  [/^pcm-s24$/, 'pcm_s24le'], [/^pcm-s24be$/, 'pcm_s24be'], [/^pcm-s32$/, 'pcm_s32le'], [/^pcm-s32be$/, 'pcm_s32be'],
  [/^pcm-f32$/, 'pcm_f32le'], [/^pcm-f32be$/, 'pcm_f32be'], [/^pcm-f64$/, 'pcm_f64le'], [/^pcm-f64be$/, 'pcm_f64be'],
];

/** The FFmpeg decoder for a WebCodecs codec string (or `ffmpeg:<decoder>`, a track FFmpeg's demuxer read), or undefined. */
export function ffmpegDecoderFor(codec: string): string | undefined {
  const named = /^ffmpeg:([a-z0-9_]+)$/.exec(codec)?.[1];
  return named ?? DECODERS.find(([re]) => re.test(codec))?.[1];
}

/** The fields both decoder configs share. */
interface BaseDecoderConfig {
  codec: string;
  description?: Uint8Array;
}

/**
 * The shared half of the node-av decoders (WebCodecs-shaped): chunks are queued and decoded one
 * per event-loop turn with synchronous native calls; subclasses turn each decoded AVFrame into a
 * VideoFrame or AudioData. Timestamps travel in microseconds (packet time base 1/1e6).
 */
export abstract class NodeAvDecoder<C extends BaseDecoderConfig> extends DecoderBase<C> implements DecoderLike<C> {
  protected readonly av: NodeAv;
  protected config: C | undefined;
  protected decoderName = '';
  private _ctx: CodecContext | undefined;
  private _packet: Packet | undefined;
  private _frame: Frame | undefined;
  private readonly _jobs = new TurnQueue<{ chunk: EncodedChunk | null; done?: () => void }>((job) => this._step(job));

  /** FFmpeg's decoder threads (0: its own choice). */
  private readonly _threads: number;

  /** `kind` is the WebCodecs interface state errors name (`VideoDecoder`, `AudioDecoder`); `threads` 0 lets FFmpeg choose. */
  protected constructor(av: NodeAv, kind: string, error: (e: Error) => void, threads = 0) {
    super(kind, 'SOURCE_FAILED', error);
    this.av = av;
    this._threads = Number.isFinite(threads) && threads > 0 ? Math.floor(threads) : 0;
  }

  protected get codecName(): string {
    return this.decoderName;
  }

  protected open(config: C): void {
    this._freeContext();
    const { Codec, CodecContext, Frame, Packet, FFmpegError, Rational } = this.av.lib;
    const name = ffmpegDecoderFor(config.codec);
    if (name === undefined) throw new AvpipeError('SOURCE_FAILED', `no decoder for codec "${config.codec}"`, { fatal: true });
    const codec = Codec.findDecoderByName(name as never) ?? (name === 'libdav1d' ? Codec.findDecoderByName('av1' as never) : null);
    if (codec === null) throw new AvpipeError('SOURCE_FAILED', `the ${name} decoder is not in this FFmpeg build`);
    const ctx = new CodecContext();
    ctx.allocContext3(codec);
    this.setup(ctx, config);
    if (config.description !== undefined) ctx.extraData = Buffer.from(config.description);
    ctx.pktTimebase = new Rational(1, 1_000_000);
    ctx.threadCount = this._threads;
    const ret = ctx.open2Sync(codec, null);
    if (ret < 0) {
      ctx.freeContext();
      FFmpegError.throwIfError(ret, `open ${name} decoder`);
    }
    this._ctx = ctx;
    this._packet = new Packet();
    this._packet.alloc();
    this._frame = new Frame();
    this._frame.alloc();
    this.config = config;
    this.decoderName = codec.name ?? name;
  }

  protected submit(chunk: EncodedChunk): void {
    this._jobs.push({ chunk });
    this.enqueued();
  }

  /** Queued behind the chunks before it, so it drains after they are decoded. */
  protected drain(): Promise<void> {
    return new Promise((resolve) => {
      this._jobs.push({ chunk: null, done: resolve });
    });
  }

  /** Subclasses free their own converters here too (calling this). */
  protected release(): void {
    this._jobs.clear();
    this._freeContext();
  }

  /** Sets codec-specific fields on the context before it opens. */
  protected abstract setup(ctx: CodecContext, config: C): void;
  /** Hands one decoded frame on (it is unref'd afterwards). */
  protected abstract emit(frame: Frame): void;
  /** The stream has drained: what a subclass holds goes out now. */
  protected drained(): void {}

  private _freeContext(): void {
    this._ctx?.freeContext();
    this._packet?.free();
    this._frame?.free();
    this._ctx = undefined;
    this._packet = undefined;
    this._frame = undefined;
  }

  private _step(job: { chunk: EncodedChunk | null; done?: () => void }): void {
    if (this.state !== 'configured') return;
    const { FFmpegError } = this.av.lib;
    const C = this.av.constants;
    const ctx = this._ctx!;
    const frame = this._frame!;
    try {
      let ret: number;
      if (job.chunk === null) {
        ret = ctx.sendPacketSync(null);
      } else {
        const pkt = this._packet!;
        pkt.data = Buffer.from(job.chunk.data.buffer, job.chunk.data.byteOffset, job.chunk.data.byteLength);
        pkt.pts = BigInt(job.chunk.timestamp);
        pkt.dts = C.AV_NOPTS_VALUE;
        pkt.duration = BigInt(job.chunk.duration ?? 0);
        pkt.isKeyframe = job.chunk.type === 'key';
        ret = ctx.sendPacketSync(pkt);
        pkt.unref();
      }
      if (ret < 0 && ret !== C.AVERROR_EOF) FFmpegError.throwIfError(ret, `${this.decoderName} decode`);
      for (;;) {
        const r = ctx.receiveFrameSync(frame);
        if (r === C.AVERROR_EAGAIN || r === C.AVERROR_EOF) break;
        FFmpegError.throwIfError(r, `${this.decoderName} decode`);
        this.emit(frame);
        frame.unref();
      }
      if (job.chunk === null) {
        this.drained();
        ctx.flushBuffers();
        job.done?.();
      } else {
        this.dequeued();
      }
    } catch (err) {
      this.fail(err);
    }
  }
}
