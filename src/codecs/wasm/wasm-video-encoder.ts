import { VPX_CPU_USED } from '../../config/codecs.js';
import { AvpipeError, toAvpipeError } from '../../errors.js';
import { splitAnnexB } from '../avc.js';
import type { CodecState, VideoEncoderConfig, VideoEncoderInit, VideoEncoderLike } from '../codec-provider.js';
import { avcCodecStringFromAnnexB, h264ProfileOf } from '../codec-strings.js';
import { EncodedVideoChunk, type VideoDecoderConfig } from '../encoded-chunk.js';
import { tightPlanes, type VideoFrame } from '../video-frame.js';
import { FfmpegWasmRun, joinBytes } from './ffmpeg-wasm.js';

/** Frames the input ring holds. */
const RING_FRAMES = 8;

/**
 * A WebCodecs-shaped H.264 / VP8 VideoEncoder on WebAssembly only: x264 or libvpx inside ffmpeg.wasm
 * (@ffmpeg/core) in a worker thread, fed frame by frame through a shared ring; x264's Annex B output
 * is cut into access units at its delimiters, libvpx's comes as IVF frames. VP8 runs in libvpx's
 * realtime mode without lag. x264 runs with `zerolatency` (no lookahead, no B-frames): one
 * frame in, one access unit out, in order, so each unit takes its frame's timestamp and the encoder
 * holds at most a frame or two (`encodeQueueSize`). The GOP is fixed at `keyframeInterval`
 * (`encode(..., {keyFrame})` cannot reach into a running ffmpeg: keyframes come on that grid).
 * `flush()` ends the stream.
 */
export class WasmVideoEncoder implements VideoEncoderLike {
  ondequeue: (() => void) | null = null;
  private _state: CodecState = 'unconfigured';
  private readonly _init: VideoEncoderInit;
  private _config: VideoEncoderConfig | undefined;
  private _run: FfmpegWasmRun | undefined;
  /** Timestamps and durations of the frames sent, in order, awaiting their access units. */
  private readonly _pending: { timestamp: number; duration: number }[] = [];
  /** Output bytes not yet cut into access units. */
  private _buffer: Uint8Array = new Uint8Array(0);
  private _sentConfig = false;
  private _vp8 = false;
  /** IVF: the 32-byte file header is skipped once. */
  private _ivfHeaderSkipped = false;
  private _failed: Error | undefined;
  /** Frames in, access units out, keyframes. */
  readonly counters = { framesIn: 0, packetsOut: 0, bytesOut: 0, keyframes: 0 };

  constructor(init: VideoEncoderInit) {
    this._init = init;
  }

  get state(): CodecState {
    return this._state;
  }

  get encodeQueueSize(): number {
    return this._pending.length;
  }

  configure(config: VideoEncoderConfig): void {
    if (this._state === 'closed') throw new AvpipeError('INVALID_STATE', 'VideoEncoder is closed');
    const vp8 = config.codec === 'vp8';
    if (!config.codec.startsWith('avc1') && !vp8) throw new AvpipeError('ENCODER_FAILED', `the wasm video encoder makes H.264 and VP8, not "${config.codec}"`);
    if (this._run !== undefined) throw new AvpipeError('INVALID_STATE', 'the wasm video encoder is configured once');
    this._config = config;
    this._vp8 = vp8;
    const gop = String(config.keyframeInterval ?? Math.round(config.framerate * 2));
    const input = ['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${config.width}x${config.height}`, '-r', String(config.framerate), '-i', '/in'];
    const codec = vp8
      // libvpx in realtime mode without lag: one frame in, one frame out; IVF frames carry their sizes.
      ? ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', String(VPX_CPU_USED.vp8[config.speedPreset ?? 'veryfast']), '-lag-in-frames', '0',
        '-b:v', String(config.bitrate), '-g', gop, '-keyint_min', gop, '-f', 'ivf']
      : ['-c:v', 'libx264', '-preset', config.speedPreset ?? 'veryfast', '-tune', 'zerolatency', '-profile:v', h264ProfileOf(config.codec) ?? 'main',
        '-b:v', String(config.bitrate), '-g', gop, '-keyint_min', gop, '-sc_threshold', '0', '-x264-params', 'aud=1', '-f', 'h264'];
    const args = [...input, ...codec, '-flush_packets', '1', '/out'];
    const frameBytes = (config.width * config.height * 3) / 2;
    this._run = new FfmpegWasmRun({ args, ringBytes: frameBytes * RING_FRAMES, onOutput: (bytes) => this._onOutput(bytes), onError: (err) => this._fail(err) });
    this._state = 'configured';
  }

  encode(frame: VideoFrame, _options: { keyFrame?: boolean } = {}): void {
    if (this._state !== 'configured') {
      frame.close();
      throw new AvpipeError('INVALID_STATE', `encode() on a ${this._state} VideoEncoder`);
    }
    if (this._failed !== undefined) {
      frame.close();
      throw this._failed;
    }
    const cfg = this._config!;
    if (frame.codedWidth !== cfg.width || frame.codedHeight !== cfg.height) {
      frame.close();
      throw new AvpipeError('ENCODER_FAILED', `frame is ${frame.codedWidth}x${frame.codedHeight}, the encoder ${cfg.width}x${cfg.height}`);
    }
    this.counters.framesIn++;
    this._pending.push({ timestamp: frame.timestamp, duration: frame.duration ?? Math.round(1e6 / cfg.framerate) });
    // Tight planes: the ring takes them as they are (copied in, then the frame is released).
    this._run!.write(tightPlanes(frame), () => frame.close());
  }

  async flush(): Promise<void> {
    if (this._state !== 'configured') throw new AvpipeError('INVALID_STATE', `flush() on a ${this._state} VideoEncoder`);
    await this._run!.finish(this._vp8 ? 'libvpx' : 'x264');
    // The last access unit has no delimiter after it.
    if (this._buffer.length > 0 && !this._vp8) this._emitUnit(this._buffer);
    this._buffer = new Uint8Array(0);
    if (this._failed !== undefined) throw this._failed;
  }

  close(): void {
    if (this._state === 'closed') return;
    this._state = 'closed';
    this._run?.kill();
  }

  /** Cuts the byte stream into frames: IVF frames for VP8, access units at their delimiters for H.264. */
  private _onOutput(bytes: Uint8Array): void {
    const joined = joinBytes(this._buffer, bytes);
    if (this._vp8) {
      let at = 0;
      if (!this._ivfHeaderSkipped) {
        if (joined.length < 32) {
          this._buffer = joined;
          return;
        }
        this._ivfHeaderSkipped = true;
        at = 32;
      }
      while (at + 12 <= joined.length) {
        const size = new DataView(joined.buffer, joined.byteOffset + at, 4).getUint32(0, true);
        if (at + 12 + size > joined.length) break;
        this._emitUnit(joined.subarray(at + 12, at + 12 + size));
        at += 12 + size;
      }
      this._buffer = joined.slice(at);
      return;
    }
    let start = 0;
    // Look for 00 00 01 09 (the delimiter's start code) after the first byte of the current unit.
    for (let i = 1; i + 3 < joined.length; i++) {
      if (joined[i] === 0 && joined[i + 1] === 0 && joined[i + 2] === 1 && ((joined[i + 3] ?? 0) & 0x1f) === 9) {
        const at = i > 0 && joined[i - 1] === 0 ? i - 1 : i;
        if (at > start) this._emitUnit(joined.subarray(start, at));
        start = at;
        i += 3;
      }
    }
    this._buffer = joined.slice(start);
  }

  private _emitUnit(unit: Uint8Array): void {
    const slot = this._pending.shift();
    if (slot === undefined) {
      this._fail(new AvpipeError('ENCODER_FAILED', 'x264 gave more access units than frames'));
      return;
    }
    const key = this._vp8 ? ((unit[0] ?? 1) & 1) === 0 : splitAnnexB(unit).some((n) => ((n[0] ?? 0) & 0x1f) === 5);
    const data = unit.slice();
    let metadata = {};
    if (!this._sentConfig && key) {
      this._sentConfig = true;
      const cfg = this._config!;
      const codec = this._vp8 ? 'vp8' : avcCodecStringFromAnnexB(data) ?? cfg.codec;
      const decoderConfig: VideoDecoderConfig = { codec, codedWidth: cfg.width, codedHeight: cfg.height };
      metadata = { decoderConfig };
    }
    this.counters.packetsOut++;
    this.counters.bytesOut += data.byteLength;
    if (key) this.counters.keyframes++;
    this._init.output(new EncodedVideoChunk({ type: key ? 'key' : 'delta', timestamp: slot.timestamp, duration: slot.duration, data }), metadata);
    this.ondequeue?.();
  }

  private _fail(err: unknown): void {
    if (this._failed !== undefined) return;
    this._failed = toAvpipeError('ENCODER_FAILED', 'wasm video encoder', err);
    this._init.error(this._failed);
  }
}
