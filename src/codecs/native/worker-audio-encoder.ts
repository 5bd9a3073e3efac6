import { Worker } from 'node:worker_threads';
import { AvpipeError, type AvpipeErrorCode } from '../../errors.js';
import type { AudioData } from '../../media/audio-data.js';
import { EncodedAudioChunk, type AudioDecoderConfig, type EncodedChunkMetadata } from '../../media/encoded-chunk.js';
import type { Microseconds } from '../../time.js';
import { workerScript } from '../../worker-script.js';
import { EncoderBase } from '../codec-base.js';
import type { AudioEncoderConfig, AudioEncoderInit, AudioEncoderLike } from '../codec-provider.js';
import type { FromEncodeWorker, ToEncodeWorker } from './audio-encode-protocol.js';

/** Samples per batch: a quarter second, a message each way instead of one per 20 ms codec frame. */
const BATCH_US = 250_000;

/**
 * A WebCodecs-shaped AudioEncoder whose FFmpeg encoder (libopus, aac) runs on a worker thread of its
 * own: the samples go over in batches of a quarter second, encoded there synchronously, and the packets
 * come back per batch. For non-live runs, where the audio's latency does not matter: the main thread
 * mixes and muxes while the other core encodes (Opus was 30% of a long mix's main thread), and one
 * message per batch costs less than a hop per codec frame (node-av's asynchronous send, tried first,
 * left the encoder waiting on the main thread for every 20 ms frame). `encodeQueueSize` counts the
 * batches on the worker.
 */
export class WorkerAudioEncoder extends EncoderBase<AudioEncoderConfig, AudioData> implements AudioEncoderLike {
  private readonly _init: AudioEncoderInit;
  private _worker: Worker | undefined;
  private _config: AudioEncoderConfig | undefined;
  private _batch = new Float32Array(0);
  private _batchFrames = 0;
  private _fill = 0;
  private _start: Microseconds = 0;
  private readonly _drains: (() => void)[] = [];

  constructor(init: AudioEncoderInit) {
    super('AudioEncoder', 'ENCODER_FAILED', init.error);
    this._init = init;
  }

  protected get codecName(): string {
    return `${this._config?.codec ?? 'audio'} encoder (worker)`;
  }

  protected open(config: AudioEncoderConfig): void {
    if (this._worker === undefined) {
      // A small young generation: the worker's garbage is a few batches; 2 MiB took 15-20 MiB off a run's peak RSS.
      const worker = new Worker(workerScript(new URL('./audio-encode-worker.js', import.meta.url)), { resourceLimits: { maxYoungGenerationSizeMb: 2 } });
      worker.on('message', (m: FromEncodeWorker) => this._message(m));
      worker.on('error', (err) => this.fail(err));
      worker.on('exit', (code) => this.fail(new AvpipeError('ENCODER_FAILED', `its worker exited (code ${code})`)));
      this._worker = worker;
    }
    this._config = config;
    this._batchFrames = Math.round((BATCH_US * config.sampleRate) / 1e6);
    this._batch = new Float32Array(this._batchFrames * config.numberOfChannels);
    this._fill = 0;
    this._worker.postMessage({ type: 'configure', config } satisfies ToEncodeWorker);
  }

  protected submit(data: AudioData): void {
    try {
      const cfg = this._config!;
      if (data.sampleRate !== cfg.sampleRate || data.numberOfChannels !== cfg.numberOfChannels) {
        throw new AvpipeError('ENCODER_FAILED', `audio is ${data.sampleRate} Hz x${data.numberOfChannels}, the encoder was configured for ${cfg.sampleRate} Hz x${cfg.numberOfChannels}`);
      }
      const planes = data.planes();
      for (let at = 0; at < data.numberOfFrames;) {
        // The encoder times its packets by the sample count from the first buffer's time.
        if (this._fill === 0) this._start = data.timestamp + Math.round((at * 1e6) / cfg.sampleRate);
        const n = Math.min(data.numberOfFrames - at, this._batchFrames - this._fill);
        for (let c = 0; c < planes.length; c++) this._batch.set(planes[c]!.subarray(at, at + n), c * this._batchFrames + this._fill);
        this._fill += n;
        at += n;
        if (this._fill === this._batchFrames) this._post();
      }
    } catch (err) {
      this.fail(err);
    } finally {
      data.close();
    }
  }

  protected drain(): Promise<void> {
    this._post();
    return new Promise((resolve) => {
      this._drains.push(resolve);
      this._worker!.postMessage({ type: 'flush' } satisfies ToEncodeWorker);
    });
  }

  protected release(): void {
    for (const f of this._drains.splice(0)) f();
    void this._worker?.terminate();
    this._worker = undefined;
  }

  /** Sends the batch filled so far (planes packed to its length). */
  private _post(): void {
    if (this._fill === 0) return;
    const channels = this._config!.numberOfChannels;
    const n = this._fill;
    const full = n === this._batchFrames;
    const data = full ? this._batch : new Float32Array(n * channels);
    if (!full) for (let c = 0; c < channels; c++) data.set(this._batch.subarray(c * this._batchFrames, c * this._batchFrames + n), c * n);
    this._worker!.postMessage({ type: 'audio', timestamp: this._start, frames: n, data } satisfies ToEncodeWorker, [data.buffer as ArrayBuffer]);
    if (full) this._batch = new Float32Array(this._batchFrames * channels);
    this._fill = 0;
    this.enqueued();
  }

  private _message(m: FromEncodeWorker): void {
    if (this.state === 'closed') return;
    if (m.type === 'error') {
      this.fail(new AvpipeError(m.code as AvpipeErrorCode, m.message));
      return;
    }
    for (const p of m.packets) {
      const metadata: EncodedChunkMetadata<AudioDecoderConfig> = p.decoderConfig === undefined ? {} : { decoderConfig: p.decoderConfig };
      this._init.output(new EncodedAudioChunk({ type: 'key', timestamp: p.timestamp, ...(p.duration === null ? {} : { duration: p.duration }), data: p.data }), metadata);
    }
    if (m.type === 'encoded') this.dequeued();
    else this._drains.shift()?.();
  }
}
