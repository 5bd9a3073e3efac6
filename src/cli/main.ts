#!/usr/bin/env node
import { mkdir } from 'node:fs/promises';
import { createPipelineConfig } from '../config/pipeline-config.js';
import { AvpipeError, ConfigError } from '../errors.js';
import type { OutputResult, PipelineResult } from '../pipeline/status.js';
import { USAGE, parseExportArgs, parseRecordArgs, parseServeArgs, type ParsedCommand, type ParsedServe } from './args.js';
import type { JobWorker } from '../jobs/job-worker.js';
import { formatJobProgress, parseSubmitArgs, parseWorkerArgs, submittedRun } from './job-commands.js';
import { formatProgress } from './progress-bar.js';
import { commandHelp, COMMANDS, optionsOf, suggest, versionText } from './help.js';
import { pauseKeys } from './pause-keys.js';
import { createLog, takeLogOptions, type Log } from './log.js';

/** Exit codes: 0 done (COMPLETE, LIMIT_REACHED), 1 failed, 2 bad arguments or config, 130 aborted. */
function exitCode(result: PipelineResult): number {
  // COMPLETE with a non-fatal error (an upload or a live stream that gave up) still exits 1.
  if (result.error !== null && result.status !== 'ABORTED') return 1;
  if (result.status === 'COMPLETE' || result.status === 'LIMIT_REACHED') return 0;
  return result.status === 'ABORTED' ? 130 : 1;
}

/** The process's log once its command's --log-* options are known: JSON logs then stay JSON, errors too. */
let processLog: Log | undefined;

function printProblems(problems: readonly { field: string; message: string }[]): void {
  if (processLog?.format === 'json') processLog.error('invalid arguments', { event: 'refused', problems });
  else process.stderr.write(`avpipe: invalid arguments:\n${problems.map((p) => `  ${p.field}: ${p.message}`).join('\n')}\n`);
}

/**
 * Arguments refused: the problems (an unknown option with the one it looks like a slip of) and that
 * command's help on stderr, exit code 2.
 */
function refused(problems: readonly { field: string; message: string }[], command?: string): number {
  printProblems(problems.map((p) => {
    const unknown = /^Unknown option '(--[^'=]+)'/.exec(p.message)?.[1];
    const like = unknown === undefined || command === undefined ? undefined : suggest(unknown, optionsOf(command));
    return like === undefined ? p : { field: p.field, message: `unknown option ${unknown} (did you mean ${like}?)` };
  }));
  if (processLog?.format !== 'json') process.stderr.write(`\n${(command === undefined ? undefined : commandHelp(command)) ?? USAGE}`);
  return 2;
}

/** Runs `record` or `export`: parse, validate, run with progress, print the result. */
async function runCommand(parsed: ParsedCommand | { problems: { field: string; message: string }[] }, command: string, log: Log): Promise<number> {
  if ('problems' in parsed) return refused(parsed.problems, command);
  let config;
  try {
    config = createPipelineConfig(parsed.init);
  } catch (err) {
    if (err instanceof ConfigError) {
      printProblems(err.problems);
      return 2;
    }
    throw err;
  }
  let controller;
  try {
    // The pipeline (most of the CLI's start-up) is loaded when a command runs one: --help, --version
    // and a refused argument need none of it.
    const { createController } = await import('../pipeline/controller.js');
    controller = createController(config);
  } catch (err) {
    if (err instanceof ConfigError) {
      printProblems(err.problems);
      return 2;
    }
    throw err;
  }
  const tty = bar(log, parsed.json);
  if (tty) controller.on('progress', (p) => process.stderr.write(`\r${formatProgress(p)}\x1b[K`));
  else controller.on('progress', everySecond((p) => log.debug(formatProgress(p), { event: 'progress', ...p })));
  const signals = onStopSignals(() => void controller.stop(), () => void controller.abort());
  // A live recording on a terminal: p pauses and resumes.
  const keys = config.live ? pauseKeys(controller, (line) => (tty ? process.stderr.write(`\r${line}\x1b[K\n`) : log.info(line, { event: 'pause' }))) : { off: () => undefined };
  const result = await controller.start();
  keys.off();
  signals.off();
  if (tty) process.stderr.write('\n');
  return printResult(result, parsed.json, log);
}

/** The progress bar is drawn on a terminal, for a person (pretty logs at info or more), not under --json. */
function bar(log: Log, json: boolean): boolean {
  return process.stderr.isTTY === true && !json && log.format === 'pretty' && (log.level === 'info' || log.level === 'debug');
}

/** `f`, called at most once a second (progress as debug log records). */
function everySecond<T>(f: (v: T) => void): (v: T) => void {
  let last = -Infinity;
  return (v) => {
    const now = performance.now();
    if (now - last < 1000) return;
    last = now;
    f(v);
  };
}

/** A run's result as the CLI prints it (the JSON, or a summary and its outputs), its error and warnings on stderr; its exit code. */
function printResult(result: PipelineResult, json: boolean, log: Log): number {
  const summary = `${result.status}: ${(result.durationMs / 1000).toFixed(2)} s of media in ${(result.wallMs / 1000).toFixed(2)} s (${result.speed.toFixed(2)}x)`;
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    const drops = result.queues.reduce((n, q) => n + q.dropped, 0);
    process.stdout.write(`${summary}, ${drops} dropped\n`);
    for (const out of result.outputs) process.stdout.write(`  ${describeOutput(out)}\n`);
  }
  if (result.error !== null) log.error(`${result.error.code}: ${result.error.message}`, { event: 'error', code: result.error.code });
  for (const w of result.warnings) log.warn(`${w.code}: ${w.message}`, { event: 'warning', code: w.code });
  log.debug(summary, { event: 'result', status: result.status, durationMs: result.durationMs, wallMs: result.wallMs, speed: result.speed });
  return exitCode(result);
}

/**
 * SIGINT (Ctrl-C) and SIGTERM (what systemd, Docker and Kubernetes send) alike: the first stops
 * gracefully, a second of either aborts (what was muxed is still finalized).
 */
function onStopSignals(stop: () => void, abort: () => void): { off: () => void } {
  let count = 0;
  const on = (): void => {
    if (++count === 1) stop();
    else abort();
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    off: () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

/** One line per output for the text summary. */
function describeOutput(out: OutputResult): string {
  switch (out.type) {
    case 'file': return out.exists ? `${out.path}: ${out.size} bytes` : `${out.path}: removed`;
    case 'segments': return out.exists ? `${out.playlist}: ${out.segmentCount} segments, ${out.size} bytes` : `${out.playlist}: removed`;
    case 'stream': return `${out.url}: ${out.packets} packets, ${out.retries} retries${out.error === null ? '' : `, failed: ${out.error}`}`;
    case 'images': return `${out.template}: ${out.count} images, ${out.size} bytes`;
  }
}

/**
 * Runs `serve`: a WHIP endpoint until Ctrl-C or SIGTERM (a second one aborts the sessions), each
 * publisher's session recorded to its own outputs; a line per session when it starts, every 5 s while
 * it runs, and when it ends.
 */
async function serve(argv: string[], log: Log): Promise<number> {
  const parsed = parseServeArgs(argv);
  if ('problems' in parsed) return refused(parsed.problems, 'serve');
  try {
    createPipelineConfig(parsed.configFor('sample', 'session'));
  } catch (err) {
    if (err instanceof ConfigError) {
      printProblems(err.problems);
      return 2;
    }
    throw err;
  }
  await mkdir(parsed.outputDir, { recursive: true });
  const fleet = parsed.fleet === undefined ? undefined : await joinFleet(parsed.fleet, log);
  if (fleet === null) return 1;
  try {
    return await serveSessions(parsed, fleet, log);
  } finally {
    // Whatever ended serving (a port in use included), the worker takes no job past it.
    await fleet?.worker.close();
    await fleet?.close();
  }
}

/** The WHIP server of `serve`, until its signals end it; with `fleet`, its sessions admitted by that worker. */
async function serveSessions(parsed: ParsedServe, fleet: { worker: JobWorker } | undefined, log: Log): Promise<number> {
  const { WhipServer } = await import('../server/whip-server.js');
  const server = new WhipServer({
    ...(fleet === undefined ? {} : { admission: fleet.worker.sessionAdmission() }),
    config: parsed.configFor, ...(parsed.token === undefined ? {} : { token: parsed.token }), ...(parsed.iceHosts === undefined ? {} : { iceHosts: parsed.iceHosts }),
    ...(parsed.waitS === undefined ? {} : { source: { onLeave: 'wait' as const, leaveTimeoutMs: parsed.waitS * 1000 } }),
    ...(parsed.corsOrigins === undefined ? {} : { corsOrigins: parsed.corsOrigins }),
    ...(parsed.maxSessions === undefined ? {} : { maxSessions: parsed.maxSessions }),
    ...(parsed.maxConnections === undefined ? {} : { maxConnections: parsed.maxConnections }),
    workers: parsed.workers,
  });
  const base = await server.listen(parsed.port, parsed.host);
  log.info(`avpipe: WHIP endpoint at ${base}/whip/<name>${parsed.token === undefined ? ' (no token: anyone who reaches it may publish)' : ' (bearer token required)'}, recording to ${parsed.outputDir}`,
    { event: 'listening', url: `${base}/whip/`, token: parsed.token !== undefined, outputDir: parsed.outputDir });
  const tag = (name: string, id: string): string => `[${name} ${id.slice(0, 8)}]`;
  server.on('session', (s) => log.info(`${tag(s.name, s.id)} publishing`, { event: 'session_start', name: s.name, session: s.id }));
  server.on('end', (s, result) => {
    const src = s.stats()!;
    const lost = src.tracks.reduce((n, t) => n + t.packets.lost, 0);
    const dropped = result.queues.reduce((n, q) => n + q.dropped, 0);
    const at = { name: s.name, session: s.id };
    log.info(`${tag(s.name, s.id)} ${result.status}: ${(result.durationMs / 1000).toFixed(2)} s of media, ${lost} packets lost, ${dropped} dropped${src.leftBecause === null ? '' : ` (${src.leftBecause})`}`,
      { event: 'session_end', ...at, status: result.status, durationMs: result.durationMs, packetsLost: lost, dropped, leftBecause: src.leftBecause });
    for (const out of result.outputs) log.info(`  ${describeOutput(out)}`, { event: 'output', ...at, output: out });
    if (result.error !== null) log.error(`${tag(s.name, s.id)} ${result.error.code}: ${result.error.message}`, { event: 'error', ...at, code: result.error.code });
    for (const w of result.warnings) log.warn(`${tag(s.name, s.id)} ${w.code}: ${w.message}`, { event: 'warning', ...at, code: w.code });
    if (parsed.json) process.stdout.write(`${JSON.stringify({ name: s.name, session: s.id, source: src, ...result })}\n`);
  });
  const ticker = setInterval(() => {
    for (const s of server.sessions) {
      const src = s.stats();
      if (src === undefined) continue;
      const frames = src.tracks.map((t) => `${t.kind} ${t.frames.frames}`).join(', ');
      const lost = src.tracks.reduce((n, t) => n + t.packets.lost, 0);
      log.info(`${tag(s.name, s.id)} ${s.status()} ${frames} frames, ${lost} packets lost`,
        { event: 'session_progress', name: s.name, session: s.id, status: s.status(), frames: Object.fromEntries(src.tracks.map((t) => [t.kind, t.frames.frames])), packetsLost: lost });
    }
  }, 5000);
  ticker.unref();
  let stopping!: () => void;
  const stopped = new Promise<void>((resolve) => (stopping = resolve));
  const signals = onStopSignals(stopping, () => {
    log.info('avpipe: aborting every session (what was recorded is finalized)', { event: 'aborting' });
    server.abort();
    fleet?.worker.stopRunning();
  });
  await stopped;
  clearInterval(ticker);
  log.info(`avpipe: stopping: finalizing every session${fleet === undefined ? '' : ', finishing the running jobs'}`, { event: 'stopping' });
  // The worker drains first: it admits no session from now on, so none starts while the server closes.
  const drained = fleet?.worker.close();
  const results = await server.close();
  await drained;
  signals.off();
  return results.some((r) => r.status === 'FAILED') ? 1 : 0;
}

/**
 * `serve --redis`: a job worker of the fleet in this process, taking queue jobs as `avpipe worker`
 * does and admitting the server's sessions with them (a session is a live job pinned here).
 * Null when it cannot start (said why).
 */
async function joinFleet(f: NonNullable<ParsedServe['fleet']>, log: Log): Promise<{ worker: JobWorker; close(): Promise<void> } | null> {
  const { createWorker } = await import('../jobs/job-worker.js');
  let worker: JobWorker;
  try {
    worker = await createWorker({ connection: f.redis, name: f.queue, maxCpu: f.maxCpu });
  } catch (err) {
    log.error((err as Error).message, { event: 'error' });
    return null;
  }
  let http: { port: number; close(): Promise<void> } | undefined;
  if (f.metricsPort !== undefined) {
    const { serveWorkerHttp } = await import('../jobs/worker-http.js');
    try {
      http = await serveWorkerHttp(worker, f.metricsPort);
    } catch (err) {
      await worker.close();
      log.error(`cannot serve metrics on port ${f.metricsPort}: ${(err as Error).message}`, { event: 'error' });
      return null;
    }
  }
  reportWorkerEvents(worker, workerReport(log));
  log.info(`avpipe: worker ${worker.id} on queue "${f.queue}": sessions and jobs up to ${worker.admission.capacity.toFixed(2)} of ${worker.admission.cores} cores${http === undefined ? '' : `, metrics on http://127.0.0.1:${http.port}/metrics`}`,
    { event: 'ready', worker: worker.id, queue: f.queue, cores: worker.admission.cores, capacity: worker.admission.capacity, ...(http === undefined ? {} : { metricsPort: http.port }) });
  return { worker, close: async () => void (await http?.close()) };
}

/**
 * How a worker's events are told: a log record each (a line on the terminal, the event's fields in
 * JSON logs) and, with `worker --json`, the event as a JSON line on stdout (`out`).
 */
type WorkerReport = (level: 'info' | 'warn', line: string, event: Record<string, unknown>) => void;

function workerReport(log: Log, out: (event: object) => void = () => {}): WorkerReport {
  return (level, line, event) => {
    log[level](line, event);
    out(event);
  };
}

/** A job worker's events, each told through `both`. */
function reportWorkerEvents(w: JobWorker, both: WorkerReport): void {
  w.on('active', ({ id, retry, cost, pid }) => both('info', `[job ${id}] started (run ${retry + 1}, cost ${cost.cpu} cores)`, { event: 'active', job: id, retry, cost: cost.cpu, ...(pid === undefined ? {} : { pid }) }));
  w.on('refused', ({ id, reason, cost }) => both('info', `[job ${id}] not taken: ${reason}`, { event: 'refused', job: id, cost: cost.cpu, reason }));
  w.on('givenBack', ({ id, reason }) => both('info', `[job ${id}] given back to the queue: ${reason}`, { event: 'given_back', job: id, reason }));
  w.on('completed', ({ id, result }) => both('info', `[job ${id}] ${result.status}: ${(result.durationMs / 1000).toFixed(2)} s of media in ${(result.wallMs / 1000).toFixed(2)} s`, { event: 'completed', job: id, status: result.status, durationMs: result.durationMs, wallMs: result.wallMs }));
  w.on('chunkDone', ({ id, parent, index, wallMs }) => both('info', `[job ${id}] chunk ${index} of job ${parent} encoded in ${(wallMs / 1000).toFixed(2)} s`, { event: 'chunk_done', job: id, parent, index, wallMs }));
  w.on('failed', ({ id, reason, retry }) => both('warn', `[job ${id}] run ${retry + 1} failed: ${reason}`, { event: 'failed', job: id, retry, reason }));
  w.on('warning', ({ message, jobId }) => both('warn', `${jobId === undefined ? '' : `[job ${jobId}] `}${message}`, { event: 'warning', ...(jobId === undefined ? {} : { job: jobId }), message }));
}

/** Runs `repair FILE`: a killed live recording (MP4, WebM, HLS playlist) finished. */
async function repair(argv: string[], log: Log): Promise<number> {
  const json = argv.includes('--json');
  const files = argv.filter((a) => a !== '--json');
  if (files.length !== 1 || files[0]!.startsWith('-')) {
    printProblems([{ field: 'FILE', message: 'give one MP4, WebM or HLS playlist (.m3u8) to repair' }]);
    return 2;
  }
  const { repairRecording } = await import('../muxers/repair.js');
  try {
    const report = await repairRecording(files[0]!);
    const cut = 'truncatedBytes' in report && report.truncatedBytes > 0 ? `; ${report.truncatedBytes} bytes of an incomplete end cut off` : '';
    if (json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else if (report.container === 'mp4') {
      const tracks = report.tracks.map((t) => `${t.handler === 'vide' ? 'video' : t.handler === 'soun' ? 'audio' : t.handler} ${(t.durationUs / 1e6).toFixed(2)} s (${t.samples} samples)`).join(', ');
      process.stdout.write(`${report.path}: ${report.fragments} fragments kept, ${tracks}${cut}\n`);
    } else if (report.container === 'webm') {
      const tracks = report.tracks.map((t) => `${t.kind} ${(t.durationUs / 1e6).toFixed(2)} s (${t.blocks} blocks)`).join(', ');
      process.stdout.write(`${report.path}: ${report.clusters} clusters kept, ${tracks}; duration ${(report.durationUs / 1e6).toFixed(2)} s, ${report.cuesSkipped === null ? `${report.cuePoints} cue points` : `no cues: ${report.cuesSkipped}`}${cut}${report.rewritten ? '; rewritten through a finished copy (no room in place)' : ''}\n`);
    } else {
      const missing = report.missing.length > 0 ? `; listed but missing: ${report.missing.join(', ')}` : '';
      process.stdout.write(`${report.path}: closed, ${report.segments} segments (${(report.durationUs / 1e6).toFixed(2)} s)${report.removed.length > 0 ? `, ${report.removed.length} temporary files removed` : ''}${missing}\n`);
    }
    return 0;
  } catch (err) {
    log.error((err as Error).message, { event: 'error' });
    return 1;
  }
}

/**
 * Runs `worker`: takes the jobs it can afford from the queue until SIGTERM or Ctrl-C, which drain it
 * (no new job taken, the running ones finished, exit 0; past --drain-timeout they go back to the
 * queue); a second signal stops the running ones as Ctrl-C stops a run (an endless recording too),
 * and they complete with what they made. With --json every event is one JSON line on stdout.
 */
async function worker(argv: string[], log: Log): Promise<number> {
  const parsed = parseWorkerArgs(argv);
  if ('problems' in parsed) return refused(parsed.problems, 'worker');
  const { createWorker } = await import('../jobs/job-worker.js');
  // Not taking jobs until the metrics port is bound and every event is listened to.
  const w = await createWorker({ connection: parsed.redis, name: parsed.queue, maxCpu: parsed.maxCpu, autorun: false, connectTimeoutMs: parsed.connectTimeoutMs, ...(parsed.concurrency === undefined ? {} : { concurrency: parsed.concurrency }) });
  const out = (event: object): void => void (parsed.json && process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), ...event })}\n`));
  const both = workerReport(log, out);
  let http: { port: number; close(): Promise<void> } | undefined;
  if (parsed.metrics !== undefined) {
    const { serveWorkerHttp } = await import('../jobs/worker-http.js');
    try {
      http = await serveWorkerHttp(w, parsed.metrics.port, parsed.metrics.host);
    } catch (err) {
      await w.close();
      log.error(`cannot serve metrics on ${parsed.metrics.host}:${parsed.metrics.port}: ${(err as Error).message}`, { event: 'error' });
      return 1;
    }
  }
  reportWorkerEvents(w, both);
  const { capacity, cores } = w.admission;
  both('info', `avpipe: worker ${w.id} on queue "${parsed.queue}": jobs up to ${capacity.toFixed(2)} of ${cores} cores (--max-cpu ${parsed.maxCpu})${http === undefined ? '' : `, metrics on http://${parsed.metrics!.host}:${http.port}/metrics`}`,
    { event: 'ready', worker: w.id, queue: parsed.queue, cores, capacity, ...(http === undefined ? {} : { metricsPort: http.port }) });
  let drained!: () => void;
  const draining = new Promise<void>((resolve) => (drained = resolve));
  const signals = onStopSignals(drained, () => {
    both('info', `avpipe: stopping the ${w.running} running job(s) now (what they made is finalized)`, { event: 'stopping', running: w.running });
    w.stopRunning();
  });
  try {
    await w.run();
  } catch (err) {
    signals.off();
    await http?.close();
    log.error((err as Error).message, { event: 'error' });
    return 1;
  }
  await draining;
  const deadline = parsed.drainTimeoutMs === undefined ? '' : `; after ${parsed.drainTimeoutMs / 1000} s they go back to the queue`;
  both('info', `avpipe: draining: no new job; finishing ${w.running} running (a second signal stops them${deadline})`, { event: 'draining', running: w.running });
  await w.close(parsed.drainTimeoutMs === undefined ? {} : { giveBackAfterMs: parsed.drainTimeoutMs });
  await http?.close();
  signals.off();
  out({ event: 'closed' });
  log.debug('avpipe: worker closed', { event: 'closed' });
  return 0;
}

/** Runs `submit record|export ...`: the job's id, or with --wait its progress and result, as a local run prints them. */
async function submit(argv: string[], log: Log): Promise<number> {
  const parsed = parseSubmitArgs(argv);
  if ('problems' in parsed) return refused(parsed.problems, 'submit');
  const run = parsed.kind === 'record' ? parseRecordArgs(parsed.rest) : parseExportArgs(parsed.rest);
  if ('problems' in run) return refused(run.problems, parsed.kind);
  const { init, json } = submittedRun(run);
  const { createJobQueue } = await import('../jobs/job-queue.js');
  let queue;
  try {
    queue = await createJobQueue({ connection: parsed.redis, name: parsed.queue, connectTimeoutMs: parsed.connectTimeoutMs });
  } catch (err) {
    log.error((err as Error).message, { event: 'error' });
    return 1;
  }
  try {
    let job;
    try {
      job = await queue.submit(init, { attempts: parsed.attempts, ...(parsed.cost === undefined ? {} : { cost: parsed.cost }), ...(parsed.distributed === undefined ? {} : { distributed: parsed.distributed }) });
    } catch (err) {
      if (err instanceof ConfigError) {
        printProblems(err.problems);
        return 2;
      }
      throw err;
    }
    if (!parsed.wait) {
      process.stdout.write(json ? `${JSON.stringify({ job: job.id, queue: parsed.queue })}\n` : `${job.id}\n`);
      return 0;
    }
    const tty = bar(log, json);
    log.info(`avpipe: job ${job.id} on queue "${parsed.queue}"`, { event: 'submitted', job: job.id, queue: parsed.queue });
    if (!tty) job.on('progress', everySecond((p) => log.debug(formatJobProgress(p), { event: 'progress', job: job.id, ...p })));
    if (tty) job.on('progress', (p) => process.stderr.write(`\r${formatJobProgress(p)}\x1b[K`));
    let result;
    try {
      result = await job.result();
    } finally {
      if (tty) process.stderr.write('\n');
    }
    return printResult(result, json, log);
  } catch (err) {
    log.error(`${err instanceof AvpipeError ? `${err.code}: ` : ''}${(err as Error).message}`, { event: 'error', ...(err instanceof AvpipeError ? { code: err.code } : {}) });
    return 1;
  } finally {
    await queue.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-V' || command === 'version') {
    process.stdout.write(versionText());
    return 0;
  }
  // `avpipe help COMMAND` and `avpipe COMMAND --help` (before any `--`): that command's help alone.
  const asked = command === 'help' ? rest[0] : (rest.slice(0, rest.includes('--') ? rest.indexOf('--') : undefined).some((a) => a === '--help' || a === '-h') ? command : undefined);
  if (asked !== undefined) {
    const help = commandHelp(asked);
    if (help === undefined) return unknownCommand(asked);
    process.stdout.write(help);
    return 0;
  }
  if (command !== undefined && (COMMANDS as readonly string[]).includes(command)) {
    // --log-level and --log-format: every command's, taken out before its own options are parsed.
    const { options, rest: args, problems } = takeLogOptions(rest);
    const log = (processLog = await createLog(options));
    if (problems.length > 0) return refused(problems, command);
    if (command === 'serve') return serve(args, log);
    if (command === 'worker') return worker(args, log);
    if (command === 'submit') return submit(args, log);
    if (command === 'repair') return repair(args, log);
    if (command === 'record') return runCommand(parseRecordArgs(args), 'record', log);
    return runCommand(parseExportArgs(args), 'export', log);
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  return unknownCommand(command);
}

/** An unknown command: the one it looks like a slip of, and the usage; exit code 2. */
function unknownCommand(command: string): number {
  const like = suggest(command, COMMANDS);
  const usage = USAGE.split('\n\n')[0]!;
  process.stderr.write(`avpipe: unknown command "${command}"${like === undefined ? '' : ` (did you mean ${like}?)`}\n\n${usage}\n\n\`avpipe help COMMAND\` (or \`avpipe COMMAND --help\`) lists a command's options.\n`);
  return 2;
}

/**
 * The commands on Redis end the process once done: a connection that never came up keeps ioredis
 * retrying (and the process alive) after its client gave up. What was written to stdout goes first.
 */
const ENDS_ITSELF = new Set(['worker', 'submit']);
/** `serve --redis` is on Redis too. */
const endsItself = (argv: string[]): boolean => ENDS_ITSELF.has(argv[0] ?? '') || (argv[0] === 'serve' && argv.some((a) => a === '--redis' || a.startsWith('--redis=')));

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    if (endsItself(process.argv.slice(2))) process.stdout.write('', () => process.exit(code));
  },
  (err: unknown) => {
    if (processLog?.format === 'json') processLog.error((err as Error).message ?? String(err), { event: 'crash', stack: (err as Error).stack });
    else process.stderr.write(`avpipe: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
    if (endsItself(process.argv.slice(2))) process.stdout.write('', () => process.exit(1));
  },
);
