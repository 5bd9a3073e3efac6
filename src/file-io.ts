import { rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Reads `length` bytes at `position`: fewer only where the file ends first. */
export async function readAt(fh: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  return out.subarray(0, await readInto(fh, out, position, length));
}

/** Reads `length` bytes at `position` into the start of `buffer`; returns how many (fewer only where the file ends first). */
export async function readInto(fh: FileHandle, buffer: Uint8Array, position: number, length: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Where an export writes before it is complete: `.NAME.partial` beside the path, renamed onto it at the end. */
export function asidePath(path: string): string {
  return join(dirname(path), `.${basename(path)}.partial`);
}

/**
 * Writes all of `bytes` at `position`. A write may be short (a disk that fills mid-write takes what
 * fits and reports success); the rest is written again, and a disk with no room left then fails with
 * ENOSPC instead of leaving a silently cut element behind.
 */
export async function writeAll(fh: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.byteLength;) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.byteLength - done, position + done);
    if (bytesWritten === 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    done += bytesWritten;
  }
}

/**
 * Writes a file so that a reader sees the old or the new content (or none), never half of it: to
 * `PATH.tmp`, renamed over the path. A failed write leaves no temporary file behind.
 */
export async function atomicWrite(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
