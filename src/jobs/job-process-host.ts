import type { MessagePortLike } from '../worker-script.js';
import type { FromJobHost, ToJobHost } from './job-process.js';

/**
 * A job's process (see JobProcess): it loads the entry modules named in its arguments while it
 * waits, then runs the one it is told to with a port over its IPC channel. It ends when the worker
 * ends it (after the result) or when the worker is gone (the channel closed), as a thread would.
 * The worker decides when the job stops (its drain), so the signals a terminal or a service manager
 * send the whole group are not this process's to act on.
 */
const send = (m: FromJobHost, then?: () => void): void => {
  if (process.connected) process.send!(m, undefined, undefined, then);
  else then?.();
};
const fail = (err: unknown): void => {
  const e = err instanceof Error ? err : new Error(String(err));
  send({ type: 'error', name: e.name, message: e.message }, () => process.exit(1));
};
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('disconnect', () => process.exit(1));
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

// Loaded ahead: a failure here shows again, typed, when the job imports the module itself.
const loaded = Promise.allSettled(process.argv.slice(2).map((m) => import(m)));

/** Messages for the job, held until it listens (as a MessagePort holds them). */
const held: unknown[] = [];
const listeners: ((message: unknown) => void)[] = [];
const port: MessagePortLike = {
  postMessage: (message) => send({ type: 'message', message }),
  on: (_event, listener) => {
    listeners.push(listener);
    for (const m of held.splice(0)) listener(m);
    return port;
  },
};
process.on('message', (m: ToJobHost) => {
  if (m.type === 'message') {
    if (listeners.length === 0) held.push(m.message);
    else for (const l of listeners) l(m.message);
    return;
  }
  void (async () => {
    await loaded;
    const entry = (await import(m.module)) as Record<string, (data: unknown, port: MessagePortLike) => unknown>;
    await entry[m.name]!(m.data, port);
  })().catch(fail);
});
