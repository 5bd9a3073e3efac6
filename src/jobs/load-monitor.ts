import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, freemem, totalmem } from 'node:os';
import type { LoadSample } from './admission.js';

/** How often the worker's CPU is sampled: a load that lasts a second counts. */
const SAMPLE_MS = 1000;

/**
 * The cores this process may use: a cgroup's CPU quota when one is set (a container's `--cpus`),
 * else the CPUs the process may run on.
 */
export function cpuCores(): number {
  const cpus = availableParallelism();
  try {
    const [quota, period] = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim().split(/\s+/);
    if (quota !== undefined && quota !== 'max' && Number(period) > 0) return Math.min(cpus, Math.max(0.1, Number(quota) / Number(period)));
  } catch {
    // No cgroup v2 CPU controller here: the CPUs are the limit.
  }
  return cpus;
}

/** Memory available to the process: libuv's answer is cgroup-aware (the limit less its use). */
export function availableMemory(): number {
  return process.availableMemory?.() ?? freemem();
}

/** Memory the process may use at most: the cgroup's limit when set, else the machine's. */
export function memoryLimit(): number {
  const constrained = process.constrainedMemory?.() ?? 0;
  return constrained > 0 && constrained < totalmem() ? constrained : totalmem();
}

/** Linux's clock ticks per second for /proc's CPU times (USER_HZ: 100 on every architecture Node runs on). */
const USER_HZ = 100;

/** The process's children (its jobs' processes), from /proc; none where there is no /proc. */
function childPids(): number[] {
  try {
    return readdirSync('/proc/self/task').flatMap((tid) => {
      try {
        return readFileSync(`/proc/self/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter((p) => p !== '').map(Number);
      } catch {
        return [];
      }
    });
  } catch {
    return [];
  }
}

/** The CPU time (user + system, microseconds) a process has used, or undefined once it is gone. */
function cpuUsOf(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / USER_HZ;
  } catch {
    return undefined;
  }
}

/** Each live child's CPU time so far (microseconds), by pid. */
function childrenCpu(): Map<number, number> {
  const cpu = new Map<number, number>();
  for (const pid of childPids()) {
    const us = cpuUsOf(pid);
    if (us !== undefined) cpu.set(pid, us);
  }
  return cpu;
}

/**
 * Samples the CPU the worker uses, once a second: its own process (every thread: `process.cpuUsage()`)
 * and its children, the processes its jobs run in (Linux: /proc; a child that ended since the last
 * sample has its last second uncounted). The sample is what admission weighs. Stops with `close()`.
 */
export class LoadMonitor {
  /** The cores the load is a share of: the cgroup's CPU quota when set, else the CPUs the process may use. */
  readonly cores: number;
  private _last = { at: performance.now(), usage: process.cpuUsage() };
  /** Children already running when it starts count from then, not from their start. */
  private _children = childrenCpu();
  private _cpuCores = 0;
  private readonly _timer: NodeJS.Timeout;
  private readonly _onSample: (() => void) | undefined;

  /** `onSample` is called after each sample (the worker looks again for room). */
  constructor(cores: number = cpuCores(), onSample?: () => void) {
    this.cores = cores;
    this._onSample = onSample;
    this._timer = setInterval(() => this._sample(), SAMPLE_MS);
    this._timer.unref();
  }

  /** The last sample, memory read now. */
  sample(): LoadSample {
    return { cpuCores: this._cpuCores, availableMemoryBytes: availableMemory() };
  }

  /** The load as shares of what the worker has: CPU of its cores, memory of its limit. */
  ratios(): {
    /** CPU used over the last sample, as a share of `cores`. */
    cpu: number;
    /** Memory in use as a share of the limit (the cgroup's when set), 0 to 1. */
    memory: number;
  } {
    const limit = memoryLimit();
    return { cpu: this._cpuCores / this.cores, memory: Math.min(1, Math.max(0, 1 - availableMemory() / limit)) };
  }

  /** Stops sampling. */
  close(): void {
    clearInterval(this._timer);
  }

  private _sample(): void {
    const at = performance.now();
    const usage = process.cpuUsage();
    let us = usage.user - this._last.usage.user + (usage.system - this._last.usage.system);
    const children = childrenCpu();
    for (const [pid, cpu] of children) us += cpu - (this._children.get(pid) ?? 0);
    this._children = children;
    this._cpuCores = us / 1000 / (at - this._last.at);
    this._last = { at, usage };
    this._onSample?.();
  }
}
