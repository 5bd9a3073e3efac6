import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { VPX_CPU_USED } from '../../config/codecs.js';
import { AvpipeError } from '../../errors.js';
import { EncoderBase } from '../codec-base.js';
import type { VideoEncoderConfig, VideoEncoderInit, VideoEncoderLike } from '../codec-provider.js';
import { EncodedVideoChunk, type VideoDecoderConfig } from '../../media/encoded-chunk.js';
import { checkFrameSize } from './frame-check.js';
import { copyPlane, i420Layout, i420Size, type VideoFrame } from '../../media/video-frame.js';
import { Signal } from '../../signal.js';

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
export class WasmVp9Encoder extends EncoderBase<VideoEncoderConfig, VideoFrame, { keyFrame?: boolean }> implements VideoEncoderLike {
  private readonly _init: VideoEncoderInit;
  private _config: VideoEncoderConfig | undefined;
  private _worker: Worker | undefined;
  /** Timestamps and durations of the frames sent, by index. */
  private readonly _slots = new Map<number, { timestamp: number; duration: number }>();
  /** Frames sent: the next frame's index. */
  private _sent = 0;
  private _sentConfig = false;
  /** Told when the worker has answered a flush, or is gone. */
  private readonly _flushed = new Signal();
  private _exited = false;
  readonly counters = { framesIn: 0, packetsOut: 0, bytesOut: 0, keyframes: 0 };

  constructor(init: VideoEncoderInit) {
    super('VideoEncoder', 'ENCODER_FAILED', init.error);
    this._init = init;
  }

  protected get codecName(): string {
    return 'wasm VP9 encoder';
  }

  protected open(config: VideoEncoderConfig): void {
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
      if (m.error !== undefined) this.fail(new Error(m.error));
      for (const p of m.packets ?? []) this._emit(p);
      if (m.taken !== undefined) this.dequeued(m.taken);
      if (m.flushed === true) this._flushed.notify();
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', () => {
      this._exited = true;
      this._flushed.notify();
    });
    this._worker = worker;
  }

  protected submit(frame: VideoFrame, options: { keyFrame?: boolean } | undefined): void {
    const cfg = this._config!;
    checkFrameSize(frame, cfg);
    const tight = new Uint8Array(i420Size(cfg.width, cfg.height));
    const layout = i420Layout(cfg.width, cfg.height);
    frame.planes().forEach((p, i) => copyPlane(p.data, p.stride, tight, layout[i]!.offset, layout[i]!.stride, p.width, p.rows));
    const index = this._sent++;
    this._slots.set(index, { timestamp: frame.timestamp, duration: frame.duration ?? Math.round(1e6 / cfg.framerate) });
    frame.close();
    this.counters.framesIn++;
    this.enqueued();
    this._worker!.postMessage({ frame: tight, index, key: options?.keyFrame === true }, [tight.buffer]);
  }

  /** The worker answers a flush after the frames before it; its exit ends the wait too. */
  protected drain(): Promise<void> {
    // A worker already gone answers nothing: there is nothing left to drain.
    if (this._exited) return Promise.resolve();
    const answered = this._flushed.wait();
    this._worker!.postMessage({ flush: true });
    return answered;
  }

  protected release(): void {
    void this._worker?.terminate();
  }

  private _emit(p: WorkerPacket): void {
    // Nothing comes out after close (messages posted before the worker stopped may still arrive).
    if (this.state !== 'configured') return;
    const slot = this._slots.get(p.index);
    if (slot === undefined) {
      this.fail(new AvpipeError('ENCODER_FAILED', `libvpx-vp9 gave a packet for frame ${p.index}, which was not sent`));
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
}
