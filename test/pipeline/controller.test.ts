import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ConfigError, NodeAvProvider, TestSource, WebRtcSource, createController, createControllerWithSource, createPipelineConfig, type FileOutputResult, type PipelineStatus,
} from '../../src/index.js';
import { frames, probe, streamOf } from '../helpers/ffprobe.js';
import { failingVideoProvider } from '../helpers/providers.js';
import { tmpDir } from '../helpers/tmp.js';

const dir = tmpDir();
const small = { width: 320, height: 240 };

describe('Controller lifecycle', () => {
  it('goes STARTING -> ACTIVE -> ENDING -> COMPLETE and reports progress in media time, rising to the run\'s duration', async () => {
    const path = join(dir, 'lifecycle.mp4');
    const c = createController(createPipelineConfig({ live: false, source: { type: 'test', duration: 2 }, encoding: small, outputs: [{ path }] }), { progressIntervalMs: 20 });
    const statuses: PipelineStatus[] = [];
    const mediaMs: number[] = [];
    c.on('status', (s) => statuses.push(s));
    c.on('progress', (p) => mediaMs.push(p.mediaTimeMs));
    const result = await c.start();
    expect(statuses).toEqual(['STARTING', 'ACTIVE', 'ENDING', 'COMPLETE']);
    // Media time, not wall time: it never goes back and never passes what the run made.
    expect(mediaMs.length).toBeGreaterThanOrEqual(1);
    for (let i = 1; i < mediaMs.length; i++) expect(mediaMs[i]!).toBeGreaterThanOrEqual(mediaMs[i - 1]!);
    expect(mediaMs[0]!).toBeGreaterThanOrEqual(0);
    expect(mediaMs.at(-1)!).toBeLessThanOrEqual(result.durationMs);
    // The last, sent as the run finishes, is where it ended.
    expect(result.durationMs - mediaMs.at(-1)!).toBeLessThan(1000 / 30);
    expect(result).toMatchObject({ status: 'COMPLETE', error: null, live: false, codecProvider: 'node-av' });
    expect(result.durationMs).toBeGreaterThanOrEqual(2000);
    expect(result.durationMs).toBeLessThanOrEqual(2021);
    expect((result.outputs[0] as FileOutputResult).durationMs).toBe(result.durationMs);
    expect(result.startedAt).not.toBeNull();
    expect(result.encoders.map((e) => e.framesIn)).toEqual([60, 100]);
    expect(await c.start()).toBe(result);
  });

  it('stop() before start() ends as ABORTED and creates no file', async () => {
    const path = join(dir, 'never.mp4');
    const c = createController(createPipelineConfig({ source: { type: 'test', duration: 2 }, encoding: small, outputs: [{ path }] }));
    const stopped = await c.stop();
    expect(stopped.status).toBe('ABORTED');
    expect((await c.start()).status).toBe('ABORTED');
    expect(existsSync(path)).toBe(false);
  });

  it('stop() while STARTING ends as ABORTED and leaves no file', async () => {
    const path = join(dir, 'stopped-starting.mp4');
    const c = createController(createPipelineConfig({ source: { type: 'test', duration: 2 }, encoding: small, outputs: [{ path }] }));
    const statuses: PipelineStatus[] = [];
    c.on('status', (s) => statuses.push(s));
    const run = c.start();
    expect(c.status).toBe('STARTING');
    void c.stop();
    const result = await run;
    expect(result.status).toBe('ABORTED');
    expect(statuses).toEqual(['STARTING', 'ABORTED']);
    expect(existsSync(path)).toBe(false);
  });

  it('an aborted AbortSignal ends the run as ABORTED before anything is written', async () => {
    const path = join(dir, 'signal.mp4');
    const ac = new AbortController();
    ac.abort();
    const c = createController(createPipelineConfig({ source: { type: 'test', duration: 2 }, encoding: small, outputs: [{ path }] }), { signal: ac.signal });
    expect((await c.start()).status).toBe('ABORTED');
    expect(existsSync(path)).toBe(false);
  });

  it('stop() on a live run ends it gracefully with a playable file', async () => {
    const path = join(dir, 'live-stop.mp4');
    const c = createController(createPipelineConfig({ source: { type: 'test' }, encoding: small, outputs: [{ path }] }));
    const done = c.start();
    c.once('status', () => undefined);
    await new Promise<void>((r) => c.on('status', (s) => s === 'ACTIVE' && r()));
    await new Promise((r) => setTimeout(r, 1200));
    const result = await c.stop();
    expect(await done).toBe(result);
    expect(result.status).toBe('COMPLETE');
    const p = await probe(path);
    const v = streamOf(p, 'video');
    expect(frames(v)).toBeGreaterThanOrEqual(30);
    expect(result.encoders[0]!.framesIn).toBe(frames(v));
    expect(streamOf(p, 'audio').codec_name).toBe('opus');
  });

  it('abort() through an AbortSignal mid-run still leaves a playable file of what was muxed', async () => {
    const path = join(dir, 'abort-mid.mp4');
    const ac = new AbortController();
    const c = createController(createPipelineConfig({ source: { type: 'test' }, encoding: small, outputs: [{ path }] }), { signal: ac.signal });
    c.on('status', (s) => s === 'ACTIVE' && setTimeout(() => ac.abort(), 800));
    const result = await c.start();
    expect(result.status).toBe('ABORTED');
    expect(frames(streamOf(await probe(path), 'video'))).toBeGreaterThan(0);
  });

  it('a failing encoder ends the run as FAILED with the cause, no hang, and the file finalized up to that point', async () => {
    const path = join(dir, 'encoder-fails.mp4');
    const provider = failingVideoProvider(await NodeAvProvider.load(), 45);
    const result = await createController(createPipelineConfig({ live: false, source: { type: 'test', duration: 10 }, encoding: small, outputs: [{ path }] }), { codecProvider: provider }).start();
    expect(result.status).toBe('FAILED');
    expect(result.error).toMatchObject({ code: 'ENCODER_FAILED', fatal: true });
    expect(result.error!.message + (result.error!.cause ?? '')).toContain('injected encoder failure');
    const v = streamOf(await probe(path), 'video');
    expect(frames(v)).toBeGreaterThan(0);
    expect(frames(v)).toBeLessThanOrEqual(45);
    expect((result.outputs[0] as FileOutputResult).exists).toBe(true);
  });

  it('a sink that cannot be written ends as FAILED with SINK_FAILED and leaves no file', async () => {
    const path = join(dir, 'no-such-dir', 'out.mp4');
    const result = await createController(createPipelineConfig({ live: false, source: { type: 'test', duration: 2 }, encoding: small, outputs: [{ path }] })).start();
    expect(result.status).toBe('FAILED');
    expect(result.error?.code).toBe('SINK_FAILED');
    expect(result.error?.message).toContain(path);
    expect(existsSync(path)).toBe(false);
    expect((result.outputs[0] as FileOutputResult).exists).toBe(false);
  });

  it('a duration limit ends the run as LIMIT_REACHED with exactly that much media', async () => {
    const path = join(dir, 'limit-duration.mp4');
    const result = await createController(createPipelineConfig({ live: false, source: { type: 'test', duration: 10 }, encoding: small, limits: { maxDuration: 3 }, outputs: [{ path }] })).start();
    expect(result.status).toBe('LIMIT_REACHED');
    expect(frames(streamOf(await probe(path), 'video'))).toBe(90);
  });

  it('a size limit ends the run as LIMIT_REACHED with a playable file', async () => {
    const path = join(dir, 'limit-size.mp4');
    const result = await createController(createPipelineConfig({ live: false, source: { type: 'test', duration: 30 }, encoding: small, limits: { maxSize: 200_000 }, outputs: [{ path }] })).start();
    expect(result.status).toBe('LIMIT_REACHED');
    expect((result.outputs[0] as FileOutputResult).size).toBeGreaterThanOrEqual(200_000);
    expect(result.durationMs).toBeLessThan(30_000);
    expect(frames(streamOf(await probe(path), 'video'))).toBeGreaterThan(0);
  });

  it('createControllerWithSource takes a pre-built source (inversion of control)', async () => {
    const path = join(dir, 'with-source.mp4');
    const config = createPipelineConfig({ live: false, encoding: { width: 160, height: 120, audioCodec: null }, outputs: [{ path }] });
    const source = new TestSource({ width: 160, height: 120, fps: 30, duration: 1, audio: false });
    const result = await createControllerWithSource(config, source).start();
    expect(result.status).toBe('COMPLETE');
    expect(result.tracks.map((t) => t.id)).toEqual(['test-video']);
    const p = await probe(path);
    expect(p.streams).toHaveLength(1);
    expect(frames(streamOf(p, 'video'))).toBe(30);
  });

  it('a source that is live by nature (a WebRTC publisher) refuses a non-live pipeline when the controller is made, naming `live`', () => {
    const path = join(dir, 'never.mp4');
    const make = (): unknown => createControllerWithSource(createPipelineConfig({ live: false, outputs: [{ path }] }), new WebRtcSource({ name: 'pub' }));
    expect(make).toThrow(ConfigError);
    expect(make).toThrow('live: pub is a live source (its media comes at 1x, whatever the pipeline asks): the pipeline must be live');
    expect(existsSync(path)).toBe(false);
    expect(() => createControllerWithSource(createPipelineConfig({ outputs: [{ path }] }), new WebRtcSource({ name: 'pub' }))).not.toThrow();
  });

  it('a source of another size and rate is scaled and converted to the encoding (swscale, constant rate)', async () => {
    const path = join(dir, 'scaled.mp4');
    const config = createPipelineConfig({ live: false, encoding: { width: 320, height: 240, fps: 30 }, outputs: [{ path }] });
    const result = await createControllerWithSource(config, new TestSource({ width: 160, height: 120, fps: 15, duration: 2 })).start();
    expect(result.status).toBe('COMPLETE');
    const v = streamOf(await probe(path), 'video');
    expect([v.width, v.height]).toEqual([320, 240]);
    expect(frames(v)).toBe(60);
  });
});

describe('parallel: N through the controller', () => {
  const pattern = { live: false, parallel: 2, source: { type: 'test' as const, duration: 24 }, encoding: { width: 640, height: 360, fps: 30 } };
  it("refuses a provider object, whatever its name: the workers load avpipe's own by name", async () => {
    const native = await NodeAvProvider.load();
    const named: typeof native = Object.assign(Object.create(native) as typeof native, { name: 'node-av' });
    const c = createController(createPipelineConfig({ ...pattern, outputs: [{ path: join(dir, 'object.mp4') }] }), { codecProvider: named });
    const r = await c.start();
    expect(r.status).toBe('FAILED');
    expect(r.error?.code).toBe('CONFIG_INVALID');
    expect(r.error?.message).toMatch(/parallel: 2 cannot split this run: .*a provider object cannot cross/);
  });

  it('names the run\'s own reason, not the provider, when the provider is not loaded yet (thumbnails)', async () => {
    const c = createController(createPipelineConfig({ ...pattern, outputs: [{ path: join(dir, 'thumbs.mp4') }, { images: join(dir, 't_%03d.jpg') }] }));
    const r = await c.start();
    expect(r.status).toBe('FAILED');
    expect(r.error?.message).toMatch(/parallel: 2 cannot split this run: thumbnails need decoded frames/);
  });
});

