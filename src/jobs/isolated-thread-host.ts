import { Worker } from 'node:worker_threads';
import type { FromThreadHost, ToThreadHost } from './isolated-thread.js';

/**
 * The process an IsolatedThread runs in: it starts the thread it is told to and relays its
 * messages both ways. The worker that started it decides when the job stops (its drain), so the
 * signals a terminal or a service manager sends the whole group are not this process's to act on;
 * when that worker is gone (its IPC channel closed), the job ends with it, as a thread would.
 */
const send = (m: FromThreadHost, then?: () => void): void => {
  if (process.connected) process.send!(m, undefined, undefined, then);
  else then?.();
};
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('disconnect', () => process.exit(1));
process.once('message', (start: ToThreadHost) => {
  if (start.type !== 'start') return process.exit(1);
  const thread = new Worker(new URL(start.script), {
    workerData: start.workerData,
    execArgv: start.execArgv,
    ...(start.resourceLimits === undefined ? {} : { resourceLimits: start.resourceLimits }),
  });
  process.on('message', (m: ToThreadHost) => {
    if (m.type === 'message') thread.postMessage(m.message);
  });
  thread.on('message', (message: unknown) => send({ type: 'message', message }));
  thread.on('error', (err) => send({ type: 'error', name: err.name, message: err.message }));
  thread.on('exit', (code) => send({ type: 'exit', code }, () => process.exit(code)));
});
