import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { PipelineConfigInit } from '../config/config-init.js';
import { AvpipeError } from '../errors.js';
import { isStorage } from '../storage/storage-spec.js';
import type { PipelineResult } from '../pipeline/status.js';
import type { Host, OnSessionEnd } from './host.js';
import type { SessionStats } from './session-host.js';
import type { FromWorker, HostCall, HostCallValues, ToWorker, WorkerData } from './worker-protocol.js';

/** A call posted and not yet answered: any op's value settles it. */
interface Pending {
  resolve: (value: HostCallValues[HostCall['op']]) => void;
  reject: (err: Error) => void;
}

/** Sessions in a worker thread (./whip-worker.js), driven by the messages of ./worker-protocol.ts. */
export class WorkerHost implements Host {
  load = 0;
  private readonly _worker: Worker;
  private _req = 0;
  private readonly _pending = new Map<number, Pending>();
  private readonly _ends = new Map<string, OnSessionEnd>();
  private _stats = new Map<string, SessionStats>();
  /** Why the worker is gone (an uncaught error, out of memory, terminated), once it is. */
  private _dead: AvpipeError | undefined;

  constructor(options: WorkerData) {
    this._worker = new Worker(workerScript(), { workerData: options });
    this._worker.unref();
    this._worker.on('message', (m: FromWorker) => {
      switch (m.type) {
        case 'reply':
          this._settled(m.req)?.resolve(m.value);
          break;
        case 'error':
          this._settled(m.req)?.reject(new AvpipeError(m.error.code, m.error.message));
          break;
        case 'end':
          this._stats.delete(m.id);
          this._ends.get(m.id)?.(m.result, m.stats);
          this._ends.delete(m.id);
          break;
        case 'stats':
          this._stats = new Map(m.sessions.map((x) => [x.id, { status: x.status, source: x.source }]));
          break;
      }
    });
    this._worker.on('error', (err) => this._died(err.message));
    this._worker.on('exit', (code) => this._died(`it exited with code ${code}`));
  }
  async open(id: string, name: string, init: PipelineConfigInit, offer: string, onEnd: OnSessionEnd): Promise<string> {
    const st = init.storage;
    if (st !== undefined && (isStorage(st.storage) || (st.backup !== undefined && isStorage(st.backup)))) {
      throw new AvpipeError('CONFIG_INVALID', 'a Storage object cannot be sent to a worker thread: name it as data ({ type: "local", dir } or { type: "s3", bucket }), or run the WHIP server with workers: 0');
    }
    this._ends.set(id, onEnd);
    try {
      return await this._call({ op: 'open', id, name, init, offer });
    } catch (err) {
      this._ends.delete(id);
      throw err;
    }
  }
  waiting(id: string): Promise<boolean> {
    return this._call({ op: 'waiting', id });
  }
  resume(id: string, offer: string): Promise<string> {
    return this._call({ op: 'resume', id, offer });
  }
  async candidate(id: string, candidate: string, mid: string | undefined): Promise<void> {
    await this._call({ op: 'candidate', id, candidate, mid });
  }
  hangUp(id: string): void {
    void this._call({ op: 'hangUp', id }).catch(() => undefined);
  }
  setPaused(id: string, paused: boolean): Promise<boolean> {
    return this._call({ op: 'setPaused', id, paused });
  }
  stopAll(abort = false): void {
    void this._call({ op: 'stopAll', abort }).catch(() => undefined);
  }
  stats(id: string): SessionStats | undefined {
    return this._stats.get(id);
  }
  async close(): Promise<void> {
    await this._worker.terminate();
  }

  /** Posts `call`; resolves with its reply's value. */
  private _call<C extends HostCall>(call: C): Promise<HostCallValues[C['op']]> {
    if (this._dead !== undefined) return Promise.reject(this._dead);
    const req = ++this._req;
    return new Promise((resolve, reject) => {
      // The worker answers a call with its own op's value (whip-worker.ts), so this narrowing holds.
      this._pending.set(req, { resolve: (v) => resolve(v as HostCallValues[C['op']]), reject });
      const message: ToWorker = { ...call, req };
      this._worker.postMessage(message);
    });
  }

  /**
   * The worker is gone: every call waiting on it fails, and every session it held ends FAILED with
   * its last counters, so nothing (a server's close, a publisher's DELETE) waits on it forever. Its
   * live files were written crash-safe and can be repaired (`avpipe repair`). Idempotent.
   */
  private _died(why: string): void {
    if (this._dead !== undefined) return;
    this._dead = new AvpipeError('SOURCE_FAILED', `a WHIP worker thread ended while it held sessions: ${why}`);
    // No new session is placed here.
    this.load = Infinity;
    for (const p of this._pending.values()) p.reject(this._dead);
    this._pending.clear();
    const ends = [...this._ends];
    this._ends.clear();
    for (const [id, onEnd] of ends) {
      const last = this._stats.get(id);
      this._stats.delete(id);
      onEnd(failedResult(this._dead), last?.source ?? { kind: 'webrtc', name: id, sessions: 0, leftBecause: null, tracks: [], candidates: { offered: 0, trickled: 0, ignored: 0 } });
    }
  }

  /** The pending call `req`, taken out now that it is answered. */
  private _settled(req: number): Pending | undefined {
    const p = this._pending.get(req);
    this._pending.delete(req);
    return p;
  }
}

/** The result of a session whose worker died: nothing is known of its outputs but that it failed. */
function failedResult(error: AvpipeError): PipelineResult {
  const now = Date.now();
  return {
    status: 'FAILED', error: { code: error.code, message: error.message, fatal: true }, live: true, codecProvider: null, durationMs: 0, wallMs: 0, speed: 0,
    startedAt: null, endedAt: now, outputs: [], queues: [], tracks: [], remux: null, chunks: [], encoders: [], decoders: [], uploads: null, warnings: [], pauses: [],
  };
}

/** The worker script: beside this module when built; from dist/ when this module runs from src/ (tests). */
function workerScript(): URL {
  const here = new URL('./whip-worker.js', import.meta.url);
  return existsSync(fileURLToPath(here)) ? here : new URL('../../dist/server/whip-worker.js', import.meta.url);
}
