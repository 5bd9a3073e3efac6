import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { extname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Storage } from './storage.js';

/** Where an S3 storage puts objects, and how it reaches the service. */
export interface S3StorageOptions {
  /** The bucket's name. */
  bucket: string;
  /** Put before every key (`recordings/2026/`): an object's key is the prefix and the file's name. */
  prefix?: string;
  /** The region; default the SDK's (`AWS_REGION`, the shared config), else `us-east-1` for a custom endpoint. */
  region?: string;
  /** An S3-compatible service's URL (MinIO, R2, a test server); default the SDK's (`AWS_ENDPOINT_URL_S3`) or AWS. */
  endpoint?: string;
  /**
   * `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key`; default true for an
   * endpoint that is an IP address or localhost (no DNS names per bucket there), else false.
   */
  forcePathStyle?: boolean;
  /** Parts of a multipart upload, bytes (default 8 MiB; S3's least is 5 MiB). A smaller file is one PUT. */
  partSize?: number;
  /** Default: the SDK's chain (environment, shared config and credentials files, an instance's role). */
  credentials?: {
    /** The access key's ID. */
    accessKeyId: string;
    /** The access key's secret. */
    secretAccessKey: string;
    /** The session token of temporary credentials (STS). */
    sessionToken?: string;
  };
}

/** MIME types of what avpipe writes, so players and CDNs serve them right. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.mp4': 'video/mp4', '.m4a': 'audio/mp4', '.mov': 'video/quicktime', '.webm': 'video/webm', '.mkv': 'video/x-matroska',
  '.ogg': 'audio/ogg', '.opus': 'audio/ogg', '.m3u8': 'application/vnd.apple.mpegurl', '.ts': 'video/mp2t', '.m4s': 'video/iso.segment',
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp', '.json': 'application/json',
};

/**
 * Objects in an S3 bucket (AWS or any S3-compatible service), through the AWS SDK: multipart uploads
 * of large files (parts sent 4 at a time, an upload that fails aborted so no parts are left billed),
 * the SDK's own retries, credentials and endpoint from its standard environment and config unless
 * given. An upload is confirmed by reading the object's size back. The SDK is loaded on first use.
 */
export class S3Storage implements Storage {
  /** The bucket's name. */
  readonly bucket: string;
  /** Put before every key (empty when none). */
  readonly prefix: string;
  private readonly _options: S3StorageOptions;
  private _client: Promise<S3Client> | undefined;

  constructor(options: S3StorageOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this._options = options;
  }

  get name(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  /** The object key for a file's key: the prefix and it. */
  objectKey(key: string): string {
    return `${this.prefix}${key}`;
  }

  /**
   * Uploads the file as the object `prefix` + `key`; resolves with its `s3://bucket/key` URL once its
   * size is read back (left to the SDK's checksums when the credentials may write but not read).
   */
  async upload(localPath: string, key: string): Promise<string> {
    const Key = this.objectKey(key);
    const client = await this.client();
    const [{ Upload }, { HeadObjectCommand }] = await Promise.all([import('@aws-sdk/lib-storage'), import('@aws-sdk/client-s3')]);
    const { size } = await stat(localPath);
    const contentType = CONTENT_TYPES[extname(localPath).toLowerCase()];
    const upload = new Upload({
      client,
      params: { Bucket: this.bucket, Key, Body: createReadStream(localPath), ContentLength: size, ...(contentType === undefined ? {} : { ContentType: contentType }) },
      // S3 takes at most 10 000 parts: a file past 10 000 of them has larger ones.
      partSize: Math.max(5 * 2 ** 20, this._options.partSize ?? 8 * 2 ** 20, Math.ceil(size / 10_000)),
      queueSize: 4,
      leavePartsOnError: false,
    });
    await upload.done();
    // The object's size read back; credentials that may write but not read (a recorder's) leave it at
    // the upload's own checks (the SDK's checksums of what was sent).
    const head = await client.send(new HeadObjectCommand({ Bucket: this.bucket, Key })).catch((err: { $metadata?: { httpStatusCode?: number } }) => {
      if (err.$metadata?.httpStatusCode === 403) return undefined;
      throw err;
    });
    if (head !== undefined && head.ContentLength !== size) throw new Error(`s3://${this.bucket}/${Key} holds ${head.ContentLength} bytes, the file ${size}`);
    return `s3://${this.bucket}/${Key}`;
  }

  /**
   * Copies the object for `key` (the prefix and it) to `localPath`, through a temporary name so a
   * reader never sees half of it; checks the size against the object's.
   */
  async download(key: string, localPath: string): Promise<number> {
    const client = await this.client();
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const object = await client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
    const tmp = `${localPath}.downloading`;
    try {
      await pipeline(object.Body as Readable, createWriteStream(tmp));
      const { size } = await stat(tmp);
      if (object.ContentLength !== undefined && size !== object.ContentLength) throw new Error(`read ${size} of ${object.ContentLength} bytes of s3://${this.bucket}/${this.objectKey(key)}`);
      await rename(tmp, localPath);
      return size;
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async removePrefix(prefix: string): Promise<void> {
    const client = await this.client();
    const { ListObjectsV2Command, DeleteObjectsCommand } = await import('@aws-sdk/client-s3');
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.objectKey(prefix), ...(token === undefined ? {} : { ContinuationToken: token }) }));
      const keys = (page.Contents ?? []).map((c) => ({ Key: c.Key! }));
      if (keys.length > 0) await client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }));
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** Closes the client's connections; idempotent. */
  async close(): Promise<void> {
    const client = this._client;
    this._client = undefined;
    (await client)?.destroy();
  }

  private client(): Promise<S3Client> {
    this._client ??= import('@aws-sdk/client-s3').then(({ S3Client }) => {
      const o = this._options;
      const endpoint = o.endpoint ?? process.env['AWS_ENDPOINT_URL_S3'] ?? process.env['AWS_ENDPOINT_URL'];
      const region = o.region ?? process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'] ?? (endpoint === undefined ? undefined : 'us-east-1');
      return new S3Client({
        ...(region === undefined ? {} : { region }),
        ...(o.endpoint === undefined ? {} : { endpoint: o.endpoint }),
        forcePathStyle: o.forcePathStyle ?? (endpoint !== undefined && pathStyleHost(endpoint)),
        ...(o.credentials === undefined ? {} : { credentials: o.credentials }),
      });
    });
    return this._client;
  }
}

/** True for an endpoint whose host is an IP address or localhost: buckets cannot be DNS names there. */
export function pathStyleHost(endpoint: string): boolean {
  try {
    const host = new URL(endpoint).hostname.replace(/^\[(.*)\]$/, '$1');
    return isIP(host) !== 0 || host === 'localhost' || host.endsWith('.localhost');
  } catch {
    return false;
  }
}
