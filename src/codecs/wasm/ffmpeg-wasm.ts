import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AvpipeError } from '../../errors.js';

/** Where @ffmpeg/core's single-thread build lives. */
function corePaths(): { factory: string; wasm: string } {
  const factory = createRequire(import.meta.url).resolve('@ffmpeg/core');
  const umd = join(dirname(factory), '..', 'umd');
  return { factory: join(umd, 'ffmpeg-core.js'), wasm: join(umd, 'ffmpeg-core.wasm') };
}

/** A compiled WebAssembly.Module (this project's TypeScript libs have no DOM, where its type lives). */
type WasmModule = object;
const wasmApi = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> } }).WebAssembly;
/** Atomics.waitAsync (ES2024; Node 16+), typed here for the same reason. */
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, t: number): { async: boolean; value: Promise<string> | string } }).waitAsync;

let compiled: Promise<WasmModule> | undefined;
/** The ffmpeg.wasm module, compiled once per process (32 MB; a few hundred ms) and shared by every run. */
export function ffmpegWasmModule(): Promise<WasmModule> {
  compiled ??= readFile(corePaths().wasm).then((bytes) => wasmApi.compile(bytes));
  return compiled;
}

/** The worker script: plain JavaScript under wasm/, the same path from src/ (tests) and dist/. */
const WORKER = fileURLToPath(new URL('../../../wasm/ffmpeg/worker.cjs', import.meta.url));

/**
 * One streamed ffmpeg.wasm run in a worker thread: bytes written in go through a SharedArrayBuffer
 * ring to ffmpeg's input, its output comes back through `onOutput` as it is written. {@link write}
 * resolves once the ring has taken the bytes (backpressure); {@link end} closes the input and resolves
 * with ffmpeg's exit code once it has finished.
 */
export class FfmpegWasmRun {
  private readonly _worker: Worker;
  private readonly _ring: Uint8Array;
  private readonly _ctl: Int32Array;
  private readonly _done: Promise<{ code: number; log: string[] }>;
  private _exited = false;

  private constructor(module: WasmModule, args: readonly string[], ringBytes: number, onOutput: (bytes: Uint8Array) => void) {
    const ring = new SharedArrayBuffer(ringBytes);
    const ctl = new SharedArrayBuffer(12);
    this._ring = new Uint8Array(ring);
    this._ctl = new Int32Array(ctl);
    this._worker = new Worker(WORKER, { workerData: { module, factory: corePaths().factory, args: [...args], ring, ctl } });
    this._done = new Promise((resolve, reject) => {
      this._worker.on('message', (m: { out?: Uint8Array; done?: number; log?: string[] }) => {
        if (m.out !== undefined) onOutput(m.out);
        if (m.done !== undefined) {
          this._exited = true;
          resolve({ code: m.done, log: m.log ?? [] });
          void this._worker.terminate();
        }
      });
      this._worker.on('error', (err) => {
        this._exited = true;
        reject(new AvpipeError('ENCODER_FAILED', `ffmpeg.wasm failed: ${err.message}`, { cause: err }));
      });
    });
    this._done.catch(() => undefined);
  }

  /** Starts `ffmpeg args...` reading `/in` and writing `/out`. */
  static async start(args: readonly string[], ringBytes: number, onOutput: (bytes: Uint8Array) => void): Promise<FfmpegWasmRun> {
    return new FfmpegWasmRun(await ffmpegWasmModule(), args, ringBytes, onOutput);
  }

  /** Copies `parts` into the input ring, waiting while it is full. */
  async write(parts: readonly Uint8Array[]): Promise<void> {
    const size = this._ring.length;
    for (const part of parts) {
      let off = 0;
      while (off < part.length) {
        if (this._exited) throw new AvpipeError('ENCODER_FAILED', 'ffmpeg.wasm exited before taking all its input');
        const written = Atomics.load(this._ctl, 0);
        const read = Atomics.load(this._ctl, 1);
        const space = size - (written - read);
        if (space === 0) {
          const wait = waitAsync(this._ctl, 1, read, 200);
          if (wait.async) await wait.value;
          continue;
        }
        const n = Math.min(space, part.length - off);
        for (let k = 0; k < n;) {
          const at = (written + k) % size;
          const run = Math.min(n - k, size - at);
          this._ring.set(part.subarray(off + k, off + k + run), at);
          k += run;
        }
        Atomics.store(this._ctl, 0, written + n);
        Atomics.notify(this._ctl, 0);
        off += n;
      }
    }
  }

  /** Closes the input; resolves with ffmpeg's exit code and its last log lines once it is done. */
  end(): Promise<{ code: number; log: string[] }> {
    Atomics.store(this._ctl, 2, 1);
    Atomics.notify(this._ctl, 0);
    return this._done;
  }

  /** Closes the input and waits for ffmpeg to finish; an exit other than 0 is `what`'s failure. */
  async finish(what: string): Promise<void> {
    const { code, log } = await this.end();
    if (code !== 0) throw new AvpipeError('ENCODER_FAILED', `ffmpeg.wasm (${what}) exited with ${code}: ${log.slice(-3).join(' | ')}`);
  }

  /** Stops the run at once. Idempotent. */
  async kill(): Promise<void> {
    this._exited = true;
    await this._worker.terminate();
  }
}

/** `rest` (bytes a parser left over) followed by `more`. */
export function joinBytes(rest: Uint8Array, more: Uint8Array): Uint8Array {
  if (rest.length === 0) return more;
  const joined = new Uint8Array(rest.length + more.length);
  joined.set(rest);
  joined.set(more, rest.length);
  return joined;
}
