/**
 * avpipe's jobs on BullMQ and Redis (`avpipe/jobs`): a queue to submit pipeline configs to and
 * workers that run them. Apart from the main entry, so a library user who runs pipelines in-process
 * never loads BullMQ.
 */
export { createJobQueue, JobQueue, JobHandle, DEFAULT_QUEUE, type JobQueueOptions, type SubmitOptions, type JobHandleEvents, type RedisConnection } from './job-queue.js';
export { createWorker, JobWorker, type JobWorkerOptions, type JobWorkerEvents, type JobWorkerState, type RunningJob } from './job-worker.js';
export { DEFAULT_MAX_CPU, type Admission, type AdmissionDecision, type LoadSample } from './admission.js';
export type { LoadMonitor } from './load-monitor.js';
export { estimateJobCost, type JobCost } from './job-cost.js';
export { serveWorkerHttp, type WorkerHttp } from './worker-http.js';
export { workerMetrics } from './worker-metrics.js';
export type { JobData, JobProgress, JobResult } from './job-data.js';
