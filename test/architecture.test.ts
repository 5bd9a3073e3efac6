import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The folders of `src/` from the bottom up: a module imports only from its own folder and the folders
 * below it, so a frame's path from source to sink crosses each folder once, in one direction. The
 * root modules (errors, time, bytes, file-io, signal) are the floor; `index.ts`, the public API, the roof.
 */
const LAYERS = ['(root)', 'media', 'storage', 'config', 'queues', 'convert', 'codecs', 'muxers', 'sinks', 'sources', 'pipeline', 'server', 'jobs', 'cli'];

const SRC = resolve(import.meta.dirname, '../src');

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? modules(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** `src/codecs/wasm/x.ts` -> `codecs`; a root module -> `(root)`. */
function layerOf(file: string): string {
  const parts = relative(SRC, file).split('/');
  return parts.length === 1 ? '(root)' : parts[0]!;
}

/** Every relative import (static, dynamic, type-only) of every module under src/, as [from, to]. */
function imports(): [string, string][] {
  const edges: [string, string][] = [];
  for (const file of modules(SRC)) {
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from\s+|import\(\s*)'(\.[^']+)'/g)) {
      edges.push([file, resolve(dirname(file), m[1]!).replace(/\.js$/, '.ts')]);
    }
  }
  return edges;
}

describe('architecture', () => {
  it('every folder of src/ is a known layer', () => {
    const folders = new Set(modules(SRC).map(layerOf));
    expect([...folders].filter((f) => !LAYERS.includes(f))).toEqual([]);
  });

  it('imports point down the layers: no folder imports one above it, so there are no circles between folders', () => {
    const upward = imports()
      .filter(([from]) => relative(SRC, from) !== 'index.ts')
      .filter(([from, to]) => LAYERS.indexOf(layerOf(to)) > LAYERS.indexOf(layerOf(from)))
      .map(([from, to]) => `${relative(SRC, from)} -> ${relative(SRC, to)}`);
    expect(upward).toEqual([]);
  });

  it('no module imports itself through others (no file-level circles)', () => {
    const graph = new Map<string, string[]>();
    for (const [from, to] of imports()) graph.set(from, [...(graph.get(from) ?? []), to]);
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of graph.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
