import type { ConfigProblem } from '../errors.js';

/** How much the CLI says: each level includes those before it. */
export const LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `pretty`: lines for a person at a terminal; `json`: one JSON object per line (pino's), for a log collector. */
export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The event's own fields, kept as fields in JSON and left out of the pretty line (its text says them). */
export type LogFields = Record<string, unknown>;

/**
 * The CLI's and the server's log (the library logs nothing: it emits events, which the CLI turns into
 * these lines). Everything goes to stderr, leaving stdout to results (`--json`).
 */
export interface Log {
  readonly level: LogLevel;
  readonly format: LogFormat;
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
}

/** What `--log-level` and `--log-format` asked for, taken out of a command's arguments. */
export interface LogOptions {
  level: LogLevel;
  format: LogFormat;
}

/**
 * Takes `--log-level L` and `--log-format F` (or `--opt=value`) out of `argv`, wherever they stand
 * before a `--`: every command accepts them. Problems name a value that is not one of the choices.
 */
export function takeLogOptions(argv: readonly string[]): { options: LogOptions; rest: string[]; problems: ConfigProblem[] } {
  const options: LogOptions = { level: 'info', format: 'pretty' };
  const problems: ConfigProblem[] = [];
  const rest: string[] = [];
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = i < end ? /^--(log-level|log-format)(?:=(.*))?$/.exec(arg) : null;
    if (m === null) {
      rest.push(arg);
      continue;
    }
    const value = m[2] ?? argv[++i];
    const field = `--${m[1]}`;
    const choices: readonly string[] = m[1] === 'log-level' ? LOG_LEVELS : LOG_FORMATS;
    if (value === undefined || !choices.includes(value)) {
      problems.push({ field, message: `${value === undefined ? 'needs a value' : `"${value}" is not one`}: ${choices.join(' | ')}` });
    } else if (m[1] === 'log-level') options.level = value as LogLevel;
    else options.format = value as LogFormat;
  }
  return { options, rest, problems };
}

/** Pretty lines: the text as it is, a warning and an error marked as such. */
const PRETTY_PREFIX: Record<Exclude<LogLevel, 'silent'>, string> = { error: 'avpipe: ', warn: 'avpipe: warning: ', info: '', debug: '' };

/**
 * A log writing to `write` (stderr by default). JSON lines are pino's (`level` as its name, `time` in
 * ISO 8601, `msg`, then the fields); pino is loaded only for them.
 */
export async function createLog(options: LogOptions, write: (line: string) => void = (line) => void process.stderr.write(line)): Promise<Log> {
  const rank = LOG_LEVELS.indexOf(options.level);
  const on = (level: Exclude<LogLevel, 'silent'>): boolean => LOG_LEVELS.indexOf(level) <= rank;
  if (options.format === 'pretty') {
    const line = (level: Exclude<LogLevel, 'silent'>) => (msg: string): void => {
      if (on(level)) write(`${PRETTY_PREFIX[level]}${msg}\n`);
    };
    return { ...options, error: line('error'), warn: line('warn'), info: line('info'), debug: line('debug') };
  }
  const { pino } = await import('pino');
  const logger = pino({
    level: options.level,
    base: null,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, { write: (s: string) => write(s) });
  const entry = (level: Exclude<LogLevel, 'silent'>) => (msg: string, fields: LogFields = {}): void => logger[level](fields, msg);
  return { ...options, error: entry('error'), warn: entry('warn'), info: entry('info'), debug: entry('debug') };
}
