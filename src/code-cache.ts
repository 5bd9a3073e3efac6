import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { Script } from 'node:vm';
import { threadId } from 'node:worker_threads';

/**
 * The file's text as a one-byte string: read as latin1 (a third of the time of UTF-8 here), each
 * non-ASCII character written as its `\u` escape. That means the same in a comment, a string, a
 * regular expression or an identifier, not in a raw template or after a backslash; mediabunny's two
 * are in comments. A UTF-8 read would make all 1.5 million characters two bytes wide for them (13 ms
 * more to read, slower to compile).
 */
function oneByteSource(bytes: Buffer): string {
  // Each run of non-ASCII bytes, read as latin1 characters, becomes the escapes of the UTF-16 units
  // its UTF-8 encodes; the result stays one-byte.
  return bytes.toString('latin1').replace(/[\x80-\xff]+/g, (run) => Array.from(Buffer.from(run, 'latin1').toString('utf8'),
    (c) => Array.from({ length: c.length }, (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')).join(''));
}

/**
 * The cache directory, when it is safe to run bytecode from: `$XDG_CACHE_HOME/avpipe` (an absolute
 * `XDG_CACHE_HOME` only, as the XDG spec says), else `~/.cache/avpipe`, made if missing, and used
 * only while it is the user's own and no one else may write to it. Undefined otherwise.
 */
function cacheDirectory(): string | undefined {
  const xdg = process.env['XDG_CACHE_HOME'];
  const dir = join(xdg !== undefined && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'avpipe');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const info = statSync(dir);
    const uid = process.getuid?.();
    if (!info.isDirectory() || (uid !== undefined && info.uid !== uid) || (info.mode & 0o022) !== 0) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

/**
 * Loads a CommonJS file as `require` would, compiled from a V8 code cache kept in the user's cache
 * directory ({@link cacheDirectory}): what Node 22's compile cache does, for the one large module
 * every `avpipe` command loads (mediabunny's 1.5 MB bundle: 68 ms to compile and run here, 41 ms from
 * the cache). V8 checks a cache against the source's length, its own version and flags only, so the
 * cache is named by a hash of the file's bytes and the Node version; a cache V8 rejects anyway, or
 * any error reading or writing one, and the file is compiled as usual (and the cache rewritten).
 * @internal
 */
export function requireWithCodeCache(file: string): { exports: unknown; cache: 'used' | 'written' | 'rejected' | 'unwritable' } {
  const bytes = readFileSync(file);
  const source = oneByteSource(bytes);
  const cacheDir = cacheDirectory();
  const key = createHash('sha256').update(bytes).digest('hex').slice(0, 32);
  const cacheFile = cacheDir === undefined ? undefined : join(cacheDir, `${basename(file).replace(/[^A-Za-z0-9.-]+/g, '_')}-${key}-${process.version}-${process.arch}.v8`);
  let cached: Buffer | undefined;
  try {
    cached = cacheFile === undefined ? undefined : readFileSync(cacheFile);
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
  if (cacheFile === undefined) return { exports: module.exports, cache: 'unwritable' };
  // After running, so the functions compiled at load are in the cache too; written whole or not at all.
  const partial = `${cacheFile}.${process.pid}-${threadId}.partial`;
  try {
    writeFileSync(partial, script.createCachedData(), { mode: 0o600 });
    renameSync(partial, cacheFile);
  } catch {
    // A full disk: the next run compiles again.
    rmSync(partial, { force: true });
    return { exports: module.exports, cache: 'unwritable' };
  }
  return { exports: module.exports, cache: cached === undefined ? 'written' : 'rejected' };
}
