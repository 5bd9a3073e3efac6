import { parentPort, workerData } from 'node:worker_threads';
import { toAvpipeError } from '../errors.js';
import { SessionHost } from './session-host.js';
import type { FromWorker, HostCall, HostCallValues, ToWorker, WorkerData } from './worker-protocol.js';

/**
 * A worker thread of the WHIP server: a {@link SessionHost} driven by the calls of ./worker-protocol.ts,
 * each answered by its value or its error, posting every session's end and, each second, every
 * session's counters.
 */
const port = parentPort!;
const host = new SessionHost(workerData as WorkerData);

function post(message: FromWorker): void {
  port.postMessage(message);
}

/** Runs one call on the host; resolves with what its reply carries. */
async function run(call: HostCall): Promise<HostCallValues[HostCall['op']]> {
  switch (call.op) {
    case 'open': return host.open(call.id, call.name, call.init, call.offer, (result, stats) => post({ type: 'end', id: call.id, result, stats }));
    case 'waiting': return host.waiting(call.id);
    case 'resume': return host.resume(call.id, call.offer);
    case 'candidate':
      await host.candidate(call.id, call.candidate, call.mid);
      return undefined;
    case 'hangUp':
      host.hangUp(call.id);
      return undefined;
    case 'setPaused': return host.setPaused(call.id, call.paused);
    case 'stopAll':
      host.stopAll(call.abort);
      return undefined;
    default: {
      // A new op not handled above fails to compile here.
      const unhandled: never = call;
      throw new TypeError(`unknown op ${(unhandled as HostCall).op}`);
    }
  }
}

port.on('message', (m: ToWorker) => {
  run(m).then(
    (value) => post({ type: 'reply', req: m.req, value }),
    (err: unknown) => {
      const e = toAvpipeError('SOURCE_FAILED', 'WHIP session', err);
      post({ type: 'error', req: m.req, error: { code: e.code, message: e.message } });
    },
  );
});

setInterval(() => post({ type: 'stats', sessions: host.snapshot() }), 1000).unref();
