import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createControllerWithSource, createPipelineConfig, WebRtcSource, type PipelineResult, type WebRtcSourceStats } from '../../src/index.js';
import { beepOnsets, flashTimes, frames, packetSpan, probe, streamOf } from '../helpers/ffprobe.js';
import { tmpDir } from '../helpers/tmp.js';
import { publish, type PublisherOptions, type PublisherReport } from '../helpers/webrtc-publisher.js';

const dir = tmpDir();
const LOOPBACK = ['127.0.0.1'];

/** Flash onsets paired with beep onsets: each A/V offset in seconds (video minus audio). */
async function avOffsets(path: string): Promise<number[]> {
  const [flashes, beeps] = await Promise.all([flashTimes(path), beepOnsets(path)]);
  return flashes.map((f) => {
    const beep = beeps.reduce((best, b) => (Math.abs(b - f) < Math.abs(best - f) ? b : best), Infinity);
    return f - beep;
  });
}

/** Records what a werift publisher sends through the library API (acceptOffer), until it hangs up. */
async function recordPublisher(output: string, pub: Omit<PublisherOptions, 'signal'>, init: Record<string, unknown> = {}): Promise<{ result: PipelineResult; report: PublisherReport; stats: WebRtcSourceStats }> {
  const source = new WebRtcSource({ iceHosts: LOOPBACK });
  const controller = createControllerWithSource(createPipelineConfig({ outputs: [{ path: output }], ...init }), source);
  const run = controller.start();
  const { report, pc } = await publish({ ...pub, signal: (offer) => source.acceptOffer(offer) });
  // werift sends no DTLS close alert: the application's signalling says the publisher left.
  source.hangUp();
  await pc.close();
  const result = await run;
  return { result, report, stats: source.toJSON() };
}

describe('WebRTC source (werift publisher on loopback)', () => {
  it('VP8 + Opus to WebM without re-encoding: every frame sent is in the file, A/V within one frame', async () => {
    const out = join(dir, 'passthrough.webm');
    const { result, report, stats } = await recordPublisher(out, { seconds: 4 });
    expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
    expect(result.tracks.map((t) => [t.kind, t.mode])).toEqual([['video', 'copy'], ['audio', 'copy']]);
    expect(stats.leftBecause).toBe('the publisher hung up');
    const p = await probe(out);
    expect(frames(streamOf(p, 'video'))).toBe(report.videoFrames);
    expect((await packetSpan(out, 'audio')).packets).toBe(report.audioPackets);
    for (const t of stats.tracks) expect(t.packets.lost).toBe(0);
    expect(result.queues.reduce((n, q) => n + q.dropped, 0)).toBe(0);
    const offsets = await avOffsets(out);
    expect(offsets.length).toBeGreaterThanOrEqual(3);
    for (const o of offsets) expect(Math.abs(o)).toBeLessThanOrEqual(1 / 30);
  }, 30_000);
});
