import { Worker } from 'node:worker_threads';
import type { EncoderStats } from '../codecs/encoder-node.js';
import { AvpipeError, type AvpipeErrorCode } from '../errors.js';
import { EncodedVideoChunk, type EncodedVideoOutput, type VideoDecoderConfig } from '../media/encoded-chunk.js';
import { Signal } from '../signal.js';
import type { ChunkPacket, ChunkWorkerData, EncodeChunk, FromChunkWorker } from './chunk-protocol.js';
import type { ChunkSpan, SplitPlan } from './plan.js';
import { workerScript } from '../worker-script.js';

/** One chunk of a split encode in a result. */
export interface ChunkResult {
  index: number;
  /** Its span of media time, ms. */
  startMs: number;
  endMs: number;
  /** The worker (0-based) that encoded it. */
  worker: number;
  /** Wall time the worker spent on it, ms. */
  wallMs: number;
  /** Frames before its start encoded and thrown away, so its rate control starts warm. */
  leadInFrames: number;
}

interface Pending {
  packets: ChunkPacket[];
  /** Packets of it already handed on. */
  taken: number;
  decoderConfig: VideoDecoderConfig | undefined;
  done: boolean;
}

/**
 * The main thread's side of a split encode ({@link SplitPlan}): worker threads encode chunks, at most
 * `workers` at once and never more than `workers + 1` chunks ahead of the one being handed on (memory
 * stays a few chunks of encoded video), and the packets come out in order as one stream: the first
 * with the decoder configuration, which every chunk must share.
 * @internal
 */
export class ChunkPool {
  private readonly _plan: SplitPlan;
  private readonly _data: ChunkWorkerData;
  private readonly _workers: { worker: Worker; busy: ChunkSpan | null }[] = [];
  private readonly _pending = new Map<number, Pending>();
  private _assigned = 0;
  private _emitting = 0;
  private _error: { error: AvpipeError; chunk: number } | undefined;
  private readonly _changed = new Signal();
  private readonly _results: ChunkResult[] = [];
  /** The name and codec of the counters; each chunk's own counters beside. */
  private readonly _stats: EncoderStats;
  private readonly _chunkStats = new Map<number, EncoderStats>();
  private _config: VideoDecoderConfig | undefined;
  /** The SPS and PPS the first chunk's keyframe carries in band (H.264 without a description), hex. */
  private _parameterSets = '';
  private _closed = false;
  /** Chunks handed on: all of the plan's, or fewer once finish() is called. */
  private _last: number;
  /** Packets handed on so far (for progress). */
  handedOn = 0;

  constructor(plan: SplitPlan, data: ChunkWorkerData) {
    this._plan = plan;
    this._data = data;
    this._last = plan.chunks.length;
    this._stats = { name: 'video-encoder', codec: data.encoder.codec, framesIn: 0, chunksOut: 0, bytesOut: 0, keyframes: 0, maxQueue: 0 };
  }

  /** The encoded video, in order; aborting `signal` ends the workers. */
  readable(signal: AbortSignal): ReadableStream<EncodedVideoOutput> {
    signal.addEventListener('abort', () => void this.close(), { once: true });
    return new ReadableStream<EncodedVideoOutput>({
      start: () => this._start(),
      pull: async (controller) => {
        for (;;) {
          // A chunk a stop dropped may fail as the workers are ended: only the kept ones count.
          if (this._error !== undefined && this._error.chunk < this._last) throw this._error.error;
          if (this._emitting >= this._last) {
            controller.close();
            await this.close();
            return;
          }
          const p = this._pending.get(this._emitting);
          if (p !== undefined && p.taken < p.packets.length) {
            controller.enqueue(this._output(p, p.packets[p.taken]!));
            this.handedOn++;
            p.packets[p.taken++] = undefined as unknown as ChunkPacket;
            return;
          }
          if (p?.done === true) {
            this._pending.delete(this._emitting++);
            this._assign();
            continue;
          }
          await this._changed.wait({ signal });
          signal.throwIfAborted();
        }
      },
      cancel: () => this.close(),
    }, { highWaterMark: 0 });
  }

  /** The encoders' counters, summed over the chunks done and handed on (not those a stop dropped). */
  stats(): EncoderStats {
    const sum = { ...this._stats };
    for (const [index, s] of this._chunkStats) {
      if (index >= this._last) continue;
      for (const k of ['framesIn', 'chunksOut', 'bytesOut', 'keyframes'] as const) sum[k] += s[k];
      sum.maxQueue = Math.max(sum.maxQueue, s.maxQueue);
    }
    return sum;
  }

  /** Every chunk done and handed on so far, in order (not those a stop dropped). */
  chunks(): ChunkResult[] {
    return this._results.filter((c) => c.index < this._last).sort((a, b) => a.index - b.index);
  }

  /**
   * Ends the stream early (the run is stopped): after the chunk being handed on, whose end is the
   * nearest keyframe-grid point the video can end on; the chunks encoded ahead of it are dropped.
   */
  finish(): void {
    this._last = Math.min(this._last, this._emitting + 1);
    this._changed.notify();
  }

  /** Ends every worker; idempotent. */
  async close(): Promise<void> {
    if (this._closed) return;
    this._closed = true;
    this._changed.notify();
    await Promise.all(this._workers.map((w) => w.worker.terminate()));
  }

  private async _start(): Promise<void> {
    let wasmModule: object | undefined;
    if (this._data.codecs === 'wasm') {
      try {
        wasmModule = await (await import('../codecs/wasm/ffmpeg-wasm.js')).ffmpegWasmModule();
      } catch (err) {
        return this._fail('ENCODER_FAILED', null, `ffmpeg.wasm did not compile: ${(err as Error).message}`);
      }
      if (this._closed) return;
    }
    for (let i = 0; i < this._plan.workers; i++) {
      // A small young generation, as the audio worker's: W1's peak RSS 344 -> 323 MiB, its wall unchanged (2 runs each).
      const worker = new Worker(workerScript(new URL('./chunk-worker.js', import.meta.url)), {
        resourceLimits: { maxYoungGenerationSizeMb: 2 },
        workerData: { ...this._data, encoder: { ...this._data.encoder, threads: this._plan.threads }, ...(wasmModule === undefined ? {} : { wasmModule }) },
      });
      const slot = { worker, busy: null as ChunkSpan | null };
      worker.on('message', (m: FromChunkWorker) => this._message(i, m));
      worker.on('error', (err) => this._fail('ENCODER_FAILED', slot.busy, `its worker failed: ${err.message}`));
      worker.on('exit', (code) => {
        if (!this._closed) this._fail('ENCODER_FAILED', slot.busy, `its worker exited (code ${code})`);
      });
      this._workers.push(slot);
    }
    this._assign();
  }

  /** Gives idle workers the next chunks, as far ahead as memory allows. */
  private _assign(): void {
    for (const w of this._workers) {
      if (this._closed || this._error !== undefined) return;
      if (w.busy !== null) continue;
      if (this._assigned >= this._last || this._assigned > this._emitting + this._plan.workers) return;
      const chunk = this._plan.chunks[this._assigned++]!;
      w.busy = chunk;
      this._pending.set(chunk.index, { packets: [], taken: 0, decoderConfig: undefined, done: false });
      w.worker.postMessage({ type: 'encode', chunk } satisfies EncodeChunk);
    }
  }

  private _message(worker: number, m: FromChunkWorker): void {
    const slot = this._workers[worker]!;
    const p = this._pending.get(m.index);
    if (m.type === 'error') return this._fail(m.code as AvpipeErrorCode, slot.busy, m.message);
    if (p === undefined) return;
    if (m.type === 'packets') {
      p.decoderConfig ??= m.decoderConfig;
      p.packets.push(...m.packets);
    } else {
      p.done = true;
      const chunk = slot.busy!;
      slot.busy = null;
      this._chunkStats.set(chunk.index, m.stats);
      this._results.push({ index: chunk.index, startMs: chunk.startUs / 1000, endMs: chunk.endUs / 1000, worker, wallMs: m.wallMs, leadInFrames: m.leadInFrames });
      this._assign();
    }
    this._changed.notify();
  }

  /** The next packet of the chunk being handed on; a chunk's first is checked against the stream's configuration. */
  private _output(p: Pending, packet: ChunkPacket): EncodedVideoOutput {
    const chunk = new EncodedVideoChunk({
      type: packet.type, timestamp: packet.timestamp, data: packet.data,
      ...(packet.duration === null ? {} : { duration: packet.duration }),
      ...(packet.decodeTimestamp === null ? {} : { decodeTimestamp: packet.decodeTimestamp }),
    });
    if (p.taken > 0) return { kind: 'video', chunk, metadata: {} };
    const index = this._emitting;
    if (packet.type !== 'key') throw new AvpipeError('ENCODER_FAILED', `chunk ${index} of the split encode does not start on a keyframe`);
    if (this._config === undefined) {
      this._config = p.decoderConfig;
      this._parameterSets = parameterSets(packet.data);
      return { kind: 'video', chunk, metadata: this._config === undefined ? {} : { decoderConfig: this._config } };
    }
    if (!sameConfig(this._config, p.decoderConfig) || parameterSets(packet.data) !== this._parameterSets) {
      throw new AvpipeError('ENCODER_FAILED', `chunk ${index} of the split encode came out with another decoder configuration (${p.decoderConfig?.codec ?? 'none'}) than chunk 0 (${this._config.codec}): the stream cannot be joined`);
    }
    return { kind: 'video', chunk, metadata: {} };
  }

  private _fail(code: AvpipeErrorCode, chunk: ChunkSpan | null, message: string): void {
    if (this._closed || (chunk !== null && chunk.index >= this._last)) return;
    const where = chunk === null ? 'a split-encode worker' : `chunk ${chunk.index} (${(chunk.startUs / 1e6).toFixed(1)}-${(chunk.endUs / 1e6).toFixed(1)} s)`;
    this._error ??= { error: new AvpipeError(code, `${where}: ${message}`), chunk: chunk?.index ?? -1 };
    this._changed.notify();
  }
}

/** The same configuration: codec, size and description bytes (SPS/PPS for H.264). */
function sameConfig(a: VideoDecoderConfig, b: VideoDecoderConfig | undefined): boolean {
  if (b === undefined || a.codec !== b.codec || a.codedWidth !== b.codedWidth || a.codedHeight !== b.codedHeight) return false;
  const x = a.description;
  const y = b.description;
  if (x === undefined || y === undefined) return x === y;
  return x.byteLength === y.byteLength && x.every((v, i) => v === y[i]);
}

/** The SPS and PPS NAL units of an Annex B H.264 keyframe, as hex ('' for other codecs or none). */
function parameterSets(data: Uint8Array): string {
  const out: string[] = [];
  const starts: number[] = [];
  for (let i = 0; i + 3 <= data.byteLength; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1) {
      starts.push(i + 3);
      i += 2;
    }
  }
  if (starts.length === 0) return '';
  starts.forEach((s, k) => {
    const type = data[s]! & 0x1f;
    if (type !== 7 && type !== 8) return;
    // The unit runs to the next start code (its leading zero included in the 4-byte form).
    let end = k + 1 < starts.length ? starts[k + 1]! - 3 : data.byteLength;
    while (end > s && data[end - 1] === 0) end--;
    out.push(Buffer.from(data.subarray(s, end)).toString('hex'));
  });
  return out.join(',');
}
