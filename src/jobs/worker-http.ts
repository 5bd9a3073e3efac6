import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JobWorker } from './job-worker.js';
import { workerMetrics } from './worker-metrics.js';

/** A worker's HTTP endpoint: `/metrics` for Prometheus, `/healthz` for an orchestrator. */
export interface WorkerHttp {
  /** The port it listens on (the one the system picked, when asked for 0). */
  readonly port: number;
  /** Stops counting the worker's events and closes the server; resolves once its connections are closed. */
  close(): Promise<void>;
}

/**
 * Serves `/metrics` (Prometheus's text format) and `/healthz` for `worker`: 200 with the worker's
 * state while it takes jobs or drains (a draining worker is alive: do not kill it), 503 once it is
 * closed or its loop stopped by itself. Anything else is 404; only GET and HEAD are answered.
 */
export async function serveWorkerHttp(worker: JobWorker, port: number, host = '127.0.0.1'): Promise<WorkerHttp> {
  const metrics = workerMetrics(worker);
  const register = metrics.registry;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      register.metrics().then(
        (text) => res.writeHead(200, { 'content-type': register.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(err.message),
      );
    } else if (path === '/healthz') {
      const state = worker.state;
      const alive = state === 'running' || state === 'draining';
      const body = { status: state === 'running' ? 'ok' : state, worker: worker.id, running: worker.running, reservedCores: worker.admission.reservedCpu, capacityCores: worker.admission.capacity };
      res.writeHead(alive ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
    } else {
      res.writeHead(404).end();
    }
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      metrics.close();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
