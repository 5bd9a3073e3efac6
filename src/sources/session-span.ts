import type { FileSourceInit } from '../config/config-init.js';
import { ConfigError } from '../errors.js';
import type { FileInput } from './file-source.js';

/**
 * The inputs of a file source whose session is trimmed to `start`..`end` (seconds on the session
 * timeline, inputs at their offsets): each input's own span and offset moved so that session time
 * `start` becomes 0, what lies outside cut. A trim of the session is thus a trim of each input, one
 * mechanism for both. An input that starts at or after `end` is left out.
 */
export function spanInputs(spec: Pick<FileSourceInit, 'inputs' | 'start' | 'end'>): FileInput[] {
  if (spec.start === undefined && spec.end === undefined) return [...spec.inputs];
  const from = spec.start ?? 0;
  const to = spec.end ?? Infinity;
  const out: FileInput[] = [];
  for (const input of spec.inputs) {
    const offset = input.offset ?? 0;
    const start = input.start ?? 0;
    if (offset >= to) continue;
    // The part of the input before the session's start is cut from its own start.
    const ownStart = start + Math.max(0, from - offset);
    const ownEnd = Math.min(input.end ?? Infinity, start + (to - offset));
    if (ownEnd <= ownStart) continue;
    const moved: FileInput = { ...input };
    delete moved.offset;
    delete moved.start;
    delete moved.end;
    if (offset > from) moved.offset = offset - from;
    if (ownStart > 0) moved.start = ownStart;
    if (Number.isFinite(ownEnd)) moved.end = ownEnd;
    out.push(moved);
  }
  if (out.length === 0) throw new ConfigError([{ field: spec.end === undefined ? 'source.start' : 'source.end', message: `no input has media between the session's start (${from} s) and end (${to} s)` }]);
  return out;
}
