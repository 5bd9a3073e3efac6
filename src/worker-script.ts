import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * A worker thread's script, given as a URL beside the module that starts it: that file when built;
 * its copy under dist/ when the module runs from src/ (tests), since a worker cannot load TypeScript.
 * @internal
 */
export function workerScript(script: URL): URL {
  if (existsSync(fileURLToPath(script))) return script;
  return new URL(script.href.replace(/\/src\/(?!.*\/src\/)/, '/dist/'));
}

/**
 * The flags a job's process and its thread are started with: the process's own, less what made it
 * run a string rather than a file (`node --input-type=module -e CODE`, as a script that starts a job
 * worker may be): a thread refuses `--input-type`, and a forked process given `-e CODE` would run
 * that code instead of its file. Debugger flags stay with the process they were given to.
 * @internal
 */
export function threadExecArgv(): string[] {
  const out: string[] = [];
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    // A debugger's port is the process's own: a job's process would clash with it, or wait for one.
    if (a.startsWith('--input-type=') || a.startsWith('--eval=') || a.startsWith('--print=') || /^--inspect(-brk|-port|-wait)?(=|$)/.test(a)) continue;
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print' || a === '-pe' || a === '--input-type') {
      i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

/**
 * What a unit of work talks through: a worker thread's `parentPort`, or the IPC channel of a job's
 * process (messages are structured clones either way; over IPC a transfer is a copy).
 * @internal
 */
export interface MessagePortLike {
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  on(event: string, listener: (message: any) => void): unknown;
}
