import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { PipelineConfigInit } from '../config/config-init.js';
import type { ConfigProblem } from '../errors.js';
import { mapOutputPaths, type JobProgress } from '../jobs/job-data.js';
import { connectionOptions, DEFAULT_QUEUE } from '../jobs/job-queue.js';
import type { ParsedCommand } from './args.js';

/** A missing or malformed --redis, as a problem (exit 2, not a stack trace). */
function redisProblem(url: string | undefined, problems: ConfigProblem[]): void {
  if (url === undefined) return void problems.push({ field: '--redis', message: 'give the Redis URL (redis://HOST:PORT)' });
  try {
    connectionOptions(url);
  } catch (err) {
    problems.push({ field: '--redis', message: (err as Error).message });
  }
}

/** What `avpipe worker` was asked for. */
export interface ParsedWorker {
  redis: string;
  queue: string;
  concurrency: number;
  json: boolean;
}

/** Parses `worker` arguments, or returns the problems found. */
export function parseWorkerArgs(argv: string[]): ParsedWorker | { problems: ConfigProblem[] } {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, allowPositionals: false, options: {
      redis: { type: 'string' }, queue: { type: 'string' }, concurrency: { type: 'string' }, json: { type: 'boolean' },
    } }));
  } catch (err) {
    return { problems: [{ field: 'arguments', message: (err as Error).message }] };
  }
  const problems: ConfigProblem[] = [];
  redisProblem(values.redis, problems);
  const concurrency = values.concurrency === undefined ? 1 : Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) problems.push({ field: '--concurrency', message: `must be a whole number from 1 to 64, got "${values.concurrency}"` });
  return problems.length > 0 ? { problems } : { redis: values.redis!, queue: values.queue ?? DEFAULT_QUEUE, concurrency, json: values.json === true };
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
}

/** Splits `submit` arguments into the queue's (--redis, --queue, --wait, --attempts) and the run's. */
export function parseSubmitArgs(argv: string[]): ParsedSubmit | { problems: ConfigProblem[] } {
  const [kind, ...args] = argv;
  if (kind !== 'record' && kind !== 'export') return { problems: [{ field: 'submit', message: `submit record ... or submit export ..., got "${kind ?? ''}"` }] };
  const problems: ConfigProblem[] = [];
  const rest: string[] = [];
  let redis: string | undefined;
  let queue = DEFAULT_QUEUE;
  let wait = false;
  let attempts = 1;
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
    } else rest.push(a);
  }
  redisProblem(redis, problems);
  return problems.length > 0 ? { problems } : { kind, rest, redis: redis!, queue, wait, attempts };
}

/**
 * The run's paths made absolute against the submitter's directory: a worker runs in its own, and
 * `out.mp4` means the file where `avpipe submit` was typed (on this machine, or a shared disk).
 */
export function withAbsolutePaths(init: PipelineConfigInit): PipelineConfigInit {
  const source = init.source?.type === 'file' ? { ...init.source, inputs: init.source.inputs.map((i) => ({ ...i, path: resolve(i.path) })) } : init.source;
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
