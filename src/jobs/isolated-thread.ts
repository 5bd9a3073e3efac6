import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import { threadExecArgv, workerScript } from '../worker-script.js';

/** What an isolated thread's host process is told, and tells back. @internal */
export type ToThreadHost =
  | { type: 'start'; script: string; workerData: unknown; resourceLimits?: ResourceLimits; execArgv: string[] }
  | { type: 'message'; message: unknown };
/** @internal */
export type FromThreadHost = { type: 'message'; message: unknown } | { type: 'error'; name: string; message: string } | { type: 'exit'; code: number };

/** A host process started ahead, waiting for its thread: a job then starts without a process's boot (about 110 ms here). */
let spare: ChildProcess | undefined;
/** How many holders want a spare kept (job workers, while they run). */
let spareHolders = 0;

function forkHost(): ChildProcess {
  const host = fileURLToPath(workerScript(new URL('./isolated-thread-host.js', import.meta.url)));
  return fork(host, [], { serialization: 'advanced', execArgv: threadExecArgv(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function forkSpare(): void {
  if (spareHolders === 0 || spare !== undefined) return;
  const host = forkHost();
  // Waiting, it holds neither the event loop nor a failure of its own: taken, it gets both.
  host.on('error', () => {});
  host.unref();
  host.channel?.unref();
  spare = host;
}

/** The spare when it is alive (and another started behind it), else a new host. */
function takeHost(): ChildProcess {
  const s = spare;
  spare = undefined;
  const alive = s !== undefined && s.pid !== undefined && s.connected && s.exitCode === null && s.signalCode === null;
  if (s !== undefined && !alive) s.kill('SIGKILL');
  const host = alive ? s : forkHost();
  host.ref();
  host.channel?.ref();
  setImmediate(forkSpare);
  return host;
}

/**
 * Keeps one host process started ahead while held (a job worker holds it while it runs): the next
 * job's start skips the boot. The returned function lets go (the spare ends with the last holder).
 * @internal
 */
export function holdSpareHost(): () => void {
  spareHolders++;
  forkSpare();
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    if (--spareHolders > 0 || spare === undefined) return;
    spare.kill('SIGKILL');
    spare = undefined;
  };
}

/** The events of an isolated thread: a worker thread's own. */
export interface IsolatedThreadEvents {
  message: [unknown];
  error: [Error];
  exit: [number];
}

/**
 * A worker thread in a process of its own (./isolated-thread-host.js), with a worker thread's
 * interface (`postMessage`, `terminate`, `message`/`error`/`exit`). A job runs here rather than in a
 * thread of the worker's process, as egress runs each request in a handler process: a codec that
 * crashes or runs out of memory ends the job, not the worker and every job on it; a hung native
 * call can be killed; and what the job's allocations grew is given back to the system when it ends
 * (a worker thread's malloc arenas stay with the process: an idle worker held 170-210 MiB after a
 * few 720p jobs). Messages are structured clones, as a thread's are (transfers are copies).
 * @internal
 */
export class IsolatedThread extends EventEmitter<IsolatedThreadEvents> {
  private readonly _child: ChildProcess;
  private _exited = false;
  private _terminated = false;
  private readonly _ended: Promise<void>;

  constructor(script: URL, options: { workerData: unknown; resourceLimits?: ResourceLimits }) {
    super();
    this._child = takeHost();
    this._child.on('message', (m: FromThreadHost) => {
      if (m.type === 'message') this.emit('message', m.message);
      else if (m.type === 'error') this.emit('error', Object.assign(new Error(m.message), { name: m.name }));
      else this._exit(m.code);
    });
    this._child.on('error', (err) => this.emit('error', err));
    // 'close' comes after the IPC channel is read to its end: a host that sent its exit has been heard.
    this._ended = new Promise((resolve) => {
      this._child.on('close', (code, signal) => {
        if (!this._exited && !this._terminated && signal !== null) this.emit('error', new Error(`its process was ended by ${signal}`));
        this._exit(code ?? 1);
        resolve();
      });
    });
    const start: ToThreadHost = { type: 'start', script: workerScript(script).href, workerData: options.workerData, execArgv: threadExecArgv(), ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }) };
    this._child.send(start);
  }

  /** The process's id (for an operator, and for tests that end it as a crash would). */
  get pid(): number | undefined {
    return this._child.pid;
  }

  postMessage(message: unknown): void {
    if (this._child.connected) this._child.send({ type: 'message', message } satisfies ToThreadHost);
  }

  /** Ends the process at once (SIGKILL: nothing of the job's outlives this call's promise); `exit` follows, as a thread's does, with no `error`. */
  async terminate(): Promise<void> {
    this._terminated = true;
    if (this._child.exitCode === null && this._child.signalCode === null) this._child.kill('SIGKILL');
    await this._ended;
  }

  private _exit(code: number): void {
    if (this._exited) return;
    this._exited = true;
    this.emit('exit', code);
  }
}
