/**
 * Every error code, in one list (docs/errors.md documents each; a test holds the two together).
 * `JOB_FAILED` is a job the queue gave up on for a reason of its own (stalled too often, removed): not the run's.
 */
export const ERROR_CODES = [
  'CONFIG_INVALID', 'SOURCE_FAILED', 'ENCODER_FAILED', 'MUXER_FAILED', 'SINK_FAILED', 'INVALID_STATE', 'ABORTED',
  'INPUT_INVALID', 'INPUT_TRUNCATED', 'UPLOAD_FAILED', 'JOB_FAILED',
] as const;

/** Stable error codes. A caller branches on `code`, never on the message text. */
export type AvpipeErrorCode = (typeof ERROR_CODES)[number];

/** Options common to every avpipe error. */
export interface AvpipeErrorOptions {
  /** Whether the run cannot go on after this error. Defaults to true. */
  fatal?: boolean;
  /** The underlying error, if any. */
  cause?: unknown;
}

/** The one base class of every error avpipe throws or reports in a result. */
export class AvpipeError extends Error {
  /** A stable, machine-readable code. */
  readonly code: AvpipeErrorCode;
  /** True when the pipeline cannot continue. */
  readonly fatal: boolean;

  constructor(code: AvpipeErrorCode, message: string, options: AvpipeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AvpipeError';
    this.code = code;
    this.fatal = options.fatal ?? true;
  }

  /** A plain object for JSON results (Error's own fields are not enumerable). */
  toJSON(): {
    /** The error class's name: `AvpipeError`, or a subclass's (`ConfigError`, `InputError`). */
    name: string;
    /** The stable code to branch on. */
    code: AvpipeErrorCode;
    /** True when the pipeline cannot continue. */
    fatal: boolean;
    /** What went wrong, for people; not to be parsed. */
    message: string;
    /** The cause's message (or the cause as a string), when there is one. */
    cause?: string;
  } {
    const cause = this.cause instanceof Error ? this.cause.message : this.cause === undefined ? undefined : String(this.cause);
    return { name: this.name, code: this.code, fatal: this.fatal, message: this.message, ...(cause === undefined ? {} : { cause }) };
  }
}

/** One problem found in a configuration, naming the field it concerns. */
export interface ConfigProblem {
  /** Dotted path of the field, e.g. `encoding.width` or `outputs[1].url`. */
  field: string;
  /** What is wrong with it. */
  message: string;
}

/** A configuration was rejected before anything started; every problem is listed at once. */
export class ConfigError extends AvpipeError {
  /** All problems found, each naming its field. */
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super('CONFIG_INVALID', `invalid pipeline config:\n${problems.map((p) => `  ${p.field}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Wraps any thrown value into an AvpipeError with the given code, keeping existing AvpipeErrors as they are. @internal */
export function toAvpipeError(code: AvpipeErrorCode, what: string, err: unknown): AvpipeError {
  if (err instanceof AvpipeError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AvpipeError(code, `${what}: ${message}`, { cause: err });
}
