import type { PipelineConfigInit } from '../config/config-init.js';
import { writtenPaths } from '../config/paths.js';
import { createPipelineConfig, type PipelineConfig } from '../config/pipeline-config.js';
import { AvpipeError, ConfigError, ERROR_CODES } from '../errors.js';
import type { PipelineResult } from '../pipeline/status.js';

/** What a job carries in the queue: the pipeline config a library user would pass, as JSON. */
export interface JobData {
  /** The format of this record, so a worker of another version refuses what it cannot read. */
  version: 1;
  /** The pipeline config, as JSON carries it; `{retry}` in its paths is filled in per run. */
  config: PipelineConfigInit;
  /** The job's CPU cost in cores, when the submitter knows it better than the estimate. */
  cost?: number;
  /** Runs started so far (set by the workers): the next one's `{retry}` is this number. */
  runs?: number;
  /**
   * A distributed export: its video split into `chunks` (or one per 15 s of media), each a job of
   * its own for any worker, joined by this one. Non-live, and its storage carries the chunks.
   */
  distributed?: {
    /** How many chunks, 2 to 256, or `'auto'` (one per 15 s of media). */
    chunks: number | 'auto';
  };
}

/** A job's result: the run's, and which attempt made it and what the attempts before it left. */
export interface JobResult extends PipelineResult {
  /** The job this result is of. */
  job: {
    /** The job's BullMQ id. */
    id: string;
    /** The attempt that made this result, from 0: `{retry}` in its output paths. */
    retry: number;
    /**
     * Outputs earlier attempts left on disk (their paths, `{retry}` filled in with theirs): a killed
     * worker's crash-safe recording, kept, never overwritten.
     */
    kept: string[];
  };
}

/** `{retry}` in a path: the attempt's number, so each attempt writes its own outputs. */
export const RETRY_FIELD = '{retry}';

/** An output's fields that name files: every one but a stream's URL. */
const PATH_FIELDS = ['path', 'playlist', 'livePlaylist', 'segmentTemplate', 'images'] as const;

/** The config with `fill` applied to every path field of every output (file, playlists, segment and image templates). */
export function mapOutputPaths(config: PipelineConfigInit, fill: (path: string, field: (typeof PATH_FIELDS)[number]) => string): PipelineConfigInit {
  return {
    ...config,
    outputs: config.outputs.map((o) => {
      const out: Record<string, unknown> = { ...o };
      for (const f of PATH_FIELDS) if (typeof out[f] === 'string') out[f] = fill(out[f] as string, f);
      return out as unknown as typeof o;
    }),
  };
}

/** The config's output paths with `{retry}` filled in with `retry`. */
export function withRetry(config: PipelineConfigInit, retry: number): PipelineConfigInit {
  return mapOutputPaths(config, (p) => p.split(RETRY_FIELD).join(String(retry)));
}

/** The files a config's outputs write by a name of their own (a file, the playlists), as written. */
export function outputPaths(config: PipelineConfigInit): string[] {
  return writtenPaths(config).map((w) => w.path);
}

/** A job's progress as the queue keeps it (the run's own progress, cut to what crosses JSON). */
export interface JobProgress {
  /** The run's status (`STARTING`, `ACTIVE`, `ENDING`, ...). */
  status: string;
  /** Media time written so far, ms. */
  mediaTimeMs: number;
  /** Of the source's duration when known (a file), else null. */
  percent: number | null;
  /** Media time per wall time. */
  speed: number;
  /** Items the run's queues dropped so far (a live run behind; always 0 non-live). */
  dropped: number;
}

/**
 * The config a job's data holds, checked: on submit (a bad config never reaches the queue) and again
 * when a worker takes it (the queue is shared, and its records outlive a version of avpipe).
 * Throws `ConfigError` (CONFIG_INVALID) naming the field.
 */
export function jobConfig(data: unknown): PipelineConfig {
  if (typeof data !== 'object' || data === null || (data as { version?: unknown }).version !== 1) {
    throw new ConfigError([{ field: 'job', message: `is not an avpipe job of version 1 (got ${JSON.stringify((data as { version?: unknown } | null)?.version)})` }]);
  }
  const cost = (data as JobData).cost;
  if (cost !== undefined && !(typeof cost === 'number' && cost > 0 && cost <= 1024)) throw new ConfigError([{ field: 'cost', message: `is a job's CPU cost in cores, above 0, got ${JSON.stringify(cost)}` }]);
  const config = createPipelineConfig((data as JobData).config);
  if (config.source === undefined) throw new ConfigError([{ field: 'source', message: 'a job needs config.source: the worker builds the source from it' }]);
  const d = (data as JobData).distributed;
  if (d !== undefined) {
    const problems = [];
    if (typeof d !== 'object' || d === null || !(d.chunks === 'auto' || (Number.isInteger(d.chunks) && d.chunks >= 2 && d.chunks <= 256))) problems.push({ field: 'distributed.chunks', message: `is 'auto' or a whole number of chunks from 2 to 256, got ${JSON.stringify((d as { chunks?: unknown } | null)?.chunks)}` });
    if (config.live) problems.push({ field: 'live', message: 'a distributed export is non-live: set live: false' });
    if (config.storage === undefined) problems.push({ field: 'storage', message: "a distributed export's chunks pass through its storage: give one every worker reaches ({ type: 's3', bucket } or a shared directory)" });
    if (problems.length > 0) throw new ConfigError(problems);
  }
  return config;
}

/** How a failed run crosses the queue: its error's code and message in BullMQ's failedReason. */
export function failureReason(result: PipelineResult): string {
  return `${result.error?.code ?? 'JOB_FAILED'}: ${result.error?.message ?? `the run ended ${result.status}`}`;
}

const CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/** The typed error of a failed job, from its failedReason; one the queue failed for itself is JOB_FAILED. */
export function jobError(id: string, reason: string | undefined): AvpipeError {
  const m = /^([A-Z_]+): ([\s\S]*)$/.exec(reason ?? '');
  if (m !== null && CODES.has(m[1]!)) return new AvpipeError(m[1] as AvpipeError['code'], `job ${id}: ${m[2]}`);
  return new AvpipeError('JOB_FAILED', `job ${id}: ${reason ?? 'failed'}`);
}
