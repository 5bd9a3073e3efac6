import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

/** An S3 API server (s3rver, from npm) on a loopback port, with its buckets in a directory of its own. */
export interface S3Server {
  endpoint: string;
  /** Credentials s3rver accepts. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** A client of the server, path-style. */
  client: S3Client;
  createBucket(name: string): Promise<void>;
  /**
   * What the server reports of each object written, as S3 event names with the key: a single PUT is
   * `ObjectCreated:Put`, an assembled multipart upload `ObjectCreated:Post`.
   */
  events: { name: string; key: string }[];
  stop(): Promise<void>;
}

export async function startS3(): Promise<S3Server> {
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: mkdtempSync(join(tmpdir(), 's3rver-')) });
  const events: { name: string; key: string }[] = [];
  server.on('event', (e: { Records: { eventName: string; s3: { object: { key: string } } }[] }) => {
    for (const r of e.Records) events.push({ name: r.eventName, key: r.s3.object.key });
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const client = new S3Client({ region: 'us-east-1', endpoint, forcePathStyle: true, credentials });
  return {
    endpoint,
    credentials,
    client,
    events,
    createBucket: async (name) => void (await client.send(new CreateBucketCommand({ Bucket: name }))),
    stop: async () => {
      client.destroy();
      await server.close();
    },
  };
}
