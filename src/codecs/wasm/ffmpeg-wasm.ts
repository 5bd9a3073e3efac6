import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AvpipeError, type AvpipeErrorCode } from '../../errors.js';

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
/** The ffmpeg.wasm module, compiled once per thread (32 MB; a few hundred ms) and shared by every run. */
export function ffmpegWasmModule(): Promise<WasmModule> {
  compiled ??= readFile(corePaths().wasm).then((bytes) => wasmApi.compile(bytes));
  return compiled;
}

/** A worker thread takes the module another thread compiled (a WebAssembly.Module crosses threads whole). */
export function useFfmpegWasmModule(module: WasmModule): void {
  compiled ??= Promise.resolve(module);
}

/** The worker script: plain JavaScript under wasm/, the same path from src/ (tests) and dist/. */
const WORKER = fileURLToPath(new URL('../../../wasm/ffmpeg/worker.cjs', import.meta.url));

/** What one run is given. */
export interface FfmpegWasmRunInit {
  /** ffmpeg's arguments: it reads `/in` and writes `/out` (and `/out1` ... when `outputs` > 1). */
  args: readonly string[];
  /** The input ring's size: how much input may wait for ffmpeg. */
  ringBytes: number;
  /** Each output's bytes as they are written, with the output's index. */
  onOutput: (bytes: Uint8Array, to: number) => void;
  /** A failure (the worker, a write after ffmpeg exited); possibly called more than once. */
  onError: (err: unknown) => void;
  /** How many output devices; 1 by default. */
  outputs?: number;
  /** The code a failure is reported with: ENCODER_FAILED by default, SOURCE_FAILED for decoders. */
  errorCode?: AvpipeErrorCode;
}

/** A started worker: its ring, control words and exit. */
interface Started {
  worker: Worker;
  ring: Uint8Array;
  ctl: Int32Array;
  done: Promise<{ code: number; log: string[] }>;
}

/**
 * One streamed ffmpeg.wasm run in a worker thread: bytes queued with {@link write} go, in order,
 * through a SharedArrayBuffer ring to ffmpeg's input (waiting while the ring is full), and its output
 * comes back through `onOutput` as it is written. Failures (the worker, a write after ffmpeg exited)
 * go to `onError`, possibly more than once. {@link finish} closes the input once everything queued is
 * in, and waits for ffmpeg's exit.
 */
export class FfmpegWasmRun {
  private readonly _started: Promise<Started>;
  private readonly _onError: (err: unknown) => void;
  private readonly _code: AvpipeErrorCode;
  private _queue: Promise<void> = Promise.resolve();
  private _pending = 0;
  private _exited = false;

  /** Starts `ffmpeg args...` (the module is compiled on first use). */
  constructor(init: FfmpegWasmRunInit) {
    this._onError = init.onError;
    this._code = init.errorCode ?? 'ENCODER_FAILED';
    this._started = ffmpegWasmModule().then((module) => this._spawn(module, init));
    this._started.catch(init.onError);
  }

  /** Writes queued and not yet taken by the ring. */
  get pending(): number {
    return this._pending;
  }

  /** Queues `parts` for ffmpeg's input; `taken` is called once they are in the ring (or failed). */
  write(parts: readonly Uint8Array[], taken?: () => void): void {
    this._pending++;
    this._queue = this._queue
      .then(async () => this._copy(await this._started, parts))
      .finally(() => {
        this._pending--;
        taken?.();
      });
    this._queue.catch(this._onError);
  }

  /** Closes the input once everything queued is in; an exit other than 0 is `what`'s failure. */
  async finish(what: string): Promise<void> {
    await this._queue.catch(() => undefined);
    const { ctl, done } = await this._started;
    Atomics.store(ctl, 2, 1);
    Atomics.notify(ctl, 0);
    const { code, log } = await done;
    if (code !== 0) throw new AvpipeError(this._code, `ffmpeg.wasm (${what}) exited with ${code}: ${log.slice(-3).join(' | ')}`);
  }

  /** Stops the run at once. Idempotent. */
  kill(): void {
    this._exited = true;
    void this._started.then((s) => s.worker.terminate()).catch(() => undefined);
  }

  private _spawn(module: WasmModule, { args, ringBytes, onOutput, outputs = 1 }: FfmpegWasmRunInit): Started {
    const ringBuffer = new SharedArrayBuffer(ringBytes);
    const ctlBuffer = new SharedArrayBuffer(12);
    const worker = new Worker(WORKER, { workerData: { module, factory: corePaths().factory, args: [...args], ring: ringBuffer, ctl: ctlBuffer, outputs } });
    if (this._exited) void worker.terminate();
    const done = new Promise<{ code: number; log: string[] }>((resolve, reject) => {
      worker.on('message', (m: { out?: Uint8Array; to?: number; done?: number; log?: string[] }) => {
        if (m.out !== undefined) onOutput(m.out, m.to ?? 0);
        if (m.done !== undefined) {
          this._exited = true;
          resolve({ code: m.done, log: m.log ?? [] });
          void worker.terminate();
        }
      });
      worker.on('error', (err) => {
        this._exited = true;
        reject(new AvpipeError(this._code, `ffmpeg.wasm failed: ${err.message}`, { cause: err }));
      });
    });
    done.catch(this._onError);
    return { worker, ring: new Uint8Array(ringBuffer), ctl: new Int32Array(ctlBuffer), done };
  }

  /** Copies `parts` into the ring, waiting while it is full. */
  private async _copy({ ring, ctl }: Started, parts: readonly Uint8Array[]): Promise<void> {
    const size = ring.length;
    for (const part of parts) {
      let off = 0;
      while (off < part.length) {
        if (this._exited) throw new AvpipeError(this._code, 'ffmpeg.wasm exited before taking all its input');
        const written = Atomics.load(ctl, 0);
        const read = Atomics.load(ctl, 1);
        const space = size - (written - read);
        if (space === 0) {
          const wait = waitAsync(ctl, 1, read, 200);
          if (wait.async) await wait.value;
          continue;
        }
        const n = Math.min(space, part.length - off);
        for (let k = 0; k < n;) {
          const at = (written + k) % size;
          const run = Math.min(n - k, size - at);
          ring.set(part.subarray(off + k, off + k + run), at);
          k += run;
        }
        Atomics.store(ctl, 0, written + n);
        Atomics.notify(ctl, 0);
        off += n;
      }
    }
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
