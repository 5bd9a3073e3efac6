import { Worker } from 'node:worker_threads';
import { workerScript } from '../worker-script.js';
import type { ChunkWorkerData, EncodeChunk, FromChunkWorker } from './chunk-protocol.js';
import type { ChunkSpan, SplitPlan } from './plan.js';

/** What a chunk runner tells the pool: a chunk's packets, its end, its error, or a slot that died. */
export interface ChunkRunnerEvents {
  /** A message about the chunk in `slot`, from the worker named `worker` (a thread's index, a job worker's name). */
  message(slot: number, m: FromChunkWorker, worker: number | string): void;
  /** The slot's worker failed outside of a chunk's own error (it died). */
  failed(slot: number, message: string): void;
}

/**
 * Who encodes a split's chunks: worker threads of this process ({@link ThreadChunkRunner}), or
 * (a distributed export) jobs on a fleet of workers. The pool gives each slot a chunk at a time and
 * joins what comes back; the runner only carries chunks out and packets in.
 */
export interface ChunkRunner {
  /** Chunks encoded at once. */
  readonly slots: number;
  start(events: ChunkRunnerEvents): Promise<void>;
  /** Encodes `chunk` in `slot` (idle until its `done` or `error`). */
  encode(slot: number, chunk: ChunkSpan): void;
  /** The pool has handed on chunk `index` whole (a runner that reads chunks back reads the next ones then). */
  handedOn?(index: number): void;
  /** Ends every chunk under way; idempotent (a second call returns the first's promise). */
  close(): Promise<void>;
}

/** Makes the runner of a split: the plan, and what every chunk's encoder needs. */
export type ChunkRunnerFactory = (plan: SplitPlan, data: ChunkWorkerData) => ChunkRunner;

/** The chunks encoded on worker threads of this process, one chunk at a time each (./chunk-worker.js). */
export class ThreadChunkRunner implements ChunkRunner {
  readonly slots: number;
  private readonly _plan: SplitPlan;
  private readonly _data: ChunkWorkerData;
  private readonly _workers: Worker[] = [];
  private _closing = false;
  private _closed: Promise<void> | undefined;

  constructor(plan: SplitPlan, data: ChunkWorkerData) {
    this._plan = plan;
    this._data = data;
    this.slots = plan.workers;
  }

  async start(events: ChunkRunnerEvents): Promise<void> {
    let wasmModule: object | undefined;
    if (this._data.codecs === 'wasm') {
      try {
        wasmModule = await (await import('../codecs/wasm/ffmpeg-wasm.js')).ffmpegWasmModule();
      } catch (err) {
        for (let i = 0; i < this.slots; i++) events.failed(i, `ffmpeg.wasm did not compile: ${(err as Error).message}`);
        return;
      }
      if (this._closing) return;
    }
    for (let i = 0; i < this.slots; i++) {
      // A small young generation, as the audio worker's: W1's peak RSS 344 -> 323 MiB, its wall unchanged (2 runs each).
      const worker = new Worker(workerScript(new URL('./chunk-worker.js', import.meta.url)), {
        resourceLimits: { maxYoungGenerationSizeMb: 2 },
        workerData: { ...this._data, encoder: { ...this._data.encoder, threads: this._plan.threads }, ...(wasmModule === undefined ? {} : { wasmModule }) },
      });
      worker.on('message', (m: FromChunkWorker) => events.message(i, m, i));
      worker.on('error', (err) => events.failed(i, `its worker failed: ${err.message}`));
      worker.on('exit', (code) => {
        if (!this._closing) events.failed(i, `its worker exited (code ${code})`);
      });
      this._workers.push(worker);
    }
  }

  encode(slot: number, chunk: ChunkSpan): void {
    this._workers[slot]!.postMessage({ type: 'encode', chunk } satisfies EncodeChunk);
  }

  close(): Promise<void> {
    this._closing = true;
    this._closed ??= Promise.all(this._workers.map((w) => w.terminate())).then(() => undefined);
    return this._closed;
  }
}
