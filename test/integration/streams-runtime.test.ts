import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createController, createPipelineConfig, redactUrl, type FileOutputResult, type PipelineResult } from '../../src/index.js';
import { beepOnsets, frames, probe, streamOf, videoPackets } from '../helpers/ffprobe.js';
import { rtmpServerForTests } from '../helpers/rtmp-server.js';
import { tmpDir } from '../helpers/tmp.js';

const dir = tmpDir();
const small = { width: 320, height: 240 };
const rtmp = rtmpServerForTests(dir);

/** A 44-byte WAV header for S16LE stereo 48 kHz, so an independent reader can take the raw capture. */
function wav(pcm: Buffer): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0); h.writeUInt32LE(36 + pcm.length, 4); h.write('WAVE', 8); h.write('fmt ', 12);
  h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(2, 22); h.writeUInt32LE(48000, 24);
  h.writeUInt32LE(192000, 28); h.writeUInt16LE(4, 32); h.writeUInt16LE(16, 34); h.write('data', 36); h.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([h, pcm]);
}

// Results name a stream by its URL with the key redacted.
const streamResult = (r: PipelineResult, url: string) => r.outputs.find((o) => o.type === 'stream' && o.url === redactUrl(url));

describe('WebSocket output (egress format)', () => {
  it('sends 48 kHz stereo S16LE with Content-Type audio/x-raw, a muted message, and closes normally', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    const got = { headers: {} as Record<string, unknown>, binary: [] as Buffer[], text: [] as string[], closeCode: 0 };
    const closed = new Promise<void>((resolve) => wss.on('connection', (ws, req) => {
      got.headers = req.headers;
      ws.on('message', (data, isBinary) => (isBinary ? got.binary.push(data as Buffer) : got.text.push(String(data))));
      ws.on('close', (code) => { got.closeCode = code; resolve(); });
    }));
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/audio`;
    const file = join(dir, 'beside-ws.mp4');
    const r = await createController(createPipelineConfig({ source: { type: 'test', duration: 3 }, encoding: small, outputs: [{ path: file }, { url }] })).start();
    await closed;
    wss.close();
    expect(r.status).toBe('COMPLETE');
    expect(got.headers['content-type']).toBe('audio/x-raw');
    expect(got.text).toEqual(['{"muted":false}']);
    expect(got.closeCode).toBe(1000);
    const pcm = Buffer.concat(got.binary);
    // 3 s of 48 kHz stereo 16-bit, none dropped.
    expect(pcm.length).toBe(3 * 48000 * 4);
    expect(streamResult(r, url)).toMatchObject({ protocol: 'websocket', bytes: pcm.length, error: null });
    const path = join(dir, 'ws-capture.wav');
    writeFileSync(path, wav(pcm));
    const beeps = await beepOnsets(path);
    expect(beeps.length).toBe(3);
    beeps.forEach((t, k) => expect(Math.abs(t - k)).toBeLessThanOrEqual(0.002));
    expect((r.outputs[0] as FileOutputResult).exists).toBe(true);
  });

  it('is refused on non-live runs and when the audio is not 48 kHz stereo', () => {
    expect(() => createPipelineConfig({ live: false, outputs: [{ url: 'ws://h/a' }] })).toThrow(/cannot ingest faster than realtime/);
    expect(() => createPipelineConfig({ encoding: { sampleRate: 24000 }, outputs: [{ url: 'ws://h/a' }] })).toThrow(/48 kHz stereo/);
  });
});

describe('stream outputs added and removed while live (UpdateStream)', () => {
  it('an RTMP output joins mid-run and leaves mid-run: the server\'s recording starts on a keyframe and holds every frame from there to the removal; the file keeps all 150', async () => {
    const file = join(dir, 'runtime.mp4');
    const url = `rtmp://127.0.0.1:${rtmp().port}/live/rt`;
    const recorded = rtmp().recorded('/live/rt');
    const c = createController(createPipelineConfig({ source: { type: 'test', duration: 5 }, encoding: { ...small, keyframeInterval: 1, audioCodec: 'aac' }, outputs: [{ path: file }] }));
    const running = c.start();
    await new Promise<void>((resolve) => c.on('status', (s) => s === 'ACTIVE' && resolve()));
    await new Promise((r) => setTimeout(r, 1000));
    // The file started with the MP4 default (Opus) would not do: an RTMP output needs AAC.
    await c.addOutput({ url });
    await expect(c.addOutput({ url })).rejects.toThrow(/already an output/);
    await new Promise((r) => setTimeout(r, 2500));
    const removed = await c.removeOutput(url);
    expect(removed).toMatchObject({ type: 'stream', error: null });
    const r = await running;
    expect(r.status).toBe('COMPLETE');
    expect(frames(streamOf(await probe(file), 'video'))).toBe(150);
    const flv = await recorded;
    // Joined on a keyframe, then every frame one after another in decode order (the order it was sent
    // and cut in: a B-frame shown before the last frame sent may go unsent) until it left, mid-run.
    const packets = await videoPackets(flv, 'decode');
    expect(packets[0]!.key).toBe(true);
    packets.forEach((p, i) => expect(p.t).toBeCloseTo(packets[0]!.t + i / 30, 2));
    expect(packets.length).toBeGreaterThan(0);
    expect(packets.length).toBeLessThan(150);
    expect(frames(streamOf(await probe(flv), 'video'))).toBe(packets.length);
    expect(streamResult(r, url)).toMatchObject({ packets: expect.any(Number), error: null });
  });

  it('refuses an RTMP output that cannot carry what the pipeline encodes', async () => {
    const c = createController(createPipelineConfig({ source: { type: 'test', duration: 2 }, encoding: small, outputs: [{ path: join(dir, 'opus.mp4') }] }));
    const running = c.start();
    await new Promise<void>((resolve) => c.on('status', (s) => s === 'ACTIVE' && resolve()));
    await expect(c.addOutput({ url: `rtmp://127.0.0.1:${rtmp().port}/live/x` })).rejects.toThrow(/cannot carry opus/);
    // The rules of a config's stream outputs hold for one added at runtime.
    await expect(c.addOutput({ url: 'rtmp://127.0.0.1/onlyapp' })).rejects.toThrow(/app and a stream key/);
    await expect(c.addOutput({ url: 'srt://127.0.0.1:9000' })).rejects.toThrow(/not implemented/);
    expect((await running).status).toBe('COMPLETE');
  });

  it('removing the last output ends the run', async () => {
    const url = `rtmp://127.0.0.1:${rtmp().port}/live/last`;
    const c = createController(createPipelineConfig({ source: { type: 'test' }, encoding: small, outputs: [{ url }] }));
    const running = c.start();
    await new Promise<void>((resolve) => c.on('status', (s) => s === 'ACTIVE' && resolve()));
    await new Promise((r) => setTimeout(r, 1000));
    await c.removeOutput(url);
    const r = await running;
    expect(r.status).toBe('COMPLETE');
    expect(r.outputs).toEqual([expect.objectContaining({ type: 'stream', url: redactUrl(url), error: null })]);
  });
});
