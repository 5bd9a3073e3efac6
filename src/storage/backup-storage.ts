import type { Storage } from './storage.js';

/**
 * egress's backup store: a file goes to `primary`, and when that fails (an S3 store has retried
 * it already) to `backup`, so a recording leaves the machine even while one store is down. The
 * location returned says which store holds it.
 */
export class BackupStorage implements Storage {
  constructor(
    /** Where every file goes first. */
    readonly primary: Storage,
    /** Where a file goes when `primary` fails it. */
    readonly backup: Storage,
  ) {}

  get name(): string {
    return `${this.primary.name} (backup ${this.backup.name})`;
  }

  /** Uploads to `primary`, else to `backup`; fails with both errors when both fail. */
  async upload(localPath: string, key: string): Promise<string> {
    try {
      return await this.primary.upload(localPath, key);
    } catch (err) {
      try {
        return await this.backup.upload(localPath, key);
      } catch (backupErr) {
        throw new Error(`${(err as Error).message}; backup: ${(backupErr as Error).message}`);
      }
    }
  }
}
