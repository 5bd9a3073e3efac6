import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

describe("the benchmark table (README and docs/benchmarks.md)", () => {
  it('is the one the result files make (bench/table.mjs), row for row, on both pages', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'bench', 'table.mjs')]);
    for (const page of ['README.md', join('docs', 'benchmarks.md')]) {
      const text = readFileSync(join(root, page), 'utf8');
      const section = /<!-- bench:table[^>]*-->\n([\s\S]*?)\n<!-- \/bench:table -->/.exec(text);
      expect(section, `${page} has the bench:table markers`).not.toBeNull();
      expect(section![1], page).toBe(stdout.trimEnd());
    }
    // A row per workload the result files hold: W1 and W2 (each auto and --parallel 1), W3, W3-long, W4, wasm 360p and 720p (each auto and --parallel 1).
    expect(stdout.trimEnd().split('\n').slice(2).map((r) => r.split(' | ')[0]!.slice(2))).toEqual([
      expect.stringMatching(/^W1 /), 'W1, `--parallel 1`', expect.stringMatching(/^W2 /), 'W2, `--parallel 1`', expect.stringMatching(/^W3 /),
      expect.stringMatching(/^W3-long /), expect.stringMatching(/^W4 /),
      expect.stringMatching(/^wasm provider, test source 640x360/), expect.stringMatching(/^wasm 640x360, `--parallel 1`/),
      expect.stringMatching(/^wasm provider, test source 1280x720/), expect.stringMatching(/^wasm 1280x720, `--parallel 1`/),
    ]);
  });
});
