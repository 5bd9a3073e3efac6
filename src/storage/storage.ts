import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';

/**
 * Where finished files go (egress's upload targets). `upload` resolves with the stored location only
 * once the copy is confirmed; until then avpipe keeps the local file.
 */
export interface Storage {
  /** Names the storage in results, e.g. `local:/srv/media`. */
  readonly name: string;
  /**
   * Stores the file at `localPath` under `key` (a relative, `/`-separated name: a file's own name, a
   * segment's as its playlist names it); resolves with where it now is once the copy is confirmed.
   */
  upload(localPath: string, key: string): Promise<string>;
  /** Releases what it holds (an S3 client's connections), when it holds anything. */
  close?(): Promise<void>;
  /** Copies what `key` holds to `localPath` (a distributed export's chunks come back this way); its size. */
  download?(key: string, localPath: string): Promise<number>;
  /** Removes everything whose key starts with `prefix` (a folder's worth: a distributed export's chunks). */
  removePrefix?(prefix: string): Promise<void>;
}

/** The built-in storage: a local directory (another disk, a mounted share). */
export class LocalStorage implements Storage {
  /** The directory, as an absolute path. */
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  get name(): string {
    return `local:${this.dir}`;
  }

  /**
   * Copies through a temporary name and renames, so a reader never sees half a file; checks the size.
   * A key cannot leave the directory (`../x`, or a sibling that shares its prefix such as `/srv/media2`
   * beside `/srv/media`), and a failed copy leaves no temporary file behind.
   */
  async upload(localPath: string, key: string): Promise<string> {
    const dest = this._path(key);
    await mkdir(dirname(dest), { recursive: true });
    const tmp = `${dest}.uploading`;
    try {
      await copyFile(localPath, tmp);
      const [a, b] = await Promise.all([stat(localPath), stat(tmp)]);
      if (a.size !== b.size) throw new Error(`copied ${b.size} of ${a.size} bytes`);
      await rename(tmp, dest);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return dest;
  }

  async download(key: string, localPath: string): Promise<number> {
    await copyFile(this._path(key), localPath);
    return (await stat(localPath)).size;
  }

  /** `prefix` is a folder here (it ends with `/`): removed with all it holds. */
  async removePrefix(prefix: string): Promise<void> {
    await rm(this._path(prefix), { recursive: true, force: true });
  }

  /** Where `key` is: inside the directory, or an error. */
  private _path(key: string): string {
    const dest = resolve(this.dir, key);
    if (dest === this.dir || !dest.startsWith(this.dir + sep)) throw new Error(`key ${key} leaves ${this.dir}`);
    return dest;
  }
}
