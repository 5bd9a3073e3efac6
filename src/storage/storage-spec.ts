import { BackupStorage } from './backup-storage.js';
import { S3Storage, type S3StorageOptions } from './s3-storage.js';
import { LocalStorage, type Storage } from './storage.js';

/**
 * A storage as data, so a config that names one survives JSON (a job in a queue, a config file):
 * a local directory or an S3 bucket.
 */
export type StorageSpec =
  | {
    /** A local directory ({@link LocalStorage}). */
    type: 'local';
    /** The directory (a relative one from the working directory). */
    dir: string;
  }
  | ({
    /** An S3 bucket ({@link S3Storage}): the other fields are its options. */
    type: 's3';
  } & S3StorageOptions);

/** True for a Storage object (anything with `upload`), false for a spec. */
export function isStorage(s: Storage | StorageSpec): s is Storage {
  return typeof (s as Storage).upload === 'function';
}

/** The storage a spec names (a Storage object is itself). */
export function storageOf(s: Storage | StorageSpec): Storage {
  if (isStorage(s)) return s;
  if (s.type === 'local') return new LocalStorage(s.dir);
  const { type: _, ...options } = s;
  return new S3Storage(options);
}

/** `storage`, or `storage` with `backup` behind it. */
export function withBackup(storage: Storage, backup: Storage | undefined): Storage {
  return backup === undefined ? storage : new BackupStorage(storage, backup);
}

/**
 * A storage from the command line: `s3://BUCKET/PREFIX` (the scheme in any case), else a local
 * directory. The prefix is a folder: `s3://b/rec` and `s3://b/rec/` both put `out.mp4` at
 * `rec/out.mp4`. Another scheme (`gs://`, `s3:/b`) is refused rather than taken for a directory.
 */
export function parseStorageUrl(url: string): StorageSpec {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/i.exec(url);
  if (m === null) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(url)) throw new TypeError(`"${url}" is not s3://BUCKET/PREFIX nor a directory (other stores are not supported)`);
    return { type: 'local', dir: url };
  }
  const prefix = m[2] ?? '';
  return { type: 's3', bucket: m[1]!, ...(prefix === '' ? {} : { prefix: prefix.endsWith('/') ? prefix : `${prefix}/` }) };
}

/** An S3 bucket name as S3 allows one: 3 to 63 of a-z, 0-9, '.' and '-', starting and ending with a letter or digit. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** What is wrong with a storage given in a config, as messages for `field`. */
export function storageProblems(s: unknown): string[] {
  if (typeof s !== 'object' || s === null) return ['must be a Storage (an object with upload(localPath, key)) or { type: "local", dir } or { type: "s3", bucket, ... }'];
  if (typeof (s as Storage).upload === 'function') return [];
  const spec = s as StorageSpec;
  if (spec.type === 'local') return typeof spec.dir === 'string' && spec.dir !== '' ? [] : ['a local storage needs dir'];
  if (spec.type !== 's3') return [`type must be "local" or "s3", got ${JSON.stringify((spec as { type?: unknown }).type)}`];
  const problems: string[] = [];
  if (typeof spec.bucket !== 'string' || !BUCKET.test(spec.bucket)) problems.push(`bucket must be an S3 bucket name (3 to 63 of a-z, 0-9, ".", "-"), got ${JSON.stringify(spec.bucket)}`);
  if (spec.prefix !== undefined && (typeof spec.prefix !== 'string' || spec.prefix.startsWith('/'))) problems.push(`prefix must be a key prefix not starting with "/", got ${JSON.stringify(spec.prefix)}`);
  if (spec.endpoint !== undefined && !/^https?:\/\/[^/]/.test(String(spec.endpoint))) problems.push(`endpoint must be an http(s) URL, got ${JSON.stringify(spec.endpoint)}`);
  if (spec.partSize !== undefined && !(Number.isInteger(spec.partSize) && spec.partSize >= 5 * 2 ** 20)) problems.push(`partSize must be whole bytes, at least 5 MiB (S3's least), got ${String(spec.partSize)}`);
  return problems;
}
