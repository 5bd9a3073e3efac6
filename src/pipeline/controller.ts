import { EventEmitter } from 'node:events';
import { availableParallelism, freemem } from 'node:os';
import type { CodecProvider } from '../codecs/codec-provider.js';
import { loadCodecProvider } from '../codecs/load-codec-provider.js';
import type { PipelineConfig } from '../config/pipeline-config.js';
import { AvpipeError, ConfigError, toAvpipeError } from '../errors.js';
import type { Source } from '../sources/source.js';
import type { TrackInfo } from '../sources/track-info.js';
import { FileSource } from '../sources/file-source.js';
import { spanInputs } from '../sources/session-span.js';
import { TestSource } from '../sources/test-source.js';
import { Uploader } from '../storage/uploader.js';
import type { ChunkRunnerFactory } from './chunk-runner.js';
import type { PipelineRun } from './pipeline-run.js';
import { planPipeline, type PipelinePlan, type PlanHost } from './plan.js';
import { RemuxRun } from './remux-run.js';
import { resolveOutput, type StreamOutputInit } from '../config/outputs.js';
import { streamUrlProblem } from '../config/validate.js';
import type { OutputResult } from './outputs.js';
import { FINAL_STATUSES, type PipelineProgress, type PipelineResult, type PipelineStatus } from './status.js';

/** Options of a controller beside its config. */
export interface ControllerOptions {
  /** A codec provider object; when absent, the one `config.codecProvider` chooses. */
  codecProvider?: CodecProvider;
  /** Aborting it aborts the run. */
  signal?: AbortSignal;
  /** Progress events every this many wall ms (default 250). */
  progressIntervalMs?: number;
  /**
   * A distributed export (the jobs layer sets it): the video split into `chunks` (or one per 15 s),
   * each encoded by `runner` (chunk jobs on a fleet) instead of this machine's worker threads.
   * @internal
   */
  split?: { runner: ChunkRunnerFactory; chunks: number | 'auto' };
}

/** Events a controller emits. */
export interface ControllerEvents {
  /** Each new status, the final one included. */
  status: [PipelineStatus];
  /** Every `progressIntervalMs` from ACTIVE on, and once more as the run finishes. */
  progress: [PipelineProgress];
  /** Paused (true) or resumed (false). */
  pause: [boolean];
}

/**
 * Runs one pipeline: builds the graph around a source, drives it through its statuses and returns a
 * result. `start()` runs the whole thing and resolves with the result; `stop()` ends it gracefully
 * (end of stream through every branch, a playable file); `abort()` ends it at once.
 */
export class Controller extends EventEmitter<ControllerEvents> {
  /** The config this controller runs. */
  readonly config: PipelineConfig;
  /** Where the media comes from: the one the config names, or the one given to {@link createControllerWithSource}. */
  readonly source: Source;
  private readonly _options: ControllerOptions;
  private _status: PipelineStatus | 'IDLE' = 'IDLE';
  private _graph: PipelineRun | undefined;
  /** How a remux went: null when the run was not one. */
  private _remux: { used: boolean; reason: string | null } | null = null;
  private _provider: CodecProvider | undefined;
  private _run: Promise<PipelineResult> | undefined;
  private _result: PipelineResult | undefined;
  private _stopRequested = false;
  private _abortRequested = false;
  private _activeAt: number | undefined;
  private _timer: NodeJS.Timeout | undefined;
  private readonly _uploader: Uploader | undefined;
  private _resolveFinished!: (r: PipelineResult) => void;
  /** Resolves with the result when the run is over, however it ended. */
  readonly finished: Promise<PipelineResult>;

  /** Use {@link createController} or {@link createControllerWithSource}. */
  constructor(config: PipelineConfig, source: Source, options: ControllerOptions = {}) {
    super();
    // The one place the rule lives: a source that cannot go faster than 1x needs a live pipeline.
    if (source.alwaysLive === true && config.isReplay()) {
      throw new ConfigError([{ field: 'live', message: `${source.name} is a live source (its media comes at 1x, whatever the pipeline asks): the pipeline must be live` }]);
    }
    this.config = config;
    this.source = source;
    this._options = options;
    this._uploader = config.storage === undefined ? undefined : new Uploader(config.storage);
    this.finished = new Promise((resolve) => (this._resolveFinished = resolve));
    const signal = options.signal;
    if (signal !== undefined) {
      if (signal.aborted) this._abortRequested = true;
      else signal.addEventListener('abort', () => this.abort(), { once: true });
    }
  }

  /** The current status; `IDLE` before start(). */
  get status(): PipelineStatus | 'IDLE' {
    return this._status;
  }

  /** Runs the pipeline to its end and resolves with the result. Calling it again returns the same run. */
  start(): Promise<PipelineResult> {
    this._run ??= this._execute();
    return this._run;
  }

  /**
   * Ends the run gracefully: the source sends end of stream, every branch drains, encoders flush and
   * the muxer finalizes. Before the pipeline is active, this ends it as ABORTED. Idempotent.
   */
  stop(): Promise<PipelineResult> {
    this._stopRequested = true;
    if (this._status === 'IDLE') return this._finishEarly();
    // A live source may wait in prepare() (a WebRTC source for its publisher): wake it.
    if (this._status === 'STARTING') this.source.stop();
    if (this._status === 'ACTIVE') {
      this._setStatus('ENDING');
      this.source.stop();
      this._graph?.ending();
    }
    return this.finished;
  }

  /** Ends the run at once. Data already muxed is still finalized into a playable file. Idempotent. */
  abort(): Promise<PipelineResult> {
    this._abortRequested = true;
    if (this._status === 'IDLE') return this._finishEarly();
    this.source.stop();
    this._graph?.fail(new AvpipeError('ABORTED', 'the run was aborted'));
    return this.finished;
  }

  /**
   * Adds a stream output (rtmp://, rtmps://, ws://, wss://) to the running live pipeline, egress's
   * UpdateStream: it joins at the next keyframe. Several stream URLs may run at once this way.
   */
  async addOutput(init: StreamOutputInit): Promise<void> {
    if (this.config.isReplay()) throw new AvpipeError('CONFIG_INVALID', 'stream outputs cannot be added to a non-live pipeline: they cannot ingest faster than realtime');
    if (this._status !== 'ACTIVE' || this._graph === undefined) throw new AvpipeError('INVALID_STATE', `outputs can be added while ACTIVE, not ${this._status}`);
    // The same rules as a config's stream outputs; the codecs are checked by the graph against what it encodes.
    const problem = streamUrlProblem(init.url, this._graph.plan.policy.live, this._graph.plan.encoding);
    if (problem !== undefined) throw new ConfigError([{ field: 'url', message: problem }]);
    await this._graph.addOutput(resolveOutput(init));
  }

  /**
   * Removes an output from the running pipeline by its path or URL: what it holds is delivered and it
   * is finalized. Removing the last one ends the run (as stop() does).
   */
  async removeOutput(name: string): Promise<OutputResult> {
    if (this._status !== 'ACTIVE' || this._graph === undefined) throw new AvpipeError('INVALID_STATE', `outputs can be removed while ACTIVE, not ${this._status}`);
    return this._graph.removeOutput(name);
  }

  /**
   * Pauses a live recording: from the next frame on, every track's media is cut out of the outputs
   * until resume(), so they play on from where the pause began, with no frozen frame and no silence;
   * the video after it starts on a keyframe. False when already paused. A non-live run is not paused
   * (its media is not happening now: trim it with `source.start`/`end`).
   */
  pause(): boolean {
    const g = this._pausable('paused');
    const done = g.pause();
    if (done) this.emit('pause', true);
    return done;
  }

  /** Ends a pause: the media from now on follows what came before it. False when not paused. */
  resume(): boolean {
    const g = this._pausable('resumed');
    const done = g.resume();
    if (done) this.emit('pause', false);
    return done;
  }

  /** True between pause() and resume(). */
  get paused(): boolean {
    return this._graph?.paused ?? false;
  }

  private _pausable(what: string): PipelineRun {
    if (!this.config.live) throw new AvpipeError('CONFIG_INVALID', `a non-live run cannot be ${what}: its media is not happening now (trim it with source.start and source.end)`);
    if (this._status !== 'ACTIVE' || this._graph === undefined) throw new AvpipeError('INVALID_STATE', `a run can be ${what} while ACTIVE, not ${this._status}`);
    return this._graph;
  }

  /** Aborts a run still going and waits for it; idempotent. */
  async close(): Promise<void> {
    if (this._result === undefined) await this.abort();
  }

  /** For `await using`: the same as close(). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async _finishEarly(): Promise<PipelineResult> {
    if (this._run === undefined) {
      this._run = this.finished;
      await this.source.close();
      this._finish('ABORTED', null);
    }
    return this.finished;
  }

  /**
   * What the plan takes from this run's provider: the one a split's workers load by name (the run's
   * own when it is one of avpipe's; not loaded yet, the one the config names, `auto` taking native;
   * none for a provider object given to the controller, whatever its name), and whether it has a batch
   * audio encoder (it makes its own worker, so an object's counts).
   */
  private _host(cores: number): PlanHost {
    const given = this._options.codecProvider;
    const name = this._provider?.name ?? this.config.codecProvider;
    return {
      cores,
      workerCodecs: given !== undefined ? null : name === 'wasm' ? 'wasm' : 'native',
      batchAudio: (this._provider ?? given)?.createBatchAudioEncoder !== undefined,
      memoryBytes: memoryForWorkers(),
      ...(this._options.split === undefined ? {} : { fleet: { chunks: this._options.split.chunks } }),
    };
  }

  /**
   * Plans the run. A file split is checked by the source first, reading the track's timing: where it
   * cannot be, `auto` encodes the file whole, and a number fails the run, naming why.
   */
  private async _plan(tracks: readonly TrackInfo[]): Promise<PipelinePlan> {
    const cores = availableParallelism();
    // Worker threads (a split encode, a batch audio encoder) load the run's provider by name: it is
    // loaded first when the plan would use them, and only then (a copy never loads it).
    if (this._provider === undefined && usesWorkers(this.config, tracks, this.source.durationUs, cores)) {
      this._provider = this._options.codecProvider ?? (await loadCodecProvider(this.config.codecProvider));
    }
    const plan = planPipeline(this.config, tracks, this.source.durationUs, this._host(cores));
    const split = plan.branches.find((b) => b.kind === 'video' && b.split !== null);
    const track = split?.tracks[0];
    if (track === undefined || track.kind !== 'video' || track.splittable?.type !== 'file') return plan;
    const problem = this.source.splitProblem === undefined ? 'the source cannot check it' : await this.source.splitProblem(track.id);
    if (problem === null) return plan;
    if (this._options.split !== undefined) throw new AvpipeError('CONFIG_INVALID', `a distributed export cannot split this run: ${problem}`);
    if (this.config.parallel === 'auto') return planPipeline(this.config, tracks, this.source.durationUs, this._host(1));
    throw new AvpipeError('CONFIG_INVALID', `parallel: ${String(this.config.parallel)} cannot split this run: ${problem}`);
  }

  private async _execute(): Promise<PipelineResult> {
    if (this._abortRequested || this._stopRequested) return this._finishEarly();
    this._setStatus('STARTING');
    let graph: PipelineRun | undefined;
    try {
      const tracks = await this.source.prepare(this.config);
      const plan = await this._plan(tracks);
      const onFile = this._uploader === undefined ? undefined : this._uploader.add.bind(this._uploader);
      // An MP4 copied whole into an MP4 is a remux when the input, once read, allows it; else a graph.
      const remux = plan.remux === null ? null : await RemuxRun.open(this.config, plan, plan.remux, onFile);
      if (remux !== null) this._remux = remux instanceof RemuxRun ? { used: true, reason: null } : { used: false, reason: remux.declined };
      // The graph's modules (codecs, converters, queues) are loaded only by runs that build one.
      graph = remux instanceof RemuxRun ? remux : await (await import('./graph.js')).Graph.build({
        config: this.config, source: this.source, tracks, plan,
        ...(onFile === undefined ? {} : { onFile }),
        ...(this._options.split === undefined ? {} : { chunkRunner: this._options.split.runner }),
        provider: async () => (this._provider ??= this._options.codecProvider ?? (await loadCodecProvider(this.config.codecProvider))),
        onLimit: (kind) => {
          if (this._status === 'ACTIVE') this._setStatus('ENDING');
          if (kind === 'size') this.source.stop();
        },
      });
      this._graph = graph;
      graph.onOutputsGone(() => void this.stop());
      const built = graph;
      this.source.onMute?.((kind, muted) => built.setMuted(kind, muted));
      await graph.open();
      // Stopped or aborted before it was active: egress's ABORTED, and no output left behind.
      if (this._abortRequested || this._stopRequested) {
        await graph.discard();
        await this.source.close();
        return this._finish('ABORTED', null);
      }
      const running = graph.run();
      running.catch(() => undefined);
      this.source.start();
      this._activeAt = performance.now();
      this._setStatus('ACTIVE');
      this._startProgress();
      void this.source.ended.then(() => {
        if (this._status === 'ACTIVE') this._setStatus('ENDING');
      });
      let runError: AvpipeError | undefined;
      try {
        await running;
      } catch (err) {
        runError = graph.error ?? toAvpipeError('SOURCE_FAILED', 'pipeline failed', err);
      }
      if (this._status === 'ACTIVE') this._setStatus('ENDING');
      let finalizeError: AvpipeError | undefined;
      try {
        await graph.finalize();
      } catch (err) {
        finalizeError = toAvpipeError('MUXER_FAILED', 'finalizing failed', err);
      }
      await this.source.close();
      // The run is not over until every upload is done (uploaded, or given up with the local copy kept).
      const uploads = await this._uploader?.drain();
      const uploadError = uploads === undefined || uploads.failed.length === 0 ? undefined
        : new AvpipeError('UPLOAD_FAILED', `${uploads.failed.length} of ${uploads.failed.length + uploads.uploaded.length} uploads to ${uploads.storage} failed (local copies kept): ${uploads.failed[0]!.error}`, { fatal: false });
      // A live stream output that gave up is reported, but the run's files are complete: not FAILED.
      const warning = finalizeError?.fatal === false ? finalizeError : uploadError;
      const error = runError ?? (finalizeError?.fatal === false ? undefined : finalizeError);
      // Aborted, mid-run or while ending (a second Ctrl-C during the final drain): what was muxed is finalized.
      if (error?.code === 'ABORTED' || (error === undefined && this._abortRequested)) return this._finish('ABORTED', null);
      if (error !== undefined) return this._finish('FAILED', error);
      return this._finish(graph.limitReached ? 'LIMIT_REACHED' : 'COMPLETE', warning ?? uploadError ?? null);
    } catch (err) {
      const error = err instanceof ConfigError ? err : toAvpipeError('SOURCE_FAILED', 'starting the pipeline failed', err);
      await graph?.discard().catch(() => undefined);
      await this.source.close().catch(() => undefined);
      // Stopped or aborted while starting: egress's ABORTED, whatever the source said on its way out.
      if (this._stopRequested || this._abortRequested) return this._finish('ABORTED', null);
      return this._finish('FAILED', error);
    }
  }

  private _setStatus(status: PipelineStatus): void {
    if (this._status === status || FINAL_STATUSES.includes(this._status as PipelineStatus)) return;
    this._status = status;
    this.emit('status', status);
  }

  private _startProgress(): void {
    const every = this._options.progressIntervalMs ?? 250;
    this._timer = setInterval(() => this.emit('progress', this._progress()), every);
    this._timer.unref();
  }

  private _progress(): PipelineProgress {
    const g = this._graph;
    const mediaUs = g?.mediaTime() ?? 0;
    const wallMs = this._activeAt === undefined ? 0 : performance.now() - this._activeAt;
    const queues = g?.queueStats() ?? [];
    return {
      status: this._status === 'IDLE' ? 'STARTING' : this._status,
      mediaTimeMs: mediaUs / 1000,
      frames: { video: g?.itemsIn('video') ?? 0, audio: g?.itemsIn('audio') ?? 0 },
      speed: wallMs > 0 ? mediaUs / 1000 / wallMs : 0,
      dropped: queues.reduce((n, q) => n + q.dropped, 0),
      bytes: g?.bytes() ?? 0,
      totalMs: this.source.durationUs === undefined ? null : this.source.durationUs / 1000 - (g?.pauses() ?? []).reduce((n, p) => n + p.durationMs, 0),
      paused: g?.paused ?? false,
    };
  }

  private _finish(status: PipelineStatus, error: AvpipeError | null): PipelineResult {
    if (this._result !== undefined) return this._result;
    if (this._timer !== undefined) clearInterval(this._timer);
    const g = this._graph;
    if (g !== undefined && this._activeAt !== undefined) this.emit('progress', this._progress());
    const wallMs = this._activeAt === undefined ? 0 : performance.now() - this._activeAt;
    const outputs = g?.outputResults() ?? [];
    // The run's media duration: the longest output's (all share one timeline).
    const durationMs = outputs.reduce((d, o) => Math.max(d, o.durationMs), 0);
    this._status = status;
    this.emit('status', status);
    const json = error?.toJSON();
    this._result = {
      status,
      error: json === undefined ? null : { code: json.code, message: json.message, fatal: json.fatal, ...(json.cause === undefined ? {} : { cause: json.cause }) },
      live: this.config.live,
      codecProvider: this._provider?.name ?? null,
      durationMs,
      wallMs: Math.round(wallMs),
      speed: wallMs > 0 ? durationMs / wallMs : 0,
      startedAt: this.source.startedAt ?? null,
      endedAt: this.source.endedAt ?? (this.source.startedAt === undefined ? null : Date.now()),
      outputs,
      queues: g?.queueStats() ?? [],
      tracks: g?.trackModes() ?? [],
      remux: this._remux,
      chunks: g?.chunks() ?? [],
      encoders: g?.encoderStats() ?? [],
      decoders: g?.decoderStats() ?? [],
      uploads: this._uploader?.toJSON() ?? null,
      warnings: [...(this.source.warnings?.() ?? [])],
      pauses: g?.pauses() ?? [],
    };
    this._resolveFinished(this._result);
    return this._result;
  }
}

/**
 * A controller over a pre-built source (egress's NewWithSource): the source is made outside the
 * pipeline, e.g. a replay source, a WebRTC source, or a test source with custom settings.
 */
export function createControllerWithSource(config: PipelineConfig, source: Source, options?: ControllerOptions): Controller {
  return new Controller(config, source, options);
}

/** A controller over the source the config names (egress's New), written with {@link createControllerWithSource}. */
export function createController(config: PipelineConfig, options?: ControllerOptions): Controller {
  return createControllerWithSource(config, sourceFromConfig(config), options);
}

/** Builds the source a config names. @internal */
export function sourceFromConfig(config: PipelineConfig): Source {
  const spec = config.source;
  if (spec === undefined) throw new ConfigError([{ field: 'source', message: 'createController needs config.source (or use createControllerWithSource)' }]);
  if (spec.type === 'file') return new FileSource(spanInputs(spec));
  const e = config.encoding;
  return new TestSource({
    width: e.width, height: e.height, fps: e.fps, sampleRate: e.sampleRate, channels: e.channels,
    video: e.videoCodec !== null, audio: e.audioCodec !== null,
    ...(spec.duration === undefined ? {} : { duration: spec.duration }),
  });
}

/**
 * The memory `parallel: 'auto'`'s workers may take: half of what is available to this process
 * (libuv's count: the machine's MemAvailable, or within a cgroup its limit less what the group uses).
 */
function memoryForWorkers(): number {
  return (process.availableMemory?.() ?? freemem()) / 2;
}

/** Whether the run's plan would put work on worker threads, were the native codecs there (a batch audio encoder needs them). */
function usesWorkers(config: PipelineConfig, tracks: readonly TrackInfo[], endUs: number | undefined, cores: number): boolean {
  let plan: PipelinePlan;
  try {
    plan = planPipeline(config, tracks, endUs, { cores, workerCodecs: 'native', batchAudio: true });
  } catch {
    // The real plan says what is wrong.
    return false;
  }
  return plan.branches.some((b) => (b.kind === 'video' ? b.split !== null : b.batchEncode));
}
