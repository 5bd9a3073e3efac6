import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { VPX_CPU_USED } from '../../config/codecs.js';
import { AvpipeError, toAvpipeError } from '../../errors.js';
import type { CodecState, VideoEncoderConfig, VideoEncoderInit, VideoEncoderLike } from '../codec-provider.js';
import { EncodedVideoChunk, type VideoDecoderConfig } from '../../media/encoded-chunk.js';
import { checkFrame } from './frame-check.js';
import { copyPlane, i420Layout, i420Size, type VideoFrame } from '../../media/video-frame.js';

/** The worker script: plain JavaScript under wasm/, the same path from src/ (tests) and dist/. */
const WORKER = fileURLToPath(new URL('../../../wasm/libav/vp9-worker.cjs', import.meta.url));

/** One packet as the worker posts it: the frame's index stands in for its time. */
interface WorkerPacket {
  data: Uint8Array;
  index: number;
  key: boolean;
}

/**
 * A WebCodecs-shaped VP9 VideoEncoder on WebAssembly only: libvpx-vp9 from libav.js in a worker
 * thread (ffmpeg.wasm's VP9 crashes; this build does not). Realtime mode without lag: a frame in,
 * a packet out. Frames go over as tight I420 copies; each packet finds its frame's timestamp by
 * index. Keyframes come every `keyframeInterval` frames and wherever `encode(..., {keyFrame})` asks.
 */
export class WasmVp9Encoder implements VideoEncoderLike {
  ondequeue: (() => void) | null = null;
  private _state: CodecState = 'unconfigured';
  private readonly _init: VideoEncoderInit;
  private _config: VideoEncoderConfig | undefined;
  private _worker: Worker | undefined;
  /** Timestamps and durations of the frames sent, by index. */
  private readonly _slots = new Map<number, { timestamp: number; duration: number }>();
  private _sent = 0;
  private _taken = 0;
  private _sentConfig = false;
  private _flushed: (() => void) | undefined;
  private _failed: Error | undefined;
  readonly counters = { framesIn: 0, packetsOut: 0, bytesOut: 0, keyframes: 0 };

  constructor(init: VideoEncoderInit) {
    this._init = init;
  }

  get state(): CodecState {
    return this._state;
  }

  get encodeQueueSize(): number {
    return this._sent - this._taken;
  }

  configure(config: VideoEncoderConfig): void {
    if (this._state === 'closed') throw new AvpipeError('INVALID_STATE', 'VideoEncoder is closed');
    if (!/^vp09\b|^vp9$/.test(config.codec)) throw new AvpipeError('ENCODER_FAILED', `the wasm VP9 encoder makes VP9, not "${config.codec}"`);
    if (this._worker !== undefined) throw new AvpipeError('INVALID_STATE', 'the wasm VP9 encoder is configured once');
    // Resolved here, so a missing package fails configure() with its name.
    createRequire(import.meta.url).resolve('@libav.js/variant-webm-vp9');
    this._config = config;
    const workerData = {
      width: config.width, height: config.height, framerate: Math.round(config.framerate), bitrate: config.bitrate,
      gop: config.keyframeInterval ?? Math.round(config.framerate * 2), cpuUsed: VPX_CPU_USED.vp9[config.speedPreset ?? 'veryfast'],
    };
    const worker = new Worker(WORKER, { workerData });
    worker.on('message', (m: { packets?: WorkerPacket[]; taken?: number; flushed?: boolean; error?: string }) => {
      if (m.error !== undefined) this._fail(new Error(m.error));
      for (const p of m.packets ?? []) this._emit(p);
      if (m.taken !== undefined) {
        this._taken += m.taken;
        this.ondequeue?.();
      }
      if (m.flushed === true) this._flushed?.();
    });
    worker.on('error', (err) => this._fail(err));
    worker.on('exit', () => this._flushed?.());
    this._worker = worker;
    this._state = 'configured';
  }

  encode(frame: VideoFrame, options: { keyFrame?: boolean } = {}): void {
    const cfg = this._config;
    checkFrame(frame, this._state, this._failed, cfg);
    const tight = new Uint8Array(i420Size(cfg.width, cfg.height));
    const layout = i420Layout(cfg.width, cfg.height);
    frame.planes().forEach((p, i) => copyPlane(p.data, p.stride, tight, layout[i]!.offset, layout[i]!.stride, p.width, p.rows));
    const index = this._sent++;
    this._slots.set(index, { timestamp: frame.timestamp, duration: frame.duration ?? Math.round(1e6 / cfg.framerate) });
    frame.close();
    this.counters.framesIn++;
    this._worker!.postMessage({ frame: tight, index, key: options.keyFrame === true }, [tight.buffer]);
  }

  async flush(): Promise<void> {
    if (this._state !== 'configured') throw new AvpipeError('INVALID_STATE', `flush() on a ${this._state} VideoEncoder`);
    if (this._failed === undefined) {
      await new Promise<void>((resolve) => {
        this._flushed = resolve;
        this._worker!.postMessage({ flush: true });
      });
    }
    if (this._failed !== undefined) throw this._failed;
  }

  close(): void {
    if (this._state === 'closed') return;
    this._state = 'closed';
    void this._worker?.terminate();
  }

  private _emit(p: WorkerPacket): void {
    const slot = this._slots.get(p.index);
    if (slot === undefined) {
      this._fail(new AvpipeError('ENCODER_FAILED', `libvpx-vp9 gave a packet for frame ${p.index}, which was not sent`));
      return;
    }
    this._slots.delete(p.index);
    let metadata = {};
    if (!this._sentConfig) {
      this._sentConfig = true;
      const cfg = this._config!;
      const decoderConfig: VideoDecoderConfig = { codec: cfg.codec, codedWidth: cfg.width, codedHeight: cfg.height };
      metadata = { decoderConfig };
    }
    this.counters.packetsOut++;
    this.counters.bytesOut += p.data.byteLength;
    if (p.key) this.counters.keyframes++;
    this._init.output(new EncodedVideoChunk({ type: p.key ? 'key' : 'delta', timestamp: slot.timestamp, duration: slot.duration, data: p.data }), metadata);
  }

  private _fail(err: unknown): void {
    if (this._failed !== undefined) return;
    this._failed = toAvpipeError('ENCODER_FAILED', 'wasm VP9 encoder', err);
    this._flushed?.();
    this._init.error(this._failed);
  }
}
