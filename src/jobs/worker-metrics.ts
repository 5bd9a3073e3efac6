import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobWorker } from './job-worker.js';

/**
 * A worker's metrics in Prometheus's format: jobs by what happened to them, the running jobs and
 * their reserved cost against the capacity, `avpipe_load_ratio` (cpu, memory) for autoscalers as
 * egress's `livekit_load_ratio`, each running job's speed, and the live queues' drops. The gauges
 * are read from the worker when scraped; the registry is the worker's own (not prom-client's global).
 * `close()` stops counting the worker's events.
 */
export function workerMetrics(worker: JobWorker): {
  /** The worker's registry: `await registry.metrics()` is the text to serve. */
  registry: Registry;
  /** Stops counting the worker's events. */
  close(): void;
} {
  const register = new Registry();
  register.setDefaultLabels({ queue: worker.name });
  collectDefaultMetrics({ register });
  const jobs = new Counter({ name: 'avpipe_jobs_total', help: "Jobs by event: admitted, refused (a job back to the queue, a session answered 503), given_back (stopped at a drain deadline), completed, chunk_done (a distributed export's chunk), failed (a run)", labelNames: ['event'], registers: [register] });
  for (const event of ['admitted', 'refused', 'given_back', 'completed', 'chunk_done', 'failed']) jobs.inc({ event }, 0);
  const counted = { active: 'admitted', refused: 'refused', givenBack: 'given_back', completed: 'completed', chunkDone: 'chunk_done', failed: 'failed' } as const;
  const listeners = Object.entries(counted).map(([name, event]) => [name, () => jobs.inc({ event })] as const);
  for (const [name, fn] of listeners) worker.on(name as keyof typeof counted, fn);
  new Gauge({ name: 'avpipe_jobs_running', help: 'Jobs running on this worker', registers: [register], collect() { this.set(worker.running); } });
  new Gauge({ name: 'avpipe_sessions_running', help: 'WHIP sessions running on this worker (live jobs pinned here; serve --redis)', registers: [register], collect() { this.set(worker.sessions); } });
  new Gauge({ name: 'avpipe_running_cost_cores', help: 'CPU reserved by the running jobs and sessions, cores', registers: [register], collect() { this.set(worker.admission.reservedCpu); } });
  new Gauge({ name: 'avpipe_capacity_cores', help: 'Cores the worker fills with jobs: --max-cpu times its cores', registers: [register], collect() { this.set(worker.admission.capacity); } });
  new Gauge({
    name: 'avpipe_load_ratio', help: "The worker's load as a share of what it has: CPU of its cores, memory of its limit (a cgroup's when set)", labelNames: ['resource'], registers: [register],
    collect() {
      const r = worker.monitor.ratios();
      this.set({ resource: 'cpu' }, r.cpu);
      this.set({ resource: 'memory' }, r.memory);
    },
  });
  new Gauge({
    name: 'avpipe_job_speed', help: "A running job's media time per wall time (1 for a live run on time)", labelNames: ['job'], registers: [register],
    collect() {
      this.reset();
      for (const j of worker.jobs()) if (j.progress !== undefined) this.set({ job: j.id }, j.progress.speed);
    },
  });
  new Counter({ name: 'avpipe_queue_dropped_total', help: "Items the live jobs' queues dropped", registers: [register], collect() { this.reset(); this.inc(worker.dropped); } });
  return {
    registry: register,
    /** Stops counting the worker's events. */
    close: () => {
      for (const [name, fn] of listeners) worker.off(name as keyof typeof counted, fn);
    },
  };
}
