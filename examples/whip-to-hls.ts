/**
 * Records every WHIP publisher (OBS, a browser, GStreamer, FFmpeg) to HLS and uploads each segment and
 * the playlist as they finish: to S3 when UPLOAD is s3://BUCKET/PREFIX (credentials, region and
 * endpoint from AWS's own environment variables), else to a directory. A session's files go under
 * its stream name and session id (a publisher that comes back never overwrites what it sent before).
 * Ctrl-C (or SIGTERM) finalizes every session, waits for its uploads, and exits; a second one aborts
 * the sessions (what was recorded is still finalized).
 *
 *   node whip-to-hls.js [HOST:PORT] [UPLOAD]      (defaults: 127.0.0.1:8080, ./uploaded)
 *   publish to http://HOST:PORT/whip/NAME (a bearer token when AVPIPE_WHIP_TOKEN is set, which a
 *   non-loopback HOST requires)
 */
import { join } from 'node:path';
import { WhipServer, type StorageSpec } from 'avpipe';

const [listen = '127.0.0.1:8080', upload = 'uploaded'] = process.argv.slice(2);
const host = listen.slice(0, listen.lastIndexOf(':'));
const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
const token = process.env.AVPIPE_WHIP_TOKEN;
const loopback = host === '127.0.0.1' || host === '::1' || host === 'localhost';
if (token === undefined && !loopback) {
  console.error(`refusing to listen on ${host} without AVPIPE_WHIP_TOKEN: anyone who reaches it could publish`);
  process.exit(2);
}

/** Where a session's files go: its own prefix in the bucket, or its own directory. */
function storageFor(name: string, id: string): StorageSpec {
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(upload);
  if (s3 === null) return { type: 'local', dir: join(upload, name, id) };
  const prefix = s3[2] === '' ? '' : s3[2]!.replace(/\/?$/, '/');
  return { type: 's3', bucket: s3[1]!, prefix: `${prefix}${name}/${id}/` };
}

const server = new WhipServer({
  // One live pipeline per session; plain data, so sessions can run on worker threads.
  config: (name, id) => ({
    outputs: [{ playlist: join('hls', name, id, 'index.m3u8'), segmentDuration: 2 }],
    storage: { storage: storageFor(name, id) },
  }),
  ...(token === undefined ? {} : { token }),
  // On loopback, ICE offers loopback only (a publisher on this machine); elsewhere every interface.
  ...(loopback ? { iceHosts: ['127.0.0.1'] } : {}),
});
const base = await server.listen(port, host);
console.log(`WHIP endpoint: ${base}/whip/<name>`);

server.on('session', (session) => console.log(`${session.name}: publishing (session ${session.id})`));
server.on('end', (session, result) => {
  const uploaded = result.uploads?.uploaded ?? [];
  const failed = result.uploads?.failed.length ?? 0;
  console.log(`${session.name}: ${result.status}, ${(result.durationMs / 1000).toFixed(1)} s, ${uploaded.length} files uploaded${failed > 0 ? `, ${failed} failed (kept locally)` : ''}`);
  if (result.error !== null) console.error(`${session.name}: ${result.error.code}: ${result.error.message}`);
});

let signals = 0;
const stop = async (): Promise<void> => {
  if (++signals > 1) return server.abort();
  const results = await server.close();
  process.exitCode = results.some((r) => r.status === 'FAILED') ? 1 : 0;
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
