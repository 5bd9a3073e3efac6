import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { PipelineConfigInit } from '../config/config-init.js';
import { AvpipeError } from '../errors.js';
import { S3Storage, type S3StorageOptions } from '../storage/s3-storage.js';

/** `s3://BUCKET/KEY` split, or undefined for a local path. */
export function s3Url(path: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+)$/i.exec(path);
  return m === null ? undefined : { bucket: m[1]!, key: m[2]! };
}

/** A job's inputs made local: the config to run, and `cleanup()` removing what was fetched. */
export interface StagedInputs {
  init: PipelineConfigInit;
  /** Bytes fetched. */
  bytes: number;
  /** Each fetched copy's path, to the URL it was fetched from. */
  originals: Record<string, string>;
  cleanup(): Promise<void>;
}

/** The S3 service a job's storage names (its endpoint, region, path style, credentials), or the SDK's own. */
export function s3Service(storage: unknown): Partial<S3StorageOptions> {
  const st = storage as { type?: string } & Partial<S3StorageOptions> | undefined;
  if (st?.type !== 's3') return {};
  return defined({ region: st.region, endpoint: st.endpoint, forcePathStyle: st.forcePathStyle, credentials: st.credentials });
}

/**
 * Fetches `s3://BUCKET/KEY` to `localPath` (its size), through `service`; a missing object fails as
 * SOURCE_FAILED, naming it.
 */
export async function fetchS3(url: string, localPath: string, service: Partial<S3StorageOptions>): Promise<number> {
  const { bucket, key } = s3Url(url)!;
  const store = new S3Storage({ bucket, ...service });
  try {
    return await store.download(key, localPath);
  } catch (err) {
    throw new AvpipeError('SOURCE_FAILED', `cannot read ${url}: ${(err as Error).name === 'NoSuchKey' ? 'no such object' : (err as Error).message}`);
  } finally {
    await store.close();
  }
}

/**
 * Fetches a job's `s3://` inputs into a directory of the job's own, so a worker on any machine reads
 * the same input; the run then reads local files (mediabunny and the copy path seek at will). The
 * S3 service is the job's storage's when that is S3 (its endpoint, region, path style), else the
 * AWS SDK's from the worker's environment; credentials are best kept in the worker's environment,
 * not in the job (Redis holds the job). A missing object fails as SOURCE_FAILED, naming it.
 * `originals` maps each fetched copy's path back to its URL.
 */
export async function stageInputs(init: PipelineConfigInit): Promise<StagedInputs> {
  const source = init.source;
  if (source?.type !== 'file' || !source.inputs.some((i) => s3Url(i.path) !== undefined)) return { init, bytes: 0, originals: {}, cleanup: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), 'avpipe-inputs-'));
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  const service = s3Service(init.storage?.storage);
  let bytes = 0;
  const originals: Record<string, string> = {};
  try {
    const inputs = [];
    for (const [i, input] of source.inputs.entries()) {
      const url = s3Url(input.path);
      if (url === undefined) {
        inputs.push(input);
        continue;
      }
      const local = join(dir, `input-${i}${extname(url.key)}`);
      bytes += await fetchS3(input.path, local, service);
      originals[local] = input.path;
      inputs.push({ ...input, path: local });
    }
    return { init: { ...init, source: { ...source, inputs } }, bytes, originals, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
