import { rm } from 'node:fs/promises';
import type PQueue from 'p-queue';
import type { Storage } from './storage.js';
import { isStorage, storageOf, withBackup, type StorageSpec } from './storage-spec.js';

/** How uploads run. */
export interface UploadOptions {
  /** Where finished files go: a Storage object, or one named as data (which a job's config needs). */
  storage: Storage | StorageSpec;
  /** Where a file goes when `storage` fails it (egress's backup store). */
  backup?: Storage | StorageSpec;
  /** Uploads at once (default 4). */
  concurrency?: number;
  /** Tries after the first failure, with doubling backoff (default 3). */
  retries?: number;
  /** First backoff, ms (default 500). */
  backoffMs?: number;
  /** Remove the local copy once its upload is confirmed (default false: keep both). */
  deleteLocal?: boolean;
}

/** The uploads of a run, in a result. */
export interface UploadsResult {
  /** The storage's name (with its backup's, when there is one), e.g. `local:/srv/media`. */
  storage: string;
  /** Files uploaded, in the order their uploads were confirmed. */
  uploaded: {
    /** The local file. */
    path: string;
    /** Where it is stored, as the storage said (which store holds it, with a backup). */
    location: string;
    /** Its size, bytes. */
    bytes: number;
  }[];
  /** Files whose upload failed for good; their local copies are kept. */
  failed: {
    /** The local file. */
    path: string;
    /** Why: the last error of each store tried (`...; backup: ...`). */
    error: string;
  }[];
  /** Retries over all uploads. */
  retries: number;
}

/**
 * Uploads finished files through a {@link Storage}, at most `concurrency` at a time (p-queue), each
 * retried with backoff. A local file is removed only after its upload is confirmed (and only when
 * asked), so a failed upload loses nothing.
 * @internal
 */
export class Uploader {
  private readonly _opts: Required<Omit<UploadOptions, 'storage' | 'backup'>> & { storage: Storage };
  /** The storages made here from specs (closed when the uploads are done); a caller's own are the caller's. */
  private readonly _made: Storage[];
  /** p-queue, loaded when a run has storage (not at every start-up). */
  private readonly _queue: Promise<PQueue>;
  private readonly _result: UploadsResult;
  /**
   * The last upload queued per key, until it is done: the next of that key waits for it, and one
   * that is no longer the last when its turn comes is skipped (a playlist rewritten while its last
   * upload waits is uploaded once, newest). Each waits for the one before it, so these are all the
   * uploads not yet done.
   */
  private readonly _byKey = new Map<string, Promise<void>>();
  private readonly _backup: Storage | undefined;

  constructor(options: UploadOptions) {
    const stores = [options.storage, ...(options.backup === undefined ? [] : [options.backup])];
    const [primary, backup] = stores.map(storageOf);
    this._made = stores.flatMap((s, i) => (isStorage(s) ? [] : [i === 0 ? primary! : backup!]));
    this._backup = backup;
    this._opts = { concurrency: 4, retries: 3, backoffMs: 500, deleteLocal: false, ...options, storage: primary! };
    this._queue = import('p-queue').then(({ default: Queue }) => new Queue({ concurrency: this._opts.concurrency }));
    this._result = { storage: withBackup(primary!, backup).name, uploaded: [], failed: [], retries: 0 };
  }

  /**
   * Queues `localPath` for upload as `key`; `bytes` is its size for the result. Uploads of one key go
   * one after the other (a playlist rewritten during its upload never lands older than it is).
   */
  add(localPath: string, key: string, bytes: number, keepLocal = false): void {
    const before = this._byKey.get(key) ?? Promise.resolve();
    // Waits for the key's last upload before it takes one of the queue's slots (a wait holds none).
    const task: Promise<void> = before
      .then(() => this._queue)
      .then((q) => q.add(async () => {
        if (this._byKey.get(key) !== task) return;
        await this._upload(localPath, key, bytes, keepLocal);
      }))
      .catch((err: unknown) => void this._result.failed.push({ path: localPath, error: (err as Error).message }))
      .finally(() => {
        // A key's entry goes with its last upload: a day of HLS segments does not pile up here.
        if (this._byKey.get(key) === task) this._byKey.delete(key);
      });
    this._byKey.set(key, task);
  }

  /** Resolves when every queued upload is done (uploaded or given up). */
  async drain(): Promise<UploadsResult> {
    while (this._byKey.size > 0) await Promise.all(this._byKey.values());
    await Promise.all(this._made.map((s) => s.close?.()));
    return this.toJSON();
  }

  /** The store with its retries, then the backup with its own. */
  private async _upload(localPath: string, key: string, bytes: number, keepLocal: boolean): Promise<void> {
    const errors: string[] = [];
    for (const store of this._backup === undefined ? [this._opts.storage] : [this._opts.storage, this._backup]) {
      for (let attempt = 0; ; attempt++) {
        try {
          const location = await store.upload(localPath, key);
          this._result.uploaded.push({ path: localPath, location, bytes });
          if (this._opts.deleteLocal && !keepLocal) await rm(localPath, { force: true });
          return;
        } catch (err) {
          if (attempt >= this._opts.retries) {
            errors.push((err as Error).message);
            break;
          }
          this._result.retries++;
          await new Promise((r) => setTimeout(r, this._opts.backoffMs * 2 ** attempt));
        }
      }
    }
    this._result.failed.push({ path: localPath, error: errors.join('; backup: ') });
  }

  toJSON(): UploadsResult {
    return { ...this._result, uploaded: [...this._result.uploaded], failed: [...this._result.failed] };
  }
}
