import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createController, createPipelineConfig, type FileOutputResult, type PipelineResult } from '../../src/index.js';
import { FFMPEG, avFixture } from '../helpers/fixtures.js';
import { FFPROBE, beepOnsets, flashTimes, frames, probe, streamOf } from '../helpers/ffprobe.js';
import { record } from '../helpers/run.js';
import { rtmpServerForTests, startBlackHole, startProxy, startTlsProxy } from '../helpers/rtmp-server.js';
import { tmpDir } from '../helpers/tmp.js';

const run = promisify(execFile);
const dir = tmpDir();
const small = { width: 320, height: 240 };
const rtmp = rtmpServerForTests(dir);

const streamOut = (r: PipelineResult) => r.outputs.find((o) => o.type === 'stream')!;

describe('RTMP stream output (live), against node-media-server', () => {
  it("delivers every frame and packet: the server's recording holds what the file holds, in sync", async () => {
    const file = join(dir, 'beside-rtmp.mp4');
    const recorded = rtmp().recorded('/live/a');
    const r = await record({ source: { type: 'test', duration: 4 }, encoding: small, outputs: [{ path: file }, { url: `rtmp://127.0.0.1:${rtmp().port}/live/a` }] });
    expect(r.status).toBe('COMPLETE');
    expect(r.queues.length).toBeGreaterThanOrEqual(2);
    expect(r.queues.every((q) => q.dropped === 0)).toBe(true);
    const out = streamOut(r);
    expect(out).toMatchObject({ type: 'stream', protocol: 'rtmp', retries: 0, error: null });
    const flv = await recorded;
    const [got, want] = [await probe(flv), await probe(file)];
    expect(frames(streamOf(got, 'video'))).toBe(120);
    expect(frames(streamOf(want, 'video'))).toBe(120);
    expect(streamOf(got, 'audio').nb_read_packets).toBe(streamOf(want, 'audio').nb_read_packets);
    expect(out.type === 'stream' && out.packets).toBe(120 + Number(streamOf(want, 'audio').nb_read_packets));
    const flashes = await flashTimes(flv);
    const beeps = await beepOnsets(flv);
    expect(flashes.length).toBe(4);
    for (let i = 0; i < 4; i++) expect(Math.abs(flashes[i]! - beeps[i]!)).toBeLessThanOrEqual(1 / 30 + 0.001);
  });

  it('retries a dropped connection with doubling backoff (measured: 500 ms after the drop, 1000 ms after a refused retry), reports both, and resumes on a keyframe; the file is untouched', async () => {
    const proxy = await startProxy(rtmp().port);
    const file = join(dir, 'through-drop.mp4');
    const first = rtmp().recorded('/live/b');
    const secondDone = first.then(() => rtmp().recorded('/live/b'));
    const c = createController(createPipelineConfig({ source: { type: 'test', duration: 5 }, encoding: { ...small, keyframeInterval: 1 }, outputs: [{ path: file }, { url: `rtmp://127.0.0.1:${proxy.port}/live/b` }] }));
    let cutAt = 0;
    setTimeout(() => {
      cutAt = performance.now();
      proxy.cut(1); // the first reconnection is refused too: the next waits twice as long
    }, 1500);
    const r = await c.start();
    await proxy.close();
    expect(r.status).toBe('COMPLETE');
    const out = streamOut(r);
    expect(out.type === 'stream' && out.retries).toBe(2);
    expect(out.type === 'stream' && out.error).toBe(null);
    // The connection, the refused retry, the one taken. Timers fire no earlier than asked; later by
    // at most what a loaded machine delays them.
    expect(proxy.connects).toHaveLength(3);
    const [, refused, taken] = proxy.connects as [number, number, number];
    expect(refused - cutAt).toBeGreaterThanOrEqual(495);
    expect(refused - cutAt).toBeLessThan(900);
    expect(taken - refused).toBeGreaterThanOrEqual(995);
    expect(taken - refused).toBeLessThan(1400);
    expect(frames(streamOf(await probe(file), 'video'))).toBe(150);
    const firstFile = await first;
    const before = frames(streamOf(await probe(firstFile), 'video'));
    expect(before).toBeGreaterThan(20);
    // The second publish is its own recording, and decodes cleanly from its first frame (it started on a keyframe).
    await secondDone;
    const second = (await readdir(join(dir, 'record', 'live', 'b'))).map((f) => join(dir, 'record', 'live', 'b', f)).filter((f) => f !== firstFile);
    expect(second.length).toBe(1);
    const { stderr } = await run(FFMPEG, ['-v', 'error', '-i', second[0]!, '-f', 'null', '-'], { encoding: 'utf8' });
    expect(stderr).toBe('');
    const after = frames(streamOf(await probe(second[0]!), 'video'));
    expect(after).toBeGreaterThan(30);
    // What was lost is what came while it was away (the drop to the connection taken, by the run's own
    // clock) and the wait for the next keyframe (1 s at most), and a frame or two in flight: not more.
    expect(150 - before - after).toBeLessThanOrEqual(Math.ceil(((taken - cutAt) / 1000) * 30) + 30 + 2);
  });

  it('a stalled server: its output drops and counts once it holds its time bound (1 s here), the file output stays complete, the run ends on time', async () => {
    const hole = await startBlackHole();
    const file = join(dir, 'beside-stall.mp4');
    const t0 = performance.now();
    const r = await record({ source: { type: 'test', duration: 3 }, encoding: small, outputs: [{ path: file }, { url: `rtmp://127.0.0.1:${hole.port}/live/s3cr3t-key` }], queues: { output: { seconds: 1 } } });
    const wall = performance.now() - t0;
    await hole.close();
    expect(r.status).toBe('COMPLETE');
    expect(wall).toBeLessThan(6000);
    const fileQueue = r.queues.find((q) => q.name === `${file}-queue`)!;
    const streamQueue = r.queues.find((q) => q.name.startsWith('rtmp://'))!;
    expect(fileQueue.dropped).toBe(0);
    expect(streamQueue.dropped).toBeGreaterThan(0);
    expect(streamQueue.in).toBe(streamQueue.out + streamQueue.dropped + streamQueue.level);
    expect(streamQueue.maxLevelTimeMs).toBeLessThanOrEqual(1000);
    expect((r.outputs[0] as FileOutputResult).exists).toBe(true);
    expect(frames(streamOf(await probe(file), 'video'))).toBe(90);
    expect(streamOut(r)).toMatchObject({ packets: 0, error: expect.stringContaining('never accepted the stream') });
    // The stream key appears nowhere in the result (output, queue name, error): `rtmp://host/live/****`.
    expect(JSON.stringify(r)).not.toContain('s3cr3t');
    expect(streamOut(r)).toMatchObject({ url: `rtmp://127.0.0.1:${hole.port}/live/****` });
    // The stream's failure is reported without failing the run: the file is complete.
    expect(r.error).toMatchObject({ code: 'SINK_FAILED', fatal: false });
  });

  it('publishes over RTMPS (TLS) to a server whose certificate chains to the given CA; without it, reports why and still completes', async () => {
    const fixtures = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));
    const [key, cert] = [readFileSync(join(fixtures, 'key.pem')), readFileSync(join(fixtures, 'cert.pem'))];
    const tls = await startTlsProxy(rtmp().port, key, cert);
    const recorded = rtmp().recorded('/live/tls');
    const url = `rtmps://127.0.0.1:${tls.port}/live/tls`;
    const r = await record({ source: { type: 'test', duration: 2 }, encoding: small, outputs: [{ path: join(dir, 'beside-tls.mp4') }, { url, ca: cert }] });
    expect(r.status).toBe('COMPLETE');
    expect(streamOut(r)).toMatchObject({ retries: 0, error: null });
    expect(frames(streamOf(await probe(await recorded), 'video'))).toBe(60);

    const untrusted = await record({ source: { type: 'test', duration: 2 }, encoding: small, outputs: [{ path: join(dir, 'beside-untrusted.mp4') }, { url }] });
    await tls.close();
    expect(untrusted.status).toBe('COMPLETE');
    expect(streamOut(untrusted).error).toMatch(/never accepted the stream.*self.signed/);
    expect(frames(streamOf(await probe(join(dir, 'beside-untrusted.mp4')), 'video'))).toBe(60);
  });

  it('replays a file live to RTMP with its H.264 (B-frames) copied: decode times rising and below presentation times, every frame', async () => {
    const input = await avFixture('h264-aac.mp4', ['-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac']);
    const recorded = rtmp().recorded('/live/copy');
    const r = await createController(createPipelineConfig({ live: true, source: { type: 'file', inputs: [{ path: input }] }, outputs: [{ url: `rtmp://127.0.0.1:${rtmp().port}/live/copy` }] })).start();
    expect(r.status).toBe('COMPLETE');
    expect(r.tracks.map((t) => [t.kind, t.mode])).toEqual([['video', 'copy'], ['audio', 'copy']]);
    const flv = await recorded;
    const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts,dts', '-of', 'csv=p=0', flv]);
    const packets = stdout.trim().split('\n').map((l) => l.split(',').map(Number) as [number, number]);
    expect(packets.length).toBe(120);
    // B-frames: some frames are presented later than they are decoded ...
    expect(packets.some(([pts, dts]) => pts > dts)).toBe(true);
    // ... and decode times rise, never above the presentation time.
    for (let i = 0; i < packets.length; i++) {
      expect(packets[i]![1]).toBeLessThanOrEqual(packets[i]![0]);
      if (i > 0) expect(packets[i]![1]).toBeGreaterThan(packets[i - 1]![1]);
    }
    const { stderr } = await run(FFMPEG, ['-v', 'error', '-i', flv, '-f', 'null', '-'], { encoding: 'utf8' });
    expect(stderr).toBe('');
  });

  it('is refused on a non-live run before anything is written', () => {
    expect(() => createPipelineConfig({ live: false, outputs: [{ path: join(dir, 'x.mp4') }, { url: 'rtmp://127.0.0.1/live/x' }] })).toThrow(/cannot ingest faster than realtime/);
  });
});
