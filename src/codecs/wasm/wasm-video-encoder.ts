import { VPX_CPU_USED } from '../../config/codecs.js';
import { AvpipeError } from '../../errors.js';
import { EncoderBase } from '../codec-base.js';
import type { VideoEncoderConfig, VideoEncoderInit, VideoEncoderLike } from '../codec-provider.js';
import { avcCodecStringFromAnnexB, h264ProfileOf } from '../codec-strings.js';
import { EncodedVideoChunk, type VideoDecoderConfig } from '../../media/encoded-chunk.js';
import { i420Size, tightPlanes, type VideoFrame } from '../../media/video-frame.js';
import { FfmpegWasmRun } from './ffmpeg-wasm.js';
import { checkFrameSize } from './frame-check.js';
import { FramecrcOutput, type FramecrcStamp } from './framecrc-output.js';
import { matroskaFrame, matroskaHeader } from './matroska-feed.js';

/** Frames the input ring holds. */
const RING_FRAMES = 8;
/** IVF: a 32-byte file header, then 12 bytes before each frame. */
const IVF_HEADER = 32;
const IVF_FRAME_HEADER = 12;

/**
 * A WebCodecs-shaped H.264 / VP8 VideoEncoder on WebAssembly only: x264 or libvpx inside ffmpeg.wasm
 * (@ffmpeg/core) in a worker thread. Frames go in through a shared ring as raw I420 in a Matroska
 * stream, each at its own microsecond; the packets come out through `-f tee`, once as the stream
 * (Annex B, or IVF for VP8) and once as framecrc lines, which give each packet's time, decode time,
 * size and key flag, so x264 runs as it does natively: lookahead and B-frames (by the speed preset),
 * packets in decode order with their decode times. Keyframes are forced on the media-time grid the
 * pipeline asks for (the first frame, or `keyframeOriginUs`, then every `keyframeIntervalUs`, as
 * `encode(..., {keyFrame})` marks them), whatever frames a live run dropped; a running ffmpeg cannot be
 * told per frame, so other keyframe requests are not honoured. VP8 runs in libvpx's realtime mode
 * without lag. `encodeQueueSize` counts the writes (frames, and the stream header) not yet taken by the ring.
 */
export class WasmVideoEncoder extends EncoderBase<VideoEncoderConfig, VideoFrame, { keyFrame?: boolean }> implements VideoEncoderLike {
  private readonly _init: VideoEncoderInit;
  private _config: VideoEncoderConfig | undefined;
  private _run: FfmpegWasmRun | undefined;
  private _output: FramecrcOutput | undefined;
  /** Durations of the frames sent, by timestamp (a packet's duration is its frame's). */
  private readonly _durations = new Map<number, number>();
  private _sentConfig = false;
  private _vp8 = false;
  /** Frames in, packets out, keyframes. */
  readonly counters = { framesIn: 0, packetsOut: 0, bytesOut: 0, keyframes: 0 };

  constructor(init: VideoEncoderInit) {
    super('VideoEncoder', 'ENCODER_FAILED', init.error);
    this._init = init;
  }

  protected get codecName(): string {
    return 'wasm video encoder';
  }

  protected open(config: VideoEncoderConfig): void {
    const vp8 = config.codec === 'vp8';
    if (!config.codec.startsWith('avc1') && !vp8) throw new AvpipeError('ENCODER_FAILED', `the wasm video encoder makes H.264 and VP8, not "${config.codec}"`);
    if (this.state === 'configured') throw new AvpipeError('INVALID_STATE', 'the wasm video encoder is configured once');
    this._config = config;
    this._vp8 = vp8;
  }

  protected submit(frame: VideoFrame, options: { keyFrame?: boolean } | undefined): void {
    const cfg = this._config!;
    checkFrameSize(frame, cfg);
    // Started on the first frame: the keyframe grid starts at its time.
    this._run ??= this._start(frame.timestamp);
    this.counters.framesIn++;
    this._durations.set(frame.timestamp, frame.duration ?? Math.round(1e6 / cfg.framerate));
    // Tight planes: the ring takes them as they are (copied in, then the frame is released).
    this.enqueued();
    this._run.write(matroskaFrame(frame.timestamp, options?.keyFrame === true, tightPlanes(frame)), () => {
      frame.close();
      this.dequeued();
    });
  }

  protected async drain(): Promise<void> {
    if (this._run === undefined) return;
    await this._run.finish(this._vp8 ? 'libvpx' : 'x264');
    const { stamps, bytes } = this._output!.unmatched;
    if (stamps > 0 || bytes > 0) throw new AvpipeError('ENCODER_FAILED', `the wasm encoder ended with ${stamps} packet(s) and ${bytes} bytes unmatched`);
  }

  /** Frames still in the write queue are closed by their write's callback, which runs whatever the run's end. */
  protected release(): void {
    this._run?.kill();
  }

  private _start(firstUs: number): FfmpegWasmRun {
    const cfg = this._config!;
    const gop = cfg.keyframeInterval ?? Math.round(cfg.framerate * 2);
    // Forced keyframes on the grid, as the node marks them: a frame is forced when its grid index is
    // past the last forced frame's (the first frame at or after each point; after a gap longer than the
    // interval, the next point only), none before the origin (a split chunk's lead-in). The
    // expression's `t` counts from the first frame, whatever -copyts keeps (an absolute origin never
    // matched), and half a microsecond of slack makes its float seconds compare as whole microseconds.
    const t0 = ((cfg.keyframeOriginUs ?? firstUs) - firstUs) / 1e6;
    const step = (cfg.keyframeIntervalUs ?? (gop / cfg.framerate) * 1e6) / 1e6;
    const index = (v: string): string => `floor((${v}-(${t0})+0.0000005)/${step})`;
    const keyExpr = `expr:gte(t-(${t0})+0.0000005,0)*gt(isnan(prev_forced_t)+gt(${index('t')},${index('prev_forced_t')}),0)`;
    const codec = this._vp8
      // libvpx in realtime mode without lag: one frame in, one frame out.
      ? ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', String(VPX_CPU_USED.vp8[cfg.speedPreset ?? 'veryfast']), '-lag-in-frames', '0', '-b:v', String(cfg.bitrate), '-g', String(gop)]
      : ['-c:v', 'libx264', '-preset', cfg.speedPreset ?? 'veryfast', '-profile:v', h264ProfileOf(cfg.codec) ?? 'main', '-b:v', String(cfg.bitrate), '-g', String(gop), '-sc_threshold', '0',
        // As the native encoder: WebCodecs' realtime latency mode is x264's zerolatency (no lookahead, no B-frames).
        ...(cfg.latencyMode === 'realtime' ? ['-tune', 'zerolatency'] : [])];
    const args = [
      '-hide_banner', '-nostats', '-probesize', '32', '-analyzeduration', '0', '-copyts', '-f', 'matroska', '-i', '/in',
      '-map', '0:0', '-fps_mode', 'passthrough', '-enc_time_base', '1:1000000', ...codec, '-force_key_frames', keyExpr,
      // Each of tee's outputs flushes its own packets: without that the framecrc lines waited in a
      // 32 KB buffer (about 500 frames, 17 s at 30 fps) and every packet came out that late.
      '-flush_packets', '1', '-f', 'tee', `[f=${this._vp8 ? 'ivf' : 'h264'}:flush_packets=1]/out|[f=framecrc:flush_packets=1]/out1`,
    ];
    const output = new FramecrcOutput(
      (stamp) => ({ skip: this._vp8 ? IVF_FRAME_HEADER : 0, bytes: stamp.bytes }),
      (bytes, stamp) => this._emit(bytes, stamp),
      this._vp8 ? IVF_HEADER : 0,
    );
    this._output = output;
    const run = new FfmpegWasmRun({
      args, ringBytes: i420Size(cfg.width, cfg.height) * RING_FRAMES, outputs: 2,
      onOutput: (bytes, to) => (to === 0 ? output.data(bytes) : output.lines(bytes)), onError: (err) => this.fail(err),
    });
    // The frame rate matters: without it x264 takes the microsecond time base for one and starves every frame of bits.
    this.enqueued();
    run.write([matroskaHeader({ codec: 'I420', codedWidth: cfg.width, codedHeight: cfg.height, framerate: cfg.framerate })], () => this.dequeued());
    return run;
  }

  private _emit(bytes: Uint8Array, stamp: FramecrcStamp): void {
    // Nothing comes out after close (a worker's last messages may still arrive).
    if (this.state !== 'configured') return;
    const duration = this._durations.get(stamp.timestamp);
    if (duration === undefined) return this.fail(new AvpipeError('ENCODER_FAILED', `the wasm encoder gave a packet at ${stamp.timestamp} us, where no frame was`));
    this._durations.delete(stamp.timestamp);
    const data = bytes.slice();
    let metadata = {};
    if (!this._sentConfig && stamp.key) {
      this._sentConfig = true;
      const cfg = this._config!;
      const codec = this._vp8 ? 'vp8' : avcCodecStringFromAnnexB(data) ?? cfg.codec;
      const decoderConfig: VideoDecoderConfig = { codec, codedWidth: cfg.width, codedHeight: cfg.height };
      metadata = { decoderConfig };
    }
    this.counters.packetsOut++;
    this.counters.bytesOut += data.byteLength;
    if (stamp.key) this.counters.keyframes++;
    this._init.output(new EncodedVideoChunk({
      type: stamp.key ? 'key' : 'delta', timestamp: stamp.timestamp, decodeTimestamp: stamp.decodeTimestamp, duration, data,
    }), metadata);
  }
}
