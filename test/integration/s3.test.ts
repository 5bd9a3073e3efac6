import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AvpipeError, ConfigError, createPipelineConfig, S3Storage, type PipelineConfigInit } from '../../src/index.js';
import { createJobQueue, createWorker } from '../../src/jobs/index.js';
import { stageInputs } from '../../src/jobs/stage-inputs.js';
import { pathStyleHost } from '../../src/storage/s3-storage.js';
import { parseStorageUrl } from '../../src/storage/storage-spec.js';
import { frames, probe, streamOf } from '../helpers/ffprobe.js';
import { REDIS_MISSING, startRedis } from '../helpers/redis-server.js';
import { describeNeeding } from '../helpers/peers.js';
import { record } from '../helpers/run.js';
import { startS3, type S3Server } from '../helpers/s3-server.js';
import { tmpDir } from '../helpers/tmp.js';

const dir = tmpDir();
const sd = { width: 320, height: 240 };
let s3: S3Server;

beforeAll(async () => {
  s3 = await startS3();
  for (const b of ['avpipe-rec', 'avpipe-backup', 'avpipe-cli', 'avpipe-in', 'avpipe-out', 'avpipe-parts']) await s3.createBucket(b);
});
afterAll(async () => {
  await s3?.stop();
});

/** An object's bytes and content type, read back through the S3 API. */
async function object(bucket: string, key: string): Promise<{ bytes: Buffer; type: string | undefined }> {
  const o = await s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { bytes: Buffer.from(await o.Body!.transformToByteArray()), type: o.ContentType };
}

async function keys(bucket: string, prefix = ''): Promise<string[]> {
  const r = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (r.Contents ?? []).map((c) => c.Key!).sort();
}

describe('S3 storage, against an S3 API server on loopback (s3rver)', () => {
  it('a run uploads its file, segments, playlists and images: keys are the prefix and the names, objects byte-identical, typed for players', async () => {
    const out = join(dir, 'rec');
    // The config as data: it survives JSON (a job's would), the storage named, not an object.
    const init = JSON.parse(JSON.stringify({
      live: false, source: { type: 'test', duration: 6 }, encoding: sd,
      outputs: [{ path: join(out, 'rec.mp4') }, { playlist: join(out, 'hls.m3u8'), segmentDuration: 2 }, { images: join(out, 'th_%02d.jpg'), interval: 3 }],
      storage: { storage: { type: 's3', bucket: 'avpipe-rec', prefix: 'rec/2026/', endpoint: s3.endpoint, credentials: s3.credentials } },
    })) as PipelineConfigInit;
    const r = await record(init);
    expect(r.status).toBe('COMPLETE');
    expect(r.error).toBeNull();
    expect(r.uploads).toMatchObject({ storage: 's3://avpipe-rec/rec/2026/', failed: [] });
    const names = ['hls.m3u8', 'hls_00000.ts', 'hls_00001.ts', 'hls_00002.ts', 'rec.mp4', 'th_00.jpg', 'th_01.jpg'];
    expect(await keys('avpipe-rec')).toEqual(names.map((n) => `rec/2026/${n}`));
    expect(r.uploads!.uploaded.map((u) => u.location).sort()).toEqual(expect.arrayContaining(names.map((n) => `s3://avpipe-rec/rec/2026/${n}`)));
    for (const n of names) expect((await object('avpipe-rec', `rec/2026/${n}`)).bytes.equals(readFileSync(join(out, n)))).toBe(true);
    expect((await object('avpipe-rec', 'rec/2026/rec.mp4')).type).toBe('video/mp4');
    expect((await object('avpipe-rec', 'rec/2026/hls.m3u8')).type).toBe('application/vnd.apple.mpegurl');
    expect((await object('avpipe-rec', 'rec/2026/hls_00000.ts')).type).toBe('video/mp2t');
    // The stored playlist is the final one; its segments sit beside it under the same names.
    const playlist = (await object('avpipe-rec', 'rec/2026/hls.m3u8')).bytes.toString();
    expect(playlist).toContain('#EXT-X-ENDLIST');
    expect(playlist).toContain('\nhls_00002.ts');
  });

  it('a file larger than a part goes up in parts (multipart) and reads back byte-identical', async () => {
    const file = join(dir, 'big.bin');
    const data = randomBytes(12 * 2 ** 20);
    writeFileSync(file, data);
    const store = new S3Storage({ bucket: 'avpipe-parts', prefix: 'p/', endpoint: s3.endpoint, credentials: s3.credentials, partSize: 5 * 2 ** 20 });
    const small = join(dir, 'small.bin');
    writeFileSync(small, data.subarray(0, 2 ** 20));
    try {
      expect(await store.upload(file, 'big.bin')).toBe('s3://avpipe-parts/p/big.bin');
      expect(await store.upload(small, 'small.bin')).toBe('s3://avpipe-parts/p/small.bin');
    } finally {
      await store.close();
    }
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: 'avpipe-parts', Key: 'p/big.bin' }));
    expect(head.ContentLength).toBe(data.length);
    // The server assembled it from parts (a multipart upload completes as a POST), and a small file is one PUT.
    expect(s3.events.filter((e) => e.key === 'p/big.bin').map((e) => e.name)).toEqual(['ObjectCreated:Post']);
    expect(s3.events.filter((e) => e.key === 'p/small.bin').map((e) => e.name)).toEqual(['ObjectCreated:Put']);
    expect((await object('avpipe-parts', 'p/big.bin')).bytes.equals(data)).toBe(true);
  });

  it('a store that fails sends the file to the backup store (egress\'s backup), and the result says where it went', async () => {
    const out = join(dir, 'backup');
    mkdirSync(out);
    const r = await record({
      live: false, source: { type: 'test', duration: 2 }, encoding: sd, outputs: [{ path: join(out, 'rec.mp4') }],
      storage: {
        storage: { type: 's3', bucket: 'no-such-bucket', endpoint: s3.endpoint, credentials: s3.credentials },
        backup: { type: 's3', bucket: 'avpipe-backup', endpoint: s3.endpoint, credentials: s3.credentials },
        retries: 0,
      },
    });
    expect(r.status).toBe('COMPLETE');
    expect(r.error).toBeNull();
    expect(r.uploads).toMatchObject({ storage: 's3://no-such-bucket/ (backup s3://avpipe-backup/)', failed: [] });
    expect(r.uploads!.uploaded).toEqual([{ path: join(out, 'rec.mp4'), location: 's3://avpipe-backup/rec.mp4', bytes: expect.any(Number) }]);
    expect((await object('avpipe-backup', 'rec.mp4')).bytes.equals(readFileSync(join(out, 'rec.mp4')))).toBe(true);
  });

  it('the CLI: record --upload s3://BUCKET/PREFIX, with the endpoint and credentials from the AWS SDK\'s environment', async () => {
    const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
    const env = { ...process.env, AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const out = join(dir, 'cli.mp4');
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => execFile(process.execPath, [CLI, 'record', '--source', 'test', '--duration', '2', '--no-live', '--size', '320x240', '--output', out, '--upload', 's3://avpipe-cli/takes', '--json'], { env }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : 1, stdout, stderr })));
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { uploads: { uploaded: { location: string }[] } };
    // The prefix is a folder: `takes` and `takes/` alike put the file under `takes/`.
    expect(result.uploads.uploaded.map((u) => u.location)).toEqual(['s3://avpipe-cli/takes/cli.mp4']);
    expect((await object('avpipe-cli', 'takes/cli.mp4')).bytes.equals(readFileSync(out))).toBe(true);
  });

  it('a storage given as data is checked with the config: a bad bucket, prefix or endpoint names its field', () => {
    const bad = (storage: object): ConfigError => {
      try {
        createPipelineConfig({ live: true, source: { type: 'test' }, outputs: [{ path: 'x.mp4' }], storage: { storage: storage as never } });
      } catch (err) {
        return err as ConfigError;
      }
      throw new Error('accepted');
    };
    expect(bad({ type: 's3', bucket: 'A_b' }).problems).toEqual([{ field: 'storage.storage', message: 'bucket must be an S3 bucket name (3 to 63 of a-z, 0-9, ".", "-"), got "A_b"' }]);
    expect(bad({ type: 's3', bucket: 'good', prefix: '/x', endpoint: 'ftp://h' }).problems.map((p) => p.message)).toEqual([
      'prefix must be a key prefix not starting with "/", got "/x"',
      'endpoint must be an http(s) URL, got "ftp://h"',
    ]);
    expect(bad({ type: 'gcs' }).problems[0]!.message).toBe('type must be "local" or "s3", got "gcs"');
    expect(parseStorageUrl('s3://bucket')).toEqual({ type: 's3', bucket: 'bucket' });
    expect(parseStorageUrl('s3://bucket/a/b')).toEqual({ type: 's3', bucket: 'bucket', prefix: 'a/b/' });
    expect(parseStorageUrl('/srv/media')).toEqual({ type: 'local', dir: '/srv/media' });
    // Path-style addressing where a bucket cannot be a DNS name: an IP address or localhost.
    expect(['http://127.0.0.1:9000', 'http://[::1]:9000', 'http://localhost:9000', 'https://minio.localhost'].map(pathStyleHost)).toEqual([true, true, true, true]);
    expect(pathStyleHost('https://s3.eu-west-1.amazonaws.com')).toBe(false);
  });
});

describeNeeding(REDIS_MISSING)('jobs with S3: a worker reads an s3:// input and uploads its output', () => {
  it('an export job of an s3:// input runs on a worker: the input fetched there, the output in the bucket (staging alone removes its copy)', async () => {
    const src = join(dir, 'input.mp4');
    await record({ live: false, source: { type: 'test', duration: 3 }, encoding: sd, outputs: [{ path: src }] });
    await s3.client.send(new PutObjectCommand({ Bucket: 'avpipe-in', Key: 'takes/input.mp4', Body: readFileSync(src) }));
    const storage = { type: 's3' as const, bucket: 'avpipe-out', prefix: 'exports/', endpoint: s3.endpoint, credentials: s3.credentials };

    // Staging alone: the input is fetched byte-identical, and cleanup removes it.
    const staged = await stageInputs({ live: false, source: { type: 'file', inputs: [{ path: 's3://avpipe-in/takes/input.mp4' }] }, outputs: [{ path: 'x.mp4' }], storage: { storage } });
    const local = (staged.init.source as { inputs: readonly { path: string }[] }).inputs[0]!.path;
    expect(readFileSync(local).equals(readFileSync(src))).toBe(true);
    await staged.cleanup();
    expect(existsSync(local)).toBe(false);

    const redis = await startRedis();
    const queue = await createJobQueue({ connection: redis.url, name: 's3' });
    const worker = await createWorker({ connection: redis.url, name: 's3' });
    try {
      const out = join(dir, 'exported.mp4');
      const job = await queue.submit({ live: false, source: { type: 'file', inputs: [{ path: 's3://avpipe-in/takes/input.mp4' }] }, encoding: { width: 160, height: 120 }, outputs: [{ path: out }], storage: { storage } });
      const result = await job.result();
      expect(result.status).toBe('COMPLETE');
      expect(result.uploads?.uploaded.map((u) => u.location)).toEqual(['s3://avpipe-out/exports/exported.mp4']);
      const stored = join(dir, 'stored.mp4');
      writeFileSync(stored, (await object('avpipe-out', 'exports/exported.mp4')).bytes);
      const p = await probe(stored);
      expect(frames(streamOf(p, 'video'))).toBe(90);
      expect(streamOf(p, 'video').width).toBe(160);

      // A missing object fails the job as SOURCE_FAILED, naming it.
      const missing = await queue.submit({ live: false, source: { type: 'file', inputs: [{ path: 's3://avpipe-in/missing.mp4' }] }, outputs: [{ path: join(dir, 'never.mp4') }], storage: { storage } });
      const err = await missing.result().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(AvpipeError);
      expect((err as AvpipeError).code).toBe('SOURCE_FAILED');
      expect((err as AvpipeError).message).toBe(`job ${missing.id}: cannot read s3://avpipe-in/missing.mp4: no such object`);
    } finally {
      await worker.close();
      await queue.close();
      await redis.stop();
    }
  }, 60_000);
});
