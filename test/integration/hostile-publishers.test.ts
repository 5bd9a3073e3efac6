import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { beepOnsets, decodeErrors, flashTimes, packetSpan, probe } from '../helpers/ffprobe.js';
import { serveCli, type SessionResult } from '../helpers/serve-cli.js';
import { tmpDir } from '../helpers/tmp.js';
import { publish } from '../helpers/webrtc-publisher.js';

const dir = tmpDir();
/** The bound on the memory a hostile input may drive. */
const MAX_RSS_MB = 600;

/** WHIP signalling by hand: POST the offer, keep the resource to DELETE when the publisher is done. */
function whip(url: string): { signal: (offer: string) => Promise<string>; hangUp: () => Promise<void> } {
  let resource: string | undefined;
  return {
    signal: async (offer) => {
      const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
      if (res.status !== 201) throw new Error(`WHIP POST: ${res.status} ${await res.text()}`);
      resource = new URL(res.headers.get('location')!, url).href;
      return res.text();
    },
    hangUp: async () => {
      if (resource !== undefined) await fetch(resource, { method: 'DELETE' });
    },
  };
}

describe('hostile publishers against avpipe serve: bounded memory, the discontinuity reported, the recording kept', () => {
  it('a 5 s marker-less flood (3000 packets/s of one RTP timestamp) and a +30 min audio RTP jump: both bounded and counted, 12 s recorded, not 30 min', async () => {
    const SECONDS = 12;
    const server = await serveCli(dir, 'webm');
    let results: SessionResult[] = [];
    let floodPackets = 0;
    try {
      const session = whip(`${server.base}/whip/hostile`);
      const { report, pc } = await publish({
        signal: session.signal, seconds: SECONDS, width: 320, height: 240,
        videoFlood: { atS: 2, seconds: 5, packetsPerSecond: 3000 }, audioJump: { atS: 8, byS: 1800 },
      });
      floodPackets = report.floodPackets;
      await session.hangUp();
      await pc.close();
      for (let i = 0; i < 100 && server.results().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      results = server.results();
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(floodPackets).toBeGreaterThanOrEqual(14_000);
    expect(results).toHaveLength(1);
    const r = results[0]!;
    expect(r.status, JSON.stringify(r.error)).toBe('COMPLETE');
    const video = r.source.tracks.find((t) => t.kind === 'video')!;
    const audio = r.source.tracks.find((t) => t.kind === 'audio')!;
    // The flood: one "frame" past the bounds (8192 packets; of the 14000 sent, what the socket kept), left out, then back on a keyframe.
    expect(video.frames.oversize).toBeGreaterThanOrEqual(1);
    expect(video.frames.keyframeRequests).toBeGreaterThanOrEqual(1);
    // The jump: re-anchored once, reported where it happened, never filled.
    expect(audio.sync?.jumps).toBe(1);
    expect(r.warnings).toEqual([expect.objectContaining({ code: 'TIMESTAMP_JUMP', atMs: expect.closeTo(8000, -3) as number })]);
    expect(r.warnings[0]!.message).toContain("the audio track's RTP timestamps jumped once by more than limits.maxGap (10 s)");
    expect(r.durationMs).toBeGreaterThan((SECONDS - 1) * 1000);
    expect(r.durationMs).toBeLessThan((SECONDS + 2) * 1000);
    // Read back by ffprobe: 10 s of audio with every beep (none lost to a 30-minute hole), video that decodes clean.
    const out = join(dir, 'hostile.webm');
    const p = await probe(out);
    expect(Number(p.format.duration)).toBeLessThan(SECONDS + 2);
    const a = await packetSpan(out, 'audio');
    expect(a.end - a.start).toBeGreaterThan(SECONDS - 1);
    expect(await decodeErrors(out)).toBe('');
    const [flashes, beeps] = await Promise.all([flashTimes(out), beepOnsets(out)]);
    expect(beeps.length).toBeGreaterThanOrEqual(SECONDS - 1);
    // Flashes at 0, 1 and from 7 or 8 s on (2 to 7 s were the flood, then a keyframe is awaited); after the jump, audio is placed by arrival.
    const after = flashes.filter((f) => f > 8.5);
    const offsets = after.map((f) => f - beeps.reduce((best, b) => (Math.abs(b - f) < Math.abs(best - f) ? b : best), Infinity));
    console.log(`hostile publisher: ${video.packets.received} video packets received (${floodPackets} flood), A/V offsets after the jump (ms):`,
      offsets.map((o) => Math.round(o * 1000)).join(' '), `peak RSS ${Math.round(server.peakRssMb())} MB`);
    expect(after.length).toBeGreaterThanOrEqual(3);
    for (const o of offsets) expect(Math.abs(o)).toBeLessThan(0.1);
    expect(server.peakRssMb()).toBeLessThan(MAX_RSS_MB);
  }, 60_000);
});
