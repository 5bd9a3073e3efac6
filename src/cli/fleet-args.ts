import type { ConfigProblem } from '../errors.js';
import { DEFAULT_MAX_CPU } from '../jobs/admission.js';
import { connectionOptions } from '../jobs/job-queue.js';

/** A missing or malformed --redis, as a problem (exit 2, not a stack trace). */
export function redisProblem(url: string | undefined, problems: ConfigProblem[]): void {
  if (url === undefined) return void problems.push({ field: '--redis', message: 'give the Redis URL (redis://HOST:PORT)' });
  try {
    connectionOptions(url);
  } catch (err) {
    problems.push({ field: '--redis', message: (err as Error).message });
  }
}

/** --max-cpu R (default 0.8): the share of the cores `what` may fill. */
export function maxCpuArg(v: string | undefined, what: string, problems: ConfigProblem[]): number {
  const maxCpu = v === undefined ? DEFAULT_MAX_CPU : Number(v);
  if (!(maxCpu > 0 && maxCpu <= 1)) problems.push({ field: '--max-cpu', message: `is the share of the cores ${what} may fill, above 0 and at most 1, got "${v}"` });
  return maxCpu;
}

/** --metrics-port P (0: any free port), when given. */
export function metricsPortArg(v: string | undefined, problems: ConfigProblem[]): number | undefined {
  const port = v === undefined ? undefined : Number(v);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) problems.push({ field: '--metrics-port', message: `must be a port number, got "${v}"` });
  return port;
}
