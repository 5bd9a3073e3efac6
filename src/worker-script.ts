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
 * The flags a worker thread is started with: the process's own, less one a thread refuses (a process
 * started with `node --input-type=module -e`, as a script that starts a job worker may be).
 * @internal
 */
export function threadExecArgv(): string[] {
  return process.execArgv.filter((a) => !a.startsWith('--input-type'));
}
