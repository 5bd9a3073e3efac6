import { statSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import type { ConfigProblem } from '../errors.js';
import { isNumberTemplate } from './outputs.js';
import type { PipelineConfigInit } from './config-init.js';

/** The file at `path` (symlinks followed), or undefined when there is none. */
function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** The same file: one device and inode, whatever the names (symlinks, hard links). */
function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** The paths an output writes by a name of its own (numbered images are new files each), with their fields. @internal */
export function writtenPaths(init: PipelineConfigInit): { field: string; path: string }[] {
  const out: { field: string; path: string }[] = [];
  (Array.isArray(init.outputs) ? init.outputs : []).forEach((o, i) => {
    const add = (key: string, path: unknown): void => {
      if (typeof path === 'string' && path !== '' && !isNumberTemplate(path)) out.push({ field: `outputs[${i}].${key}`, path });
    };
    if ('path' in o) add('path', o.path);
    if ('playlist' in o) add('playlist', o.playlist);
    if ('livePlaylist' in o) add('livePlaylist', o.livePlaylist);
  });
  return out;
}

/**
 * Where the outputs would write, checked before anything is touched: never over an input (`export X
 * --output X` used to destroy X and exit 0), through a symlink or a hard link included; never two
 * outputs onto one file; never onto a directory.
 */
export function pathProblems(init: PipelineConfigInit): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const inputs = (init.source?.type === 'file' && Array.isArray(init.source.inputs) ? init.source.inputs : [])
    .map((input, i) => ({ field: `source.inputs[${i}].path`, path: input.path, stat: typeof input.path === 'string' ? statOf(input.path) : undefined }));
  const written = writtenPaths(init).map((w) => ({ ...w, absolute: resolve(w.path), stat: statOf(w.path) }));
  written.forEach((w, i) => {
    if (w.stat?.isDirectory() === true) {
      problems.push({ field: w.field, message: `${w.path} is a directory` });
      return;
    }
    const input = inputs.find((x) => x.stat !== undefined && w.stat !== undefined && sameFile(x.stat, w.stat));
    if (input !== undefined) problems.push({ field: w.field, message: `${w.path} is the input ${input.path} (${input.field}): writing it would destroy it` });
    const other = written.slice(0, i).find((x) => x.absolute === w.absolute || (x.stat !== undefined && w.stat !== undefined && sameFile(x.stat, w.stat)));
    if (other !== undefined) problems.push({ field: w.field, message: `${w.path} is also written by ${other.field}` });
  });
  return problems;
}
