import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { PipelineConfigInit } from '../config/config-init.js';
import type { ConfigProblem } from '../errors.js';
import { mapOutputPaths, type JobProgress } from '../jobs/job-data.js';
import { s3Url } from '../jobs/stage-inputs.js';
import { DEFAULT_QUEUE } from '../jobs/job-queue.js';
import type { ParsedCommand } from './args.js';
import { maxCpuArg, metricsPortArg, redisProblem } from './fleet-args.js';

/** The longest drain deadline: setTimeout's (about 24.8 days) in whole days. */
const MAX_DRAIN_S = 24 * 86400;

/** What `avpipe worker` was asked for. */
export interface ParsedWorker {
  redis: string;
  queue: string;
  /** The most jobs at once, when capped. */
  concurrency: number | undefined;
  maxCpu: number;
  /** Where `/metrics` and `/healthz` are served, when asked. */
  metrics: { host: string; port: number } | undefined;
  /** A drain gives the jobs still running back to the queue after this long, ms. */
  drainTimeoutMs: number | undefined;
  /** How long the first connection to Redis may take, ms. */
  connectTimeoutMs: number;
  json: boolean;
}

/** Parses `worker` arguments, or returns the problems found. */
export function parseWorkerArgs(argv: string[]): ParsedWorker | { problems: ConfigProblem[] } {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: {
      redis: { type: 'string' }, queue: { type: 'string' }, concurrency: { type: 'string' }, json: { type: 'boolean' },
      'max-cpu': { type: 'string' }, 'metrics-port': { type: 'string' }, 'metrics-host': { type: 'string' }, 'drain-timeout': { type: 'string' }, 'connect-timeout': { type: 'string' },
    } }));
  } catch (err) {
    return { problems: [{ field: 'arguments', message: (err as Error).message }] };
  }
  const problems: ConfigProblem[] = [];
  redisProblem(values.redis, problems);
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64)) problems.push({ field: '--concurrency', message: `must be a whole number from 1 to 64, got "${values.concurrency}"` });
  const maxCpu = maxCpuArg(values['max-cpu'], 'jobs', problems);
  const port = metricsPortArg(values['metrics-port'], problems);
  if (values['metrics-host'] !== undefined && port === undefined) problems.push({ field: '--metrics-host', message: 'needs --metrics-port' });
  const drain = values['drain-timeout'] === undefined ? undefined : Number(values['drain-timeout']);
  if (drain !== undefined && !(drain >= 0 && drain <= MAX_DRAIN_S)) problems.push({ field: '--drain-timeout', message: `must be seconds from 0 to ${MAX_DRAIN_S} (24 days), got "${values['drain-timeout']}"` });
  const connect = connectTimeout(values['connect-timeout'], problems);
  if (problems.length > 0) return { problems };
  return {
    redis: values.redis!,
    connectTimeoutMs: connect,
    queue: values.queue ?? DEFAULT_QUEUE,
    concurrency,
    maxCpu,
    metrics: port === undefined ? undefined : { host: values['metrics-host'] ?? '127.0.0.1', port },
    drainTimeoutMs: drain === undefined ? undefined : Math.round(drain * 1000),
    json: values.json === true,
  };
}

/** `--connect-timeout S` as ms (default 10 s). */
function connectTimeout(v: string | undefined, problems: ConfigProblem[]): number {
  const s = v === undefined ? 10 : Number(v);
  if (!(s > 0 && s <= 3600)) problems.push({ field: '--connect-timeout', message: `must be seconds above 0, at most 3600, got "${v}"` });
  return Math.round(s * 1000);
}

/** What `avpipe submit record|export ...` was asked for: the run's own arguments and the queue's. */
export interface ParsedSubmit {
  kind: 'record' | 'export';
  /** The run's arguments, for the record or export parser. */
  rest: string[];
  redis: string;
  queue: string;
  wait: boolean;
  attempts: number;
  /** The job's CPU cost in cores, when given (else the workers estimate it). */
  cost: number | undefined;
  /** A distributed export, in this many chunks (or one per 15 s). */
  distributed: { chunks: number | 'auto' } | undefined;
  connectTimeoutMs: number;
}

/** Splits `submit` arguments into the queue's (--redis, --queue, --wait, --attempts, --cost, --distributed, --chunks) and the run's. */
export function parseSubmitArgs(argv: string[]): ParsedSubmit | { problems: ConfigProblem[] } {
  const [kind, ...args] = argv;
  if (kind !== 'record' && kind !== 'export') return { problems: [{ field: 'submit', message: `submit record ... or submit export ..., got "${kind ?? ''}"` }] };
  const problems: ConfigProblem[] = [];
  const rest: string[] = [];
  let redis: string | undefined;
  let queue = DEFAULT_QUEUE;
  let wait = false;
  let attempts = 1;
  let cost: number | undefined;
  let distributed = false;
  let connectArg: string | undefined;
  let chunks: number | 'auto' = 'auto';
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = (): string | undefined => {
      const v = args[++i];
      if (v === undefined) problems.push({ field: a, message: 'needs a value' });
      return v;
    };
    if (a === '--redis') redis = value();
    else if (a === '--queue') queue = value() ?? queue;
    else if (a === '--wait') wait = true;
    else if (a === '--attempts') {
      const v = value();
      attempts = Number(v);
      if (!Number.isInteger(attempts) || attempts < 1 || attempts > 100) problems.push({ field: '--attempts', message: `must be a whole number from 1 to 100, got "${v}"` });
    } else if (a === '--connect-timeout') connectArg = value();
    else if (a === '--distributed') distributed = true;
    else if (a === '--chunks') {
      const v = value();
      chunks = Number(v);
      if (!Number.isInteger(chunks) || chunks < 2 || chunks > 256) problems.push({ field: '--chunks', message: `must be a whole number from 2 to 256, got "${v}"` });
    } else if (a === '--cost') {
      const v = value();
      cost = Number(v);
      if (!(cost > 0 && cost <= 1024)) problems.push({ field: '--cost', message: `is the job's CPU cost in cores, above 0, got "${v}"` });
    } else rest.push(a);
  }
  redisProblem(redis, problems);
  if (distributed && kind !== 'export') problems.push({ field: '--distributed', message: 'splits an export across the workers: submit export ... --distributed' });
  if (chunks !== 'auto' && !distributed) problems.push({ field: '--chunks', message: 'needs --distributed' });
  const connectTimeoutMs = connectTimeout(connectArg, problems);
  return problems.length > 0 ? { problems } : { kind, rest, redis: redis!, queue, wait, attempts, cost, distributed: distributed ? { chunks } : undefined, connectTimeoutMs };
}

/**
 * The run's paths made absolute against the submitter's directory: a worker runs in its own, and
 * `out.mp4` means the file where `avpipe submit` was typed (on this machine, or a shared disk).
 */
export function withAbsolutePaths(init: PipelineConfigInit): PipelineConfigInit {
  // An s3:// input is the same from any machine.
  const source = init.source?.type === 'file' ? { ...init.source, inputs: init.source.inputs.map((i) => ({ ...i, path: s3Url(i.path) === undefined ? resolve(i.path) : i.path })) } : init.source;
  // A segment template is relative to its playlist: it stays as given.
  const withOutputs = mapOutputPaths(init, (p, field) => (field === 'segmentTemplate' ? p : resolve(p)));
  return { ...withOutputs, ...(source === undefined ? {} : { source }) };
}

/** The run's parsed command with absolute paths. */
export function submittedRun(parsed: ParsedCommand): ParsedCommand {
  return { ...parsed, init: withAbsolutePaths(parsed.init) };
}

/** One line of a job's progress for a terminal. */
export function formatJobProgress(p: JobProgress): string {
  return `${p.status} ${(p.mediaTimeMs / 1000).toFixed(1)}s${p.percent === null ? '' : ` ${p.percent.toFixed(0)}%`} ${p.speed.toFixed(2)}x`;
}
