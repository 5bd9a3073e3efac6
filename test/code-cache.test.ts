import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const LOADER = resolve('dist/code-cache.js');

/** Loads `file` in a new Node process (V8 keeps compiled scripts per process): its exports and how the cache served. */
function load(file: string, cacheHome: string): { exports: unknown; cache: string } {
  const script = `import(${JSON.stringify(LOADER)}).then(({ requireWithCodeCache }) => console.log(JSON.stringify(requireWithCodeCache(${JSON.stringify(file)}))))`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, XDG_CACHE_HOME: cacheHome }, encoding: 'utf8' })) as { exports: unknown; cache: string };
}

describe('requireWithCodeCache (the start-up path of mediabunny)', () => {
  it('loads a CommonJS file as require does, from a V8 code cache once written; a bad cache is rewritten', () => {
    const dir = mkdtempSync(join(tmpdir(), 'avpipe-cc-'));
    const cacheHome = join(dir, 'cache');
    const file = join(dir, 'mod.cjs');
    // Non-ASCII in a string, a regular expression, a template and a comment (µs, an em dash, an emoji).
    writeFileSync(file, "// 10 µs — a comment\nconst path = require('node:path');\nmodule.exports = { s: 'µs — 😀', re: /é+/.test('ééé'), t: `✓${1}`, name: path.basename(__filename), self: this === module.exports };\n");
    const expected = { s: 'µs — 😀', re: true, t: '✓1', name: 'mod.cjs', self: true };
    expect(load(file, cacheHome)).toEqual({ exports: expected, cache: 'written' });
    expect(load(file, cacheHome)).toEqual({ exports: expected, cache: 'used' });
    const [cacheFile] = readdirSync(join(cacheHome, 'avpipe'));
    writeFileSync(join(cacheHome, 'avpipe', cacheFile!), 'not a code cache');
    expect(load(file, cacheHome)).toEqual({ exports: expected, cache: 'rejected' });
    expect(load(file, cacheHome)).toEqual({ exports: expected, cache: 'used' });
  });

  it('gives a changed file of the same size and time its own cache, never the old bytecode', () => {
    const dir = mkdtempSync(join(tmpdir(), 'avpipe-cc-'));
    const file = join(dir, 'mod.cjs');
    writeFileSync(file, 'module.exports = 1;\n');
    const at = new Date('2026-01-01T00:00:00Z');
    utimesSync(file, at, at);
    expect(load(file, join(dir, 'cache'))).toEqual({ exports: 1, cache: 'written' });
    writeFileSync(file, 'module.exports = 2;\n');
    utimesSync(file, at, at);
    expect(load(file, join(dir, 'cache'))).toEqual({ exports: 2, cache: 'written' });
    expect(load(file, join(dir, 'cache'))).toEqual({ exports: 2, cache: 'used' });
  });

  it('runs no bytecode from a cache directory others may write to', () => {
    const dir = mkdtempSync(join(tmpdir(), 'avpipe-cc-'));
    const file = join(dir, 'mod.cjs');
    writeFileSync(file, 'module.exports = 3;\n');
    mkdirSync(join(dir, 'cache', 'avpipe'), { recursive: true });
    chmodSync(join(dir, 'cache', 'avpipe'), 0o777);
    expect(load(file, join(dir, 'cache'))).toEqual({ exports: 3, cache: 'unwritable' });
    expect(readdirSync(join(dir, 'cache', 'avpipe'))).toEqual([]);
  });

  it('loads without a cache where none can be written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'avpipe-cc-'));
    // The cache directory's parent is a file: nothing can be made under it.
    writeFileSync(join(dir, 'blocked'), '');
    const file = join(dir, 'mod.cjs');
    writeFileSync(file, 'module.exports = 7;\n');
    expect(load(file, join(dir, 'blocked'))).toEqual({ exports: 7, cache: 'unwritable' });
  });
});
