import { EventEmitter } from 'node:events';
import type { PipelineConfigInit } from '../config/config-init.js';
import { AvpipeError, type AvpipeErrorCode } from '../errors.js';
import type { PipelineProgress, PipelineResult } from '../pipeline/status.js';
import type { DistributedContext } from './chunk-jobs.js';
import { JobProcess } from './job-process.js';

/** What a job's process starts with. @internal */
export interface JobThreadData {
  init: PipelineConfigInit;
  progressIntervalMs: number;
  /** A distributed export: where its chunk jobs go, and how many. */
  distributed?: DistributedContext & { chunks: number | 'auto' };
}
/** Messages to a job's process. @internal */
export type ToJobThread = { type: 'stop' } | { type: 'abort' };
/** Messages from it. @internal */
export type FromJobThread =
  | { type: 'progress'; progress: PipelineProgress }
  | { type: 'result'; result: PipelineResult }
  | { type: 'error'; code: AvpipeErrorCode; message: string };

/** How long an aborted run has to end before its process is killed. */
const ABORT_GRACE_MS = 15_000;

/** Events of a job's run. */
export interface JobRunEvents {
  progress: [PipelineProgress];
}

/**
 * A job's run in a process of its own (./job-main.js in a JobProcess): its progress as events, its
 * result as a promise that rejects with the run's typed error, or JOB_FAILED when its process died
 * (out of memory, a crash of a codec).
 */
export class JobRun extends EventEmitter<JobRunEvents> {
  readonly done: Promise<PipelineResult>;
  private readonly _thread: JobProcess;
  private _killer: NodeJS.Timeout | undefined;

  constructor(init: PipelineConfigInit, progressIntervalMs: number, distributed?: JobThreadData['distributed']) {
    super();
    const data: JobThreadData = { init, progressIntervalMs, ...(distributed === undefined ? {} : { distributed }) };
    this._thread = new JobProcess({ module: new URL('./job-main.js', import.meta.url), name: 'runJob' }, data);
    this.done = new Promise<PipelineResult>((resolve, reject) => {
      this._thread.on('message', (message) => {
        const m = message as FromJobThread;
        if (m.type === 'progress') this.emit('progress', m.progress);
        else if (m.type === 'result') resolve(m.result);
        else reject(new AvpipeError(m.code, m.message));
      });
      this._thread.on('error', (err) => reject(new AvpipeError('JOB_FAILED', `the job's process died: ${err.message}`)));
      this._thread.on('exit', (code) => reject(new AvpipeError('JOB_FAILED', `the job's process exited (code ${code}) before its run ended`)));
    });
    // Once settled, the thread has nothing more to do: ended, whatever handles its libraries left open.
    const end = (): void => void this._thread.terminate();
    this.done.then(end, end);
  }

  /** The process the run is in. */
  get pid(): number | undefined {
    return this._thread.pid;
  }

  /** Stops the run as Ctrl-C would: what was made is finalized, and `done` resolves with it. */
  stop(): void {
    this._thread.postMessage({ type: 'stop' } satisfies ToJobThread);
  }

  /**
   * Ends the run at once (ABORTED): what was muxed is still finalized. A run that has not ended
   * ABORT_GRACE_MS later (a native call that never returns) has its process killed: `done` then
   * rejects with JOB_FAILED.
   */
  abort(): void {
    this._thread.postMessage({ type: 'abort' } satisfies ToJobThread);
    if (this._killer !== undefined) return;
    this._killer = setTimeout(() => void this._thread.terminate(), ABORT_GRACE_MS);
    this._killer.unref();
    const clear = (): void => clearTimeout(this._killer);
    this.done.then(clear, clear);
  }
}
