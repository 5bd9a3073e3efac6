import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AvpipeError } from '../errors.js';
import { atomicWrite } from '../file-io.js';
import { closingLines } from './playlist.js';

/** What closing an HLS playlist a killed recorder left found. */
export interface PlaylistRepairReport {
  /** The media playlist, closed. */
  path: string;
  /** Segments the playlist lists (each complete: written under a temporary name, then renamed). */
  segments: number;
  /** Their media duration (the sum of EXTINF), microseconds. */
  durationUs: number;
  /** Listed segments that are not on disk (deleted since): listed still, named here. */
  missing: string[];
  /** Temporary files (a segment or playlist being written when the recorder died) removed. */
  removed: string[];
}

/**
 * Closes the media playlist at `path` that a killed recorder left: it already lists only complete
 * segments, so it gets its `#EXT-X-ENDLIST` (players then treat it as a finished recording, not a
 * live one to poll) and the temporary files beside it are removed. Throws `INPUT_INVALID`, the file
 * untouched, when it is not a media playlist or is already closed with nothing to clean.
 * @internal
 */
export async function closePlaylist(path: string): Promise<PlaylistRepairReport> {
  const text = await readFile(path, 'utf8');
  if (!text.startsWith('#EXTM3U')) throw new AvpipeError('INPUT_INVALID', `${path} is not an HLS playlist (no #EXTM3U)`);
  const lines = text.split(/\r?\n/);
  let durationUs = 0;
  const uris: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^#EXTINF:([0-9.]+)/.exec(lines[i]!);
    if (m === null) continue;
    durationUs += Math.round(Number(m[1]) * 1e6);
    const uri = lines.slice(i + 1).find((l) => l.trim() !== '' && !l.startsWith('#'));
    if (uri !== undefined) uris.push(uri.trim());
  }
  const dir = dirname(path);
  const missing: string[] = [];
  for (const uri of uris) {
    if (/^[a-z]+:\/\//i.test(uri)) continue;
    if (!(await stat(join(dir, uri)).then((s) => s.size > 0, () => false))) missing.push(uri);
  }
  // Temporary files of this playlist and of its segments (named after it by default).
  const stem = basename(path).replace(/\.m3u8$/i, '');
  const removed = (await readdir(dir)).filter((f) => f.endsWith('.tmp') && f.startsWith(stem)).map((f) => join(dir, f));
  const tail = closingLines(text);
  if (tail === '' && removed.length === 0) throw new AvpipeError('INPUT_INVALID', `${path} is already closed (#EXT-X-ENDLIST): nothing to repair`);
  await Promise.all(removed.map((f) => rm(f, { force: true })));
  if (tail !== '') await atomicWrite(path, `${text}${tail}`);
  return { path, segments: uris.length, durationUs, missing, removed };
}
