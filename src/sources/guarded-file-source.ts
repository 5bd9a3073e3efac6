import { open } from 'node:fs/promises';
import { readAt } from '../file-io.js';
import { CustomSource } from '../muxers/mediabunny.js';

/** The same byte range read this many times in a row is a demuxer going round in circles. */
const MAX_SAME_READS = 1000;

/** A demuxer that kept reading the same bytes of a damaged file. */
export class DemuxerLoopError extends Error {
  constructor(readonly start: number, readonly end: number) {
    super(`the demuxer kept reading bytes ${start}-${end} (a damaged file it cannot get past)`);
    this.name = 'DemuxerLoopError';
  }
}

/**
 * A mediabunny source over the file at `path` that a demuxer cannot spin on. mediabunny 1.61's
 * Matroska demuxer resyncs past damaged bytes by searching for the next level-1 element, and a search
 * that finds none spins forever on the last 8 bytes of its range: a truncated WebM hung the process at
 * 100% CPU, deaf to SIGTERM. That loop re-reads the same slice; with mediabunny's cache off, every
 * read comes here (and is asynchronous, so the process stays responsive), and a range asked for
 * {@link MAX_SAME_READS} times in a row fails the read with a {@link DemuxerLoopError}. Reading without
 * the cache measured no slower (a 30 s 720p WebM demuxed in 165 ms against 205 ms).
 */
export async function guardedFileSource(path: string): Promise<InstanceType<typeof CustomSource>> {
  const fh = await open(path, 'r');
  const size = (await fh.stat()).size;
  let last = -1;
  let lastEnd = -1;
  let same = 0;
  return new CustomSource({
    getSize: () => size,
    read: async (start, end) => {
      same = start === last && end === lastEnd ? same + 1 : 0;
      last = start;
      lastEnd = end;
      if (same >= MAX_SAME_READS) throw new DemuxerLoopError(start, end);
      const got = await readAt(fh, start, end - start);
      if (got.byteLength === end - start) return got;
      // The range lies inside the file; one that shrank meanwhile reads as zeros past its end.
      const out = new Uint8Array(end - start);
      out.set(got);
      return out;
    },
    dispose: () => void fh.close().catch(() => undefined),
    maxCacheSize: 0,
  });
}
