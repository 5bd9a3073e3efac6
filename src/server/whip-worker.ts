import { parentPort, workerData } from 'node:worker_threads';
import { toAvpipeError } from '../errors.js';
import { SessionHost, type SessionHostOptions } from './session-host.js';

/**
 * A worker thread of the WHIP server: a {@link SessionHost} driven by messages (requests carry `req`,
 * answered by `{ req, value }` or `{ req, error }`), posting every session's end and, each second,
 * every session's counters.
 */
const port = parentPort!;
const host = new SessionHost(workerData as SessionHostOptions);

port.on('message', (m: { req: number; op: string; id: string; name: string; init: never; offer: string; candidate: string; mid?: string; abort?: boolean }) => {
  const run = async (): Promise<unknown> => {
    switch (m.op) {
      case 'open': return host.open(m.id, m.name, m.init, m.offer, (result, stats) => port.postMessage({ end: m.id, result, stats }));
      case 'waiting': return host.waiting(m.id);
      case 'resume': return host.resume(m.id, m.offer);
      case 'candidate': return host.candidate(m.id, m.candidate, m.mid);
      case 'hangUp': return host.hangUp(m.id);
      case 'stopAll': return host.stopAll(m.abort === true);
      default: throw new TypeError(`unknown op ${m.op}`);
    }
  };
  run().then(
    (value) => port.postMessage({ req: m.req, value }),
    (err: unknown) => {
      const e = toAvpipeError('SOURCE_FAILED', 'WHIP session', err);
      port.postMessage({ req: m.req, error: { code: e.code, message: e.message } });
    },
  );
});

setInterval(() => port.postMessage({ stats: host.snapshot() }), 1000).unref();
