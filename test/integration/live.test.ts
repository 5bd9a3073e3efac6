import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeAvProvider, createController, createPipelineConfig } from '../../src/index.js';
import { frames, probe, streamOf } from '../helpers/ffprobe.js';
import { slowVideoProvider } from '../helpers/providers.js';
import { record } from '../helpers/run.js';
import { tmpDir } from '../helpers/tmp.js';

const dir = tmpDir();
const sd = { width: 640, height: 360 };

describe('live runs', () => {
  // Load-sensitive (a busy machine can make a 640x360 encode fall behind, or the run's start late):
  // retried once at most, and a retry is named in the run's summary.
  it('take their duration in wall time, with leaky queues that drop nothing when the encoder keeps up', { retry: 1 }, async () => {
    const path = join(dir, 'live.mp4');
    const t0 = performance.now();
    const result = await record({ source: { type: 'test', duration: 3 }, encoding: sd, outputs: [{ path }] });
    const wall = performance.now() - t0;
    expect(result.status).toBe('COMPLETE');
    expect(result.live).toBe(true);
    expect(wall).toBeGreaterThanOrEqual(2950);
    expect(result.speed).toBeGreaterThan(0.8);
    expect(result.speed).toBeLessThan(1.1);
    for (const q of result.queues) {
      expect(q.policy).toBe('drop-oldest');
      expect(q.dropped).toBe(0);
    }
    // Not overloaded: a raw frame or buffer waits for at most the one before it.
    for (const name of ['video-queue', 'audio-queue']) expect(result.queues.find((q) => q.name === name)!.maxLevel).toBeLessThanOrEqual(2);
    // The file's queue after the tee: within its bound, nothing dropped.
    expect(result.queues.map((q) => q.name)).toEqual(['video-queue', 'audio-queue', `${path}-queue`]);
    expect(frames(streamOf(await probe(path), 'video'))).toBe(90);
  });

  it('with an overloaded encoder, drops and counts instead of blocking the source, once the queue holds its time bound (1 s here)', { retry: 1 }, async () => {
    const path = join(dir, 'live-slow.mp4');
    const provider = slowVideoProvider(await NodeAvProvider.load(), 100);
    const c = createController(createPipelineConfig({ source: { type: 'test', duration: 3 }, encoding: sd, outputs: [{ path }], queues: { video: { seconds: 1 } } }), { codecProvider: provider });
    const result = await c.start();
    expect(result.status).toBe('COMPLETE');
    const video = result.queues.find((q) => q.name === 'video-queue')!;
    const audio = result.queues.find((q) => q.name === 'audio-queue')!;
    // The source was never held up: every frame went in on time ...
    expect(video.in).toBe(90);
    expect(c.source.endedAt! - c.source.startedAt!).toBeLessThan(3600);
    // ... and the queue shed what the encoder could not take (10 of 30 fps) beyond 1 s of media held,
    // counting every drop: about 90 - 30 encoded - 30 held.
    expect(video.dropped).toBeGreaterThan(20);
    expect(video.maxTimeMs).toBe(1000);
    // It dropped only once full: it held up to the bound, within a frame of it, never more.
    expect(video.maxLevelTimeMs).toBeGreaterThanOrEqual(1000 - 1000 / 30);
    expect(video.maxLevelTimeMs).toBeLessThanOrEqual(1000);
    expect(video.maxLevel).toBeLessThanOrEqual(31);
    expect(video.in).toBe(video.out + video.dropped + video.level);
    expect(audio.dropped).toBe(0);
    const encoded = result.encoders.find((e) => e.name === 'video-encoder')!.framesIn;
    expect(encoded).toBe(video.out);
    expect(frames(streamOf(await probe(path), 'video'))).toBe(encoded);
  });
});

describe('live runs (continued)', () => {
  it('an encoder that blocks the thread (a synchronous encode slower than realtime) still never holds the source up: the queue drops', async () => {
    const path = join(dir, 'live-blocking.mp4');
    // 100 ms a frame, holding the thread the whole time, as a native encode would.
    const provider = slowVideoProvider(await NodeAvProvider.load(), 100, true);
    const c = createController(createPipelineConfig({ source: { type: 'test', duration: 3 }, encoding: sd, outputs: [{ path }], queues: { video: { seconds: 1 } } }), { codecProvider: provider });
    const result = await c.start();
    expect(result.status).toBe('COMPLETE');
    const video = result.queues.find((q) => q.name === 'video-queue')!;
    expect(video.in).toBe(90);
    // The source ended on time, at most one blocked encode late ...
    expect(c.source.endedAt! - c.source.startedAt!).toBeLessThan(3300);
    // ... and what the encoder could not take beyond 1 s of media was dropped and counted.
    expect(video.dropped).toBeGreaterThan(20);
    expect(video.in).toBe(video.out + video.dropped + video.level);
    expect(video.maxLevelTimeMs).toBeLessThanOrEqual(1000);
    expect(frames(streamOf(await probe(path), 'video'))).toBe(video.out);
  });
});

describe('non-live runs', () => {
  it('export 10 s of 360p faster than realtime, with blocking queues and nothing dropped', async () => {
    const path = join(dir, 'fast.mp4');
    const result = await record({ live: false, source: { type: 'test', duration: 10 }, encoding: sd, outputs: [{ path }] });
    expect(result.status).toBe('COMPLETE');
    expect(result.wallMs).toBeLessThan(10_000);
    expect(result.speed).toBeGreaterThan(1);
    expect(result.queues.map((q) => [q.policy, q.dropped, q.in === q.out])).toEqual([['block', 0, true], ['block', 0, true], ['block', 0, true]]);
    expect(frames(streamOf(await probe(path), 'video'))).toBe(300);
  });
});
