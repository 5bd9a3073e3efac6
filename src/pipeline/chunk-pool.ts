import type { EncoderStats } from '../codecs/encoder-node.js';
import { AvpipeError, type AvpipeErrorCode } from '../errors.js';
import { EncodedVideoChunk, type EncodedVideoOutput, type VideoDecoderConfig } from '../media/encoded-chunk.js';
import { Signal } from '../signal.js';
import type { ChunkPacket, ChunkWorkerData, FromChunkWorker } from './chunk-protocol.js';
import { ThreadChunkRunner, type ChunkRunner, type ChunkRunnerFactory } from './chunk-runner.js';
import type { ChunkSpan, SplitPlan } from './plan.js';

/** One chunk of a split encode in a result. */
export interface ChunkResult {
  /** Its place in the split, from 0. */
  index: number;
  /** Its span of media time, ms. */
  startMs: number;
  /** Where its span ends (the next chunk's start), ms. */
  endMs: number;
  /** What encoded it: a worker thread's index (0-based), or in a distributed export the job worker's name. */
  worker: number | string;
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
 * The main thread's side of a split encode ({@link SplitPlan}): a runner's slots (worker threads, or
 * jobs on a fleet) encode chunks, one each at a time and never more than `slots + 1` chunks ahead
 * of the one being handed on (memory stays a few chunks of encoded video), and the packets come out
 * in order as one stream: the first with the decoder configuration, which every chunk must share.
 * @internal
 */
export class ChunkPool {
  private readonly _plan: SplitPlan;
  private readonly _runner: ChunkRunner;
  /** The chunk each slot is encoding. */
  private readonly _busy: (ChunkSpan | null)[];
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

  constructor(plan: SplitPlan, data: ChunkWorkerData, runner: ChunkRunnerFactory = (p, d) => new ThreadChunkRunner(p, d)) {
    this._plan = plan;
    this._runner = runner(plan, data);
    this._busy = Array.from({ length: this._runner.slots }, () => null);
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
            this._runner.handedOn?.(this._emitting);
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

  /** Ends every worker; idempotent (a second call waits for the first's). */
  close(): Promise<void> {
    this._closed = true;
    this._changed.notify();
    return this._runner.close();
  }

  private async _start(): Promise<void> {
    await this._runner.start({
      message: (slot, m, worker) => this._message(slot, m, worker),
      failed: (slot, message) => this._fail('ENCODER_FAILED', this._busy[slot] ?? null, message),
    });
    this._assign();
  }

  /** Gives idle slots the next chunks, as far ahead as memory allows. */
  private _assign(): void {
    for (let slot = 0; slot < this._busy.length; slot++) {
      if (this._closed || this._error !== undefined) return;
      if (this._busy[slot] !== null) continue;
      if (this._assigned >= this._last || this._assigned > this._emitting + this._busy.length) return;
      const chunk = this._plan.chunks[this._assigned++]!;
      this._busy[slot] = chunk;
      this._pending.set(chunk.index, { packets: [], taken: 0, decoderConfig: undefined, done: false });
      this._runner.encode(slot, chunk);
    }
  }

  private _message(slot: number, m: FromChunkWorker, worker: number | string): void {
    const p = this._pending.get(m.index);
    if (m.type === 'error') return this._fail(m.code as AvpipeErrorCode, this._busy[slot] ?? null, m.message);
    if (p === undefined) return;
    if (m.type === 'packets') {
      p.decoderConfig ??= m.decoderConfig;
      p.packets.push(...m.packets);
    } else {
      p.done = true;
      const chunk = this._busy[slot]!;
      this._busy[slot] = null;
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
