import { execFile } from 'node:child_process';
import { linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { PipelineConfigInit } from '../../src/index.js';
import { parseExportArgs } from '../../src/cli/args.js';
import { problemsOf } from '../helpers/config.js';
import { tmpDir } from '../helpers/tmp.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const dir = tmpDir();


describe('output paths, checked before anything is touched', () => {
  const input = join(dir, 'meeting.mp4');
  const bytes = Buffer.from('not really an mp4, but bytes that must survive');
  writeFileSync(input, bytes);
  const hard = join(dir, 'hard-link.mp4');
  linkSync(input, hard);
  const soft = join(dir, 'sym-link.mp4');
  symlinkSync(input, soft);
  const exportTo = (path: string): PipelineConfigInit => ({ live: false, source: { type: 'file', inputs: [{ path: input }] }, outputs: [{ path }] });

  it.each([['the same path', input], ['a symlink to it', soft], ['a hard link to it', hard]])('an output that is the input (%s) is refused, naming both', (_, out) => {
    expect(problemsOf(exportTo(out))).toEqual([{ field: 'outputs[0].path', message: expect.stringMatching(/is the input .*meeting\.mp4 \(source\.inputs\[0\]\.path\): writing it would destroy it/) }]);
    expect(readFileSync(input)).toEqual(bytes);
  });

  it('an output path that is a directory is refused', () => {
    const d = join(dir, 'a-dir.mp4');
    mkdirSync(d);
    expect(problemsOf(exportTo(d))).toEqual([{ field: 'outputs[0].path', message: `${d} is a directory` }]);
  });

  it('two outputs writing one file are refused', () => {
    const p = join(dir, 'hls', 'index.m3u8');
    expect(problemsOf({ live: true, outputs: [{ playlist: p, livePlaylist: p }] })).toEqual([{ field: 'outputs[0].livePlaylist', message: `${p} is also written by outputs[0].playlist` }]);
  });

  it('the built CLI: `export X --output X` exits 2 and leaves X byte for byte as it was', async () => {
    const r = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, 'export', input, '--output', soft], (err, _stdout, stderr) => resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, stderr }));
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('writing it would destroy it');
    expect(readFileSync(input)).toEqual(bytes);
  });

  it('an input whose name looks like INPUT@OFFSET#ROUTE stays reachable: an existing file is taken whole, --input never reads suffixes', () => {
    const odd = join(dir, 'take@2#left');
    writeFileSync(odd, 'x');
    const whole = parseExportArgs([odd, '--output', join(dir, 'o1.mp4')]);
    expect('init' in whole && whole.init.source).toEqual({ type: 'file', inputs: [{ path: odd }] });
    // A name that is no file is read as before: a path, an offset and a route.
    const suffixed = parseExportArgs([join(dir, 'voice.ogg@1.5#right'), '--output', join(dir, 'o2.mp4')]);
    expect('init' in suffixed && suffixed.init.source).toEqual({ type: 'file', inputs: [{ path: join(dir, 'voice.ogg'), offset: 1.5, route: 'right' }] });
    const named = parseExportArgs(['--input', join(dir, 'x@3'), '--output', join(dir, 'o3.mp4')]);
    expect('init' in named && named.init.source).toEqual({ type: 'file', inputs: [{ path: join(dir, 'x@3') }] });
  });
});
