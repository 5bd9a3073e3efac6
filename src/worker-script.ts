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
