/**
 * Jobs run one per event-loop turn, in order: a native codec's synchronous calls never overlap, and
 * the rest of the pipeline (sources, other codecs, the muxer) runs between two of them.
 * @internal
 */
export class TurnQueue<J> {
  private readonly _jobs: J[] = [];
  private _scheduled = false;
  private readonly _run: (job: J) => void;

  constructor(run: (job: J) => void) {
    this._run = run;
  }

  /** Jobs not yet run. */
  get length(): number {
    return this._jobs.length;
  }

  push(job: J): void {
    this._jobs.push(job);
    this._schedule();
  }

  /** Removes and returns every job not yet run (on close). */
  clear(): J[] {
    return this._jobs.splice(0);
  }

  private _schedule(): void {
    if (this._scheduled) return;
    this._scheduled = true;
    setImmediate(() => {
      this._scheduled = false;
      const job = this._jobs.shift();
      if (job === undefined) return;
      this._run(job);
      if (this._jobs.length > 0) this._schedule();
    });
  }
}
