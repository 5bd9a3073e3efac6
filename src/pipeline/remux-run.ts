import type { DecoderStats } from '../codecs/decoder-node.js';
import type { EncoderStats } from '../codecs/encoder-node.js';
import type { PipelineConfig } from '../config/pipeline-config.js';
import { AvpipeError, toAvpipeError } from '../errors.js';
import { RemuxDeclined } from '../muxers/mp4-remux.js';
import type { QueueStats } from '../queues/bounded-queue.js';
import type { TeePortStats } from '../queues/tee.js';
import type { FileDone } from '../sinks/output-node.js';
import { RemuxOutput } from '../sinks/remux-output.js';
import type { Microseconds } from '../time.js';
import type { ChunkResult } from './chunk-pool.js';
import type { OutputResult } from './outputs.js';
import type { PauseRecord } from './pause-cuts.js';
import type { PipelineRun, TrackResult } from './pipeline-run.js';
import type { PipelinePlan, RemuxPlan } from './plan.js';

/**
 * A run that is a remux ({@link RemuxPlan}): one {@link RemuxOutput} copying the input's media in
 * blocks, no stream nodes, no codecs. The source was only asked for its tracks: their packets are
 * never read. `stop()` lets the copy finish (it runs at disk speed); an abort removes what it wrote.
 * @internal
 */
export class RemuxRun implements PipelineRun {
  readonly plan: PipelinePlan;
  private readonly _output: RemuxOutput;
  private readonly _abort = new AbortController();
  private _error: AvpipeError | undefined;

  private constructor(plan: PipelinePlan, output: RemuxOutput) {
    this.plan = plan;
    this._output = output;
  }

  /**
   * The remux of a plan that allows one, or why it cannot be made once the input is read (a
   * fragmented, truncated or QuickTime file, timestamp jumps): the run is then a graph.
   */
  static async open(config: PipelineConfig, plan: PipelinePlan, remux: RemuxPlan, onFile?: FileDone): Promise<RemuxRun | { declined: string }> {
    const spec = config.outputs[0];
    if (spec?.kind !== 'file') return { declined: 'not one file output' };
    try {
      return new RemuxRun(plan, await RemuxOutput.plan(spec, remux.input, remux.tracks, config.limits.maxGapUs, onFile));
    } catch (err) {
      if (err instanceof RemuxDeclined) return { declined: err.message };
      throw err;
    }
  }

  get error(): AvpipeError | undefined {
    return this._error;
  }

  get limitReached(): boolean {
    return false;
  }

  async open(): Promise<void> {}

  async run(): Promise<void> {
    try {
      await this._output.copy(this._abort.signal);
    } catch (err) {
      this.fail(this._abort.signal.aborted ? this._abort.signal.reason as AvpipeError : toAvpipeError('SINK_FAILED', `copying into ${this._output.name} failed`, err));
      throw this._error;
    }
  }

  /** A remux is not stopped half-way: it finishes (at disk speed). */
  ending(): void {}

  fail(error: AvpipeError): void {
    this._error ??= error;
    if (!this._abort.signal.aborted) this._abort.abort(this._error);
  }

  /** Renames the complete copy onto its path; a copy that did not complete is removed. */
  async finalize(): Promise<void> {
    if (this._error !== undefined) {
      await this._output.discard();
      return;
    }
    try {
      await this._output.finalize();
    } catch (err) {
      await this._output.discard();
      throw err;
    }
  }

  async discard(): Promise<void> {
    await this._output.discard();
  }

  addOutput(): Promise<void> {
    return Promise.reject(new AvpipeError('CONFIG_INVALID', 'outputs cannot be added to a non-live pipeline'));
  }

  removeOutput(): Promise<OutputResult> {
    return Promise.reject(new AvpipeError('INVALID_STATE', 'the output of a remux cannot be removed while it is copied'));
  }

  setMuted(): void {}

  /** A remux is never live: nothing to pause. */
  pause(): boolean {
    return false;
  }

  resume(): boolean {
    return false;
  }

  get paused(): boolean {
    return false;
  }

  pauses(): PauseRecord[] {
    return [];
  }

  onOutputsGone(): void {}

  queueStats(): (QueueStats | TeePortStats)[] {
    return [];
  }

  itemsIn(kind: 'video' | 'audio'): number {
    return this._output.samples(kind);
  }

  encoderStats(): EncoderStats[] {
    return [];
  }

  decoderStats(): DecoderStats[] {
    return [];
  }

  trackModes(): TrackResult[] {
    return this.plan.branches.flatMap((b) => b.tracks.map((t) => ({ id: t.id, kind: b.kind, mode: b.mode, reasons: b.reasons })));
  }

  mediaTime(): Microseconds {
    return this._output.mediaTime();
  }

  bytes(): number {
    return this._output.bytes;
  }

  outputResults(): OutputResult[] {
    return [this._output.result()];
  }

  chunks(): ChunkResult[] {
    return [];
  }
}
