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

/** Bytes read from the file at a time: the demuxer's many small reads (a sample, a box header) are served from memory. */
const BLOCK = 256 << 10;
/** Blocks kept, most recently used last: enough for each track's place in an interleaved file. */
const BLOCKS_KEPT = 8;

/**
 * A mediabunny source over the file at `path` that a demuxer cannot spin on. mediabunny 1.61's
 * Matroska demuxer resyncs past damaged bytes by searching for the next level-1 element, and a search
 * that finds none spins forever on the last 8 bytes of its range: a truncated WebM hung the process at
 * 100% CPU, deaf to SIGTERM. That loop re-reads the same slice; with mediabunny's cache off, every
 * read comes here (and is asynchronous, so the process stays responsive), and a range asked for
 * {@link MAX_SAME_READS} times in a row fails the read with a {@link DemuxerLoopError}. The file is
 * read 256 KiB at a time into a few blocks kept here (mediabunny's cache would hide the loop): a read
 * per frame made a 60 s copy export 28% slower than mediabunny's own file source; 1 MiB blocks cost
 * 35 MB more peak RSS (garbage the collector takes late), 256 KiB about 10.
 */
export async function guardedFileSource(path: string): Promise<InstanceType<typeof CustomSource>> {
  const fh = await open(path, 'r');
  const size = (await fh.stat()).size;
  let last = -1;
  let lastEnd = -1;
  let same = 0;
  const blocks = new Map<number, Promise<Uint8Array>>();
  /** Block `i` of the file (short at its end), read once while it is kept. */
  const block = (i: number): Promise<Uint8Array> => {
    let b = blocks.get(i);
    if (b !== undefined) blocks.delete(i);
    else {
      const read = readAt(fh, i * BLOCK, Math.min(BLOCK, size - i * BLOCK));
      // A failed read is not kept: the next read of that block tries the disk again.
      read.catch(() => {
        if (blocks.get(i) === read) blocks.delete(i);
      });
      b = read;
      if (blocks.size >= BLOCKS_KEPT) blocks.delete(blocks.keys().next().value!);
    }
    blocks.set(i, b);
    return b;
  };
  return new CustomSource({
    getSize: () => size,
    read: async (start, end) => {
      same = start === last && end === lastEnd ? same + 1 : 0;
      last = start;
      lastEnd = end;
      if (same >= MAX_SAME_READS) throw new DemuxerLoopError(start, end);
      const first = Math.floor(start / BLOCK);
      const lastBlock = Math.floor((Math.min(end, size) - 1) / BLOCK);
      if (first === lastBlock && end <= size) {
        const b = await block(first);
        // A copy: a packet kept for long (a queue, a held frame) holds its bytes, not the whole block.
        if (b.byteLength >= end - first * BLOCK) return b.slice(start - first * BLOCK, end - first * BLOCK);
      }
      // Across blocks, or larger than one: read as asked.
      const got = end - start > BLOCK ? await readAt(fh, start, end - start) : await spanning(start, end);
      if (got.byteLength === end - start) return got;
      // The range lies inside the file; one that shrank meanwhile reads as zeros past its end.
      const out = new Uint8Array(end - start);
      out.set(got);
      return out;
    },
    dispose: () => void fh.close().catch(() => undefined),
    maxCacheSize: 0,
  });

  /** A range over two blocks (at most one block long), from the blocks kept. */
  async function spanning(start: number, end: number): Promise<Uint8Array> {
    const out = new Uint8Array(end - start);
    let filled = 0;
    for (let i = Math.floor(start / BLOCK); i * BLOCK < end && i * BLOCK < size; i++) {
      const b = await block(i);
      const from = Math.max(start, i * BLOCK) - i * BLOCK;
      const to = Math.min(end - i * BLOCK, b.byteLength);
      if (to <= from) break;
      out.set(b.subarray(from, to), i * BLOCK + from - start);
      filled = i * BLOCK + to - start;
    }
    return out.subarray(0, filled);
  }
}
