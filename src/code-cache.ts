import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

/**
 * The file's text as a one-byte string: read as latin1 (a third of the time of UTF-8 here), with any
 * non-ASCII character written as its `\\u` escape, which means the same in a string, a regular
 * expression, an identifier or a comment (mediabunny's two are in comments). A UTF-8 read would make
 * all 1.5 million characters two bytes wide for them (13 ms more to read, slower to compile).
 */
function oneByteSource(bytes: Buffer): string {
  // Each run of non-ASCII bytes, read as latin1 characters, becomes the escapes of the UTF-16 units
  // its UTF-8 encodes; the result stays one-byte.
  return bytes.toString('latin1').replace(/[\x80-\xff]+/g, (run) => Array.from(Buffer.from(run, 'latin1').toString('utf8'),
    (c) => Array.from({ length: c.length }, (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')).join(''));
}

/**
 * Loads a CommonJS file as `require` would, compiled from a V8 code cache kept in the user's cache
 * directory (`$XDG_CACHE_HOME/avpipe`, else `~/.cache/avpipe`): what Node 22's compile cache does,
 * for the one large module every `avpipe` command loads (mediabunny's 1.3 MB bundle: 68 ms to
 * compile and run here, 25 ms from the cache). The cache is named by the file's size and time and
 * the Node version; V8 rejects one that does not fit, and then, or on any error reading or writing
 * the cache, the file is compiled as usual and the cache rewritten.
 * @internal
 */
export function requireWithCodeCache(file: string): { exports: unknown; cache: 'used' | 'written' | 'rejected' | 'unwritable' } {
  const source = oneByteSource(readFileSync(file));
  const info = statSync(file);
  const cacheDir = join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'avpipe');
  const cacheFile = join(cacheDir, `${file.replace(/[^A-Za-z0-9.-]+/g, '_').slice(-80)}-${info.size}-${Math.round(info.mtimeMs)}-${process.version}-${process.arch}.v8`);
  let cached: Buffer | undefined;
  try {
    cached = readFileSync(cacheFile);
  } catch {
    cached = undefined;
  }
  // The same wrapper as Node's CommonJS loader.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) { ${source}\n});`, {
    filename: file, ...(cached === undefined ? {} : { cachedData: cached }),
  });
  const module = { exports: {} as unknown };
  (script.runInThisContext() as (...args: unknown[]) => void)
    .call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  if (cached !== undefined && script.cachedDataRejected !== true) return { exports: module.exports, cache: 'used' };
  try {
    // After running, so the functions compiled at load are in the cache too; written whole or not at all.
    mkdirSync(cacheDir, { recursive: true });
    const partial = `${cacheFile}.${process.pid}.partial`;
    writeFileSync(partial, script.createCachedData());
    renameSync(partial, cacheFile);
  } catch {
    // A read-only or full disk: the next run compiles again.
    return { exports: module.exports, cache: 'unwritable' };
  }
  return { exports: module.exports, cache: cached === undefined ? 'written' : 'rejected' };
}
