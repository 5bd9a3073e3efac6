import type { JobCost } from './job-cost.js';

/** What a worker measured of itself: the load admission weighs besides the costs it reserved. */
export interface LoadSample {
  /** CPU the worker's process used over the last sample, in cores. */
  cpuCores: number;
  /** Memory still available to the process (the cgroup's limit less its use, or the machine's). */
  availableMemoryBytes: number;
}

/** Admission's answer for one job. */
export type AdmissionDecision =
  | {
    /** Admitted: its cost is reserved. */
    admit: true;
  }
  | {
    /** Refused. */
    admit: false;
    /** What does not fit: its memory, or its CPU beside the load. */
    reason: string;
  };

/** The default share of the cores a worker fills: egress's `max_cpu_utilization`. */
export const DEFAULT_MAX_CPU = 0.8;
/** Memory left free after a job is admitted: the encoder's peaks and the process's own growth. */
export const DEFAULT_MEMORY_HEADROOM = 512 * 2 ** 20;

/**
 * Which jobs a worker takes: each job's cost is reserved while it runs, and a new one is admitted
 * only while the projected load (the larger of what is reserved and what is measured, so a job that
 * costs more than estimated counts as measured) plus its cost stays within `maxCpu` of the cores,
 * and its memory fits in what is available less a headroom. An idle worker (one running nothing but
 * exports waiting on their chunks) takes any job whose memory fits: a job that costs more than the
 * whole worker (a non-live export takes every core) runs alone rather than never, so the measured
 * load never exceeds `maxCpu` by more than one job's cost.
 * Pure: the worker measures, this decides.
 */
export class Admission {
  /** The cores the worker may fill: `maxCpu` times its cores. */
  readonly capacity: number;
  /** Memory left free after a job is admitted, bytes. */
  readonly memoryHeadroomBytes: number;
  private readonly _running = new Map<string, { cost: JobCost; waiting: boolean }>();
  /** Jobs admitted since the worker started. */
  admitted = 0;
  /** Jobs refused since the worker started. */
  refused = 0;

  constructor(
    /** The worker's cores. */
    readonly cores: number,
    /** The share of the cores it fills with jobs, in (0, 1]. */
    readonly maxCpu: number = DEFAULT_MAX_CPU,
    memoryHeadroomBytes: number = DEFAULT_MEMORY_HEADROOM,
  ) {
    if (!(maxCpu > 0 && maxCpu <= 1)) throw new RangeError(`maxCpu is a share of the cores, in (0, 1], got ${maxCpu}`);
    this.capacity = maxCpu * cores;
    this.memoryHeadroomBytes = memoryHeadroomBytes;
  }

  /** Jobs admitted and running. */
  get running(): number {
    return this._running.size;
  }

  /** The CPU reserved by the running jobs, cores. */
  get reservedCpu(): number {
    let sum = 0;
    for (const r of this._running.values()) sum += r.cost.cpu;
    return sum;
  }

  /** Running jobs that are not waiting on others' work (a distributed export waits on its chunks). */
  private get _busy(): number {
    let n = 0;
    for (const r of this._running.values()) if (!r.waiting) n++;
    return n;
  }

  /** The load a new job would be added to: reserved or measured, whichever is more. */
  projectedCpu(load: LoadSample): number {
    return Math.max(this.reservedCpu, load.cpuCores);
  }

  /** True while another job could fit: the worker should look for one. */
  hasRoom(load: LoadSample): boolean {
    return this._busy === 0 || this.projectedCpu(load) < this.capacity;
  }

  /**
   * Admits `id` (reserving its cost) or says why not. A `waiting` job (a distributed export, which
   * waits on its chunks) does not keep the worker from being idle: a chunk may always run beside
   * the exports it serves, so a worker holding exports never refuses the chunks they wait for.
   */
  decide(id: string, cost: JobCost, load: LoadSample, waiting = false): AdmissionDecision {
    const free = load.availableMemoryBytes - this.memoryHeadroomBytes;
    let reason: string | undefined;
    if (cost.memoryBytes > free) {
      reason = `needs ${mib(cost.memoryBytes)} MiB of memory, ${mib(Math.max(0, free))} MiB free beyond the ${mib(this.memoryHeadroomBytes)} MiB headroom`;
    } else if (this._busy > 0 && this.projectedCpu(load) + cost.cpu > this.capacity + 1e-9) {
      reason = `costs ${cost.cpu.toFixed(2)} cores; ${this.projectedCpu(load).toFixed(2)} of ${this.capacity.toFixed(2)} in use`;
    }
    if (reason !== undefined) {
      this.refused++;
      return { admit: false, reason };
    }
    this._running.set(id, { cost, waiting });
    this.admitted++;
    return { admit: true };
  }

  /** A job admitted has ended: its reservation is freed. */
  release(id: string): void {
    this._running.delete(id);
  }
}

/** Bytes as whole MiB, for messages. @internal */
export function mib(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}
