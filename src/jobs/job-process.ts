import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { threadExecArgv, workerScript } from '../worker-script.js';

/** A job process's entry: a module and the function of it that serves `(data, port)`. @internal */
export interface JobEntry {
  module: URL;
  name: string;
}
/** Messages to a job process's host. @internal */
export type ToJobHost = { type: 'start'; module: string; name: string; data: unknown } | { type: 'message'; message: unknown };
/** Messages from it. @internal */
export type FromJobHost = { type: 'message'; message: unknown } | { type: 'error'; name: string; message: string };

/** The modules every job process loads while it waits: a job's run, a chunk's work. */
const ENTRIES = [new URL('./job-main.js', import.meta.url), new URL('../pipeline/chunk-work.js', import.meta.url)];

/** A host process started ahead, its modules loaded, waiting for its job. */
let spare: ChildProcess | undefined;
/** How many holders want a spare kept (job workers, while they run). */
let spareHolders = 0;
/** A spare goes after this long without a job taking one: an idle worker holds only itself. */
const SPARE_IDLE_MS = 30_000;
let idle: NodeJS.Timeout | undefined;

function dropSpare(): void {
  clearTimeout(idle);
  spare?.kill('SIGKILL');
  spare = undefined;
}

/** A job started (or a holder came): a spare is kept for the next one, until SPARE_IDLE_MS pass without one. */
function keepSpare(): void {
  clearTimeout(idle);
  idle = setTimeout(dropSpare, SPARE_IDLE_MS);
  idle.unref();
  setImmediate(forkSpare);
}

function forkHost(): ChildProcess {
  const host = fileURLToPath(workerScript(new URL('./job-process-host.js', import.meta.url)));
  return fork(host, ENTRIES.map((e) => workerScript(e).href), { serialization: 'advanced', execArgv: threadExecArgv(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function forkSpare(): void {
  if (spareHolders === 0 || spare !== undefined) return;
  const host = forkHost();
  // Waiting, it holds neither the event loop nor a failure of its own: taken, it gets both.
  host.on('error', () => {});
  host.once('exit', () => {
    if (spare === host) spare = undefined;
  });
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
  keepSpare();
  return host;
}

/**
 * Keeps one job process started ahead while held (a job worker holds it while it runs) and jobs
 * come: the next job skips the process's boot and the loading of its modules (about 200 ms here).
 * After 30 s without a job the spare goes (an idle worker gives its memory back) and the next job
 * starts cold. The returned function lets go (the spare ends with the last holder).
 * @internal
 */
export function holdSpareHost(): () => void {
  spareHolders++;
  keepSpare();
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    if (--spareHolders === 0) dropSpare();
  };
}

/** A job process's events: a worker thread's. */
export interface JobProcessEvents {
  message: [unknown];
  error: [Error];
  exit: [number];
}

/**
 * A job's run (or a chunk's work) in a process of its own (./job-process-host.js), with a worker
 * thread's interface (`postMessage`, `terminate`, `message`/`error`/`exit`). A job runs here rather
 * than in a thread of the worker's process, as egress runs each request in a handler process: a
 * codec that crashes or runs out of memory ends the job, not the worker and every job on it; a hung
 * native call can be killed; and what the job's allocations grew goes back to the system when it
 * ends (in threads, glibc kept it: an idle worker held 170-210 MiB after a few 720p jobs). Messages
 * are structured clones, as a thread's are (a transfer is a copy).
 * @internal
 */
export class JobProcess extends EventEmitter<JobProcessEvents> {
  private readonly _child: ChildProcess;
  private _exited = false;
  private _terminated = false;
  private readonly _ended: Promise<void>;

  constructor(entry: JobEntry, data: unknown) {
    super();
    this._child = takeHost();
    this._child.on('message', (m: FromJobHost) => {
      if (m.type === 'message') this.emit('message', m.message);
      else this.emit('error', Object.assign(new Error(m.message), { name: m.name }));
    });
    this._child.on('error', (err) => this.emit('error', err));
    // 'close' comes once the IPC channel is read to its end: every message the process sent is heard.
    this._ended = new Promise((resolve) => {
      this._child.on('close', (code, signal) => {
        if (!this._terminated && signal !== null) this.emit('error', new Error(`its process was ended by ${signal}`));
        this._exit(code ?? 1);
        // The idle time of the spare counts from a job's end: a long job does not lose it.
        if (spareHolders > 0) keepSpare();
        resolve();
      });
    });
    this._child.send({ type: 'start', module: workerScript(entry.module).href, name: entry.name, data } satisfies ToJobHost);
  }

  /** The process's id (for an operator, and for tests that end it as a crash would). */
  get pid(): number | undefined {
    return this._child.pid;
  }

  postMessage(message: unknown): void {
    if (this._child.connected) this._child.send({ type: 'message', message } satisfies ToJobHost);
  }

  /** Ends the process at once (SIGKILL: nothing of the job's outlives this call's promise); `exit` follows, with no `error`. */
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
