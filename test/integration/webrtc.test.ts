import { execFile, spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createControllerWithSource, createPipelineConfig, NodeAvProvider, WebRtcSource, WhipServer, type PipelineConfigInit, type PipelineResult, type WebRtcSourceOptions, type WebRtcSourceStats } from '../../src/index.js';
import { WebSocketServer } from 'ws';
import { beepOnsets, decodeErrors, FFPROBE, flashTimes, frames, packetSpan, probe, streamOf, videoPackets } from '../helpers/ffprobe.js';
import { slowVideoProvider } from '../helpers/providers.js';
import { tmpDir } from '../helpers/tmp.js';
import { publish, type PublisherOptions, type PublisherReport } from '../helpers/webrtc-publisher.js';
import { offerSdp } from '../helpers/webrtc-publisher.js';

const dir = tmpDir();
const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
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
async function recordPublisher(output: string, pub: Omit<PublisherOptions, 'signal'>, init: Partial<PipelineConfigInit> = {}, options: Omit<WebRtcSourceOptions, 'iceHosts'> = {}): Promise<{ result: PipelineResult; report: PublisherReport; stats: WebRtcSourceStats }> {
  const source = new WebRtcSource({ iceHosts: LOOPBACK, ...options });
  const controller = createControllerWithSource(createPipelineConfig({ outputs: [{ path: output }], ...init }), source);
  const run = controller.start();
  const { report, pc } = await publish({ ...pub, signal: (offer) => source.acceptOffer(offer) });
  // werift sends no DTLS close alert: the application's signalling says the publisher left.
  await source.hangUp();
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

describe('A/V sync from RTCP sender reports, end to end (werift publisher, VP8 + Opus copied to WebM)', () => {
  // On loopback, arrival and capture coincide, so a test without a wire delay cannot tell sender-report
  // placement from arrival placement. Here the publisher's audio leaves 200 ms after its capture while
  // its sender reports stay true.
  const DELAY_S = 0.2;

  it('audio held 200 ms on the wire: placed by its sender reports (syncedBy), every beep within one frame of its flash', async () => {
    const out = join(dir, 'sr-delayed.webm');
    const { result, report, stats } = await recordPublisher(out, { seconds: 5, audioWireDelayMs: DELAY_S * 1000 });
    expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
    expect(stats.tracks.map((t) => [t.kind, t.sync?.syncedBy]).sort()).toEqual([['audio', 'sender-report'], ['video', 'sender-report']]);
    expect(frames(streamOf(await probe(out), 'video'))).toBe(report.videoFrames);
    expect((await packetSpan(out, 'audio')).packets).toBe(report.audioPackets);
    const offsets = await avOffsets(out);
    expect(offsets).toHaveLength(5);
    for (const o of offsets) expect(Math.abs(o)).toBeLessThanOrEqual(1 / 30);
  }, 30_000);

  // Arrival placement takes in the publishers' encode and event-loop delays, which a loaded machine
  // stretches: retried once at most, named in the run's summary when it is.
  it('without sender reports the fallback places by arrival (syncedBy "arrival"): in sync with no wire delay, 200 ms late with it (what the reports correct)', { retry: 1, timeout: 40_000 }, async () => {
    // One publisher after the other (the fallback waits 1 s for a report that never comes): two at once
    // made each one's arrival times carry the other's encoding (a retry in one CI run of three).
    const plain = await recordPublisher(join(dir, 'no-sr.webm'), { seconds: 5, senderReports: false }, {}, { syncTimeoutMs: 1000 });
    const delayed = await recordPublisher(join(dir, 'no-sr-delayed.webm'), { seconds: 5, senderReports: false, audioWireDelayMs: DELAY_S * 1000 }, {}, { syncTimeoutMs: 1000 });
    for (const { result, stats } of [plain, delayed]) {
      expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
      expect(stats.tracks.map((t) => [t.kind, t.sync?.syncedBy, t.sync?.senderReports]).sort()).toEqual([['audio', 'arrival', 0], ['video', 'arrival', 0]]);
    }
    const inSync = await avOffsets(join(dir, 'no-sr.webm'));
    expect(inSync).toHaveLength(5);
    for (const o of inSync) expect(Math.abs(o)).toBeLessThanOrEqual(1 / 30);
    // Video minus audio: each beep 200 ms after its flash, within a frame.
    const late = await avOffsets(join(dir, 'no-sr-delayed.webm'));
    expect(late).toHaveLength(5);
    for (const o of late) expect(Math.abs(o + DELAY_S)).toBeLessThanOrEqual(1 / 30);
  });
});

describe('WebRTC source: the other payload formats', () => {
  it('VP9 copied into WebM and G.711 mu-law (PCMU) decoded and made Opus: every frame, A/V within one frame', async () => {
    const out = join(dir, 'vp9-pcmu.webm');
    const { result, report, stats } = await recordPublisher(out, { seconds: 4, video: 'vp9', audio: 'pcmu' });
    expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
    expect(stats.tracks.map((t) => [t.kind, t.codec]).sort()).toEqual([['audio', 'ulaw'], ['video', 'vp9']]);
    expect(result.tracks.map((t) => [t.kind, t.mode])).toEqual([['video', 'copy'], ['audio', 'transcode']]);
    // The decoded audio went through the drift corrector: its samples kept on their times (one clock
    // on loopback: no drift to speak of, no gap).
    const drift = result.tracks[1]!.drift!;
    expect(drift.gaps).toBe(0);
    expect(drift.maxOffsetUs).toBeLessThan(5000);
    const p = await probe(out);
    expect(streamOf(p, 'video')).toMatchObject({ codec_name: 'vp9', width: 640, height: 360 });
    expect(streamOf(p, 'audio').codec_name).toBe('opus');
    expect(frames(streamOf(p, 'video'))).toBe(report.videoFrames);
    expect(await decodeErrors(out)).toBe('');
    const offsets = await avOffsets(out);
    expect(offsets.length).toBeGreaterThanOrEqual(3);
    for (const o of offsets) expect(Math.abs(o)).toBeLessThanOrEqual(1 / 30);
  }, 30_000);
});

describe('WebRTC source under stress', () => {
  it('a track that joins 3 s late keeps sync: VP8 + Opus transcoded to H.264 + AAC, silence before the audio', async () => {
    const out = join(dir, 'late.mp4');
    const { result, stats } = await recordPublisher(out, { seconds: 6, audioStartS: 3 }, { encoding: { width: 640, height: 360, audioCodec: 'aac' } });
    expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
    expect(result.tracks.map((t) => [t.kind, t.mode])).toEqual([['video', 'transcode'], ['audio', 'transcode']]);
    expect(stats.tracks.every((t) => t.recorded)).toBe(true);
    const [flashes, beeps] = await Promise.all([flashTimes(out), beepOnsets(out)]);
    // Video from the start (flashes at 0..5 s), audio from 3 s: beeps at 3, 4, 5 s, each on its flash.
    expect(flashes.length).toBeGreaterThanOrEqual(5);
    expect(beeps.length).toBe(3);
    expect(beeps[0]).toBeGreaterThan(2.9);
    for (const b of beeps) {
      const f = flashes.reduce((best, x) => (Math.abs(x - b) < Math.abs(best - b) ? x : best), Infinity);
      expect(Math.abs(f - b)).toBeLessThanOrEqual(1 / 30);
    }
    const span = await packetSpan(out, 'audio');
    expect(span.start).toBeLessThan(0.05);
  }, 30_000);

  it('a muted track (2 s without audio) is filled with silence and reported to a WebSocket output; sync holds after it', async () => {
    const out = join(dir, 'muted.mp4');
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    const text: string[] = [];
    wss.on('connection', (ws) => ws.on('message', (m, binary) => {
      if (!binary) text.push(m.toString());
    }));
    try {
      const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/audio`;
      const { result, stats } = await recordPublisher(out, { seconds: 6, audioGapS: [2, 4] }, {
        outputs: [{ path: out }, { url }], encoding: { width: 640, height: 360, audioCodec: 'aac' },
      });
      expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
      expect(text).toEqual(['{"muted":false}', '{"muted":true}', '{"muted":false}']);
      expect(stats.tracks.find((t) => t.kind === 'audio')).toMatchObject({ mutes: 1, muted: false });
      // The audio track runs through the gap (silence), and the beeps after it sit on their flashes.
      const span = await packetSpan(out, 'audio');
      expect(span.start).toBeLessThan(0.05);
      expect(span.end).toBeGreaterThan(5.9);
      const [flashes, beeps] = await Promise.all([flashTimes(out), beepOnsets(out)]);
      expect(beeps.map(Math.round)).toEqual([0, 1, 4, 5]);
      for (const b of beeps) {
        const f = flashes.reduce((best, x) => (Math.abs(x - b) < Math.abs(best - b) ? x : best), Infinity);
        expect(Math.abs(f - b)).toBeLessThanOrEqual(1 / 30);
      }
    } finally {
      wss.close();
    }
  }, 30_000);

  it('5% video packet loss: losses counted, keyframes asked for (PLI), a file that decodes cleanly', async () => {
    const out = join(dir, 'lossy.webm');
    const { result, report, stats } = await recordPublisher(out, { seconds: 6, width: 320, height: 240, videoLoss: 0.05 });
    expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
    const video = stats.tracks.find((t) => t.kind === 'video')!;
    expect(report.videoPacketsDropped).toBeGreaterThan(0);
    // Every dropped packet that a later packet follows is counted lost.
    expect(video.packets.lost).toBeGreaterThanOrEqual(report.videoPacketsDropped - 2);
    expect(video.packets.lost).toBeLessThanOrEqual(report.videoPacketsDropped);
    expect(video.frames.framesDropped).toBeGreaterThan(0);
    expect(video.pliSent).toBeGreaterThan(0);
    expect(report.plis).toBeGreaterThan(0);
    const p = await probe(out);
    expect(frames(streamOf(p, 'video'))).toBe(video.frames.frames);
    // Frames between a loss and the next keyframe are left out: how many depends on where the losses
    // fall; a playable recording keeps a good share of them.
    expect(frames(streamOf(p, 'video'))).toBeGreaterThan(report.videoFrames / 6);
    expect(await decodeErrors(out)).toBe('');
  }, 30_000);
});

describe('WebRTC source: keyframes for crash-safe fragments', () => {
  it('a publisher that sends keyframes only when asked: one is asked for every 4 s, so a copied MP4 is written in fragments that short', async () => {
    const out = join(dir, 'long-gop.mp4');
    const { result, report, stats } = await recordPublisher(out, { seconds: 9, video: 'h264', keyframeIntervalS: 1000 }, { encoding: { audioCodec: 'aac' } });
    expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
    expect(result.tracks.find((t) => t.kind === 'video')?.mode).toBe('copy');
    const video = stats.tracks.find((t) => t.kind === 'video')!;
    // Asked twice in 9 s (at about 4 and 8 s), each answered with a keyframe.
    expect(video.pliSent).toBeGreaterThanOrEqual(2);
    expect(report.plis).toBeGreaterThanOrEqual(2);
    // One mdat a fragment in the finalized file: at least the three the keyframes started.
    const b = readFileSync(out);
    let mdats = 0;
    for (let at = 0; at + 8 <= b.length; at += b.readUInt32BE(at)) if (b.toString('latin1', at + 4, at + 8) === 'mdat') mdats++;
    expect(mdats).toBeGreaterThanOrEqual(3);
    // The keyframes ffprobe reads: none more than the 4 s wait (and the PLI's round trip) after the one before.
    const keys = (await videoPackets(out)).filter((p) => p.key).map((p) => p.t);
    expect(keys.length).toBeGreaterThanOrEqual(3);
    keys.slice(1).forEach((t, i) => expect(t - keys[i]!).toBeLessThanOrEqual(4.5));
    expect(frames(streamOf(await probe(out), 'video'))).toBe(report.videoFrames);
    expect(await decodeErrors(out)).toBe('');
  }, 30_000);
});

describe('WebRTC source: overload and leaving', () => {
  it('an overloaded encoder drops the oldest (counted) once its time bound (1 s of media here) is full: memory bounded by it, a complete file', async () => {
    const out = join(dir, 'overload.mp4');
    // 100 ms a frame: 10 fps against 30 coming in.
    const provider = slowVideoProvider(await NodeAvProvider.load(), 100);
    const source = new WebRtcSource({ iceHosts: LOOPBACK });
    const config = createPipelineConfig({ outputs: [{ path: out }], encoding: { width: 640, height: 360, audioCodec: 'aac' }, queues: { video: { seconds: 1 } } });
    const controller = createControllerWithSource(config, source, { codecProvider: provider });
    const run = controller.start();
    const { report, pc } = await publish({ seconds: 5, signal: (offer) => source.acceptOffer(offer) });
    await source.hangUp();
    await pc.close();
    const result = await run;
    expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
    const q = result.queues.find((x) => x.name === 'video-queue')!;
    // Every frame the publisher sent went in; 5 s at 30 fps, about 1.7 s of it encoded meanwhile, 1 s
    // held: the rest (about 2.3 s) dropped, each counted (in = out + dropped + level, out counted again
    // by ffprobe below).
    expect(q.in).toBe(report.videoFrames);
    expect(q.dropped).toBeGreaterThan(30);
    expect(q.in).toBe(q.out + q.dropped + q.level);
    expect(q.level).toBe(0);
    // Never more than the time bound held: 1 s of 640x360 frames, whatever the item bound.
    expect(q.maxTimeMs).toBe(1000);
    // It dropped only once full: it held up to the bound, within a frame of it, never more.
    expect(q.maxLevelTimeMs).toBeGreaterThanOrEqual(1000 - 1000 / 30);
    expect(q.maxLevelTimeMs).toBeLessThanOrEqual(1000);
    expect(q.maxLevel).toBeLessThanOrEqual(31);
    expect(q.maxLevelBytes).toBeLessThanOrEqual(31 * 640 * 360 * 1.5);
    // What the queue let through is what the encoder took and what the file holds, counted by ffprobe.
    const encoder = result.encoders.find((e) => e.name === 'video-encoder')!;
    expect(encoder.framesIn).toBe(q.out);
    expect(frames(streamOf(await probe(out), 'video'))).toBe(q.out);
    // The source itself never waited: every frame sent reached its outlet, none dropped there.
    const video = source.toJSON().tracks.find((t) => t.kind === 'video')!;
    expect(video.queue).toMatchObject({ in: report.videoFrames, dropped: 0 });
    expect(await decodeErrors(out)).toBe('');
  }, 60_000);

  it('stopped before any publisher came: ABORTED at once, no file, the source ended', async () => {
    const out = join(dir, 'never.webm');
    const source = new WebRtcSource({ iceHosts: LOOPBACK });
    const controller = createControllerWithSource(createPipelineConfig({ outputs: [{ path: out }] }), source);
    const run = controller.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(controller.status).toBe('STARTING');
    const result = await controller.stop();
    expect(result.status).toBe('ABORTED');
    expect(await run).toBe(result);
    await source.ended;
    expect(existsSync(out)).toBe(false);
    await expect(source.acceptOffer('v=0\r\n')).rejects.toMatchObject({ code: 'INVALID_STATE' });
  });

  it("onLeave 'wait': a publisher that comes back continues the same recording", async () => {
    const out = join(dir, 'resumed.webm');
    const source = new WebRtcSource({ iceHosts: LOOPBACK, onLeave: 'wait', leaveTimeoutMs: 10_000 });
    const controller = createControllerWithSource(createPipelineConfig({ outputs: [{ path: out }] }), source);
    const run = controller.start();
    const first = await publish({ seconds: 2, signal: (offer) => source.acceptOffer(offer) });
    await source.hangUp();
    await first.pc.close();
    expect(source.waitingForPublisher).toBe(true);
    expect(controller.status).toBe('ACTIVE');
    await new Promise((r) => setTimeout(r, 500));
    const second = await publish({ seconds: 2, signal: (offer) => source.acceptOffer(offer) });
    await source.hangUp();
    await second.pc.close();
    await controller.stop();
    const result = await run;
    expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
    const stats = source.toJSON();
    expect(stats.sessions).toBe(2);
    expect(frames(streamOf(await probe(out), 'video'))).toBe(first.report.videoFrames + second.report.videoFrames);
    expect(await decodeErrors(out)).toBe('');
    // The second session's flashes come after the first's, across the gap.
    const flashes = await flashTimes(out);
    expect(flashes.length).toBe(4);
    expect(flashes[2]! - flashes[1]!).toBeGreaterThan(1.4);
  }, 40_000);
});

/** POSTs an offer to a WHIP endpoint; returns the answer and the session's resource URL. */
async function whipPost(endpoint: string, offer: string, token?: string): Promise<{ answer: string; resource: string }> {
  const res = await fetch(endpoint, { method: 'POST', headers: { 'Content-Type': 'application/sdp', ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }) }, body: offer });
  if (res.status !== 201) throw new Error(`WHIP POST: ${res.status} ${await res.text()}`);
  return { answer: await res.text(), resource: new URL(res.headers.get('location')!, endpoint).href };
}

describe('WHIP endpoint', () => {
  it('records a werift publisher through POST / DELETE: H.264 copied into MP4, Opus made AAC, A/V within one frame; checks the token', async () => {
    const server = new WhipServer({
      config: (name, id) => ({ outputs: [{ path: join(dir, `${name}-${id}.mp4`) }], encoding: { width: 640, height: 360, audioCodec: 'aac' } }),
      token: 'secret', iceHosts: LOOPBACK,
    });
    const base = await server.listen(0);
    try {
      const endpoint = `${base}/whip/studio-1`;
      expect((await fetch(endpoint, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0\r\n' })).status).toBe(401);
      expect((await fetch(endpoint, { method: 'POST', headers: { 'Content-Type': 'text/plain', Authorization: 'Bearer secret' }, body: 'v=0\r\n' })).status).toBe(415);
      expect((await fetch(endpoint, { method: 'POST', headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer secret' }, body: 'hello' })).status).toBe(400);
      expect((await fetch(`${base}/whip/bad name`, { method: 'POST', headers: { Authorization: 'Bearer secret' } })).status).toBe(400);
      let resource = '';
      const ended = new Promise<PipelineResult>((resolve) => server.once('end', (_s, r) => resolve(r)));
      let stats: (() => WebRtcSourceStats) | undefined;
      server.once('session', (s) => (stats = () => s.stats()!));
      const { report } = await publish({
        seconds: 4, video: 'h264',
        signal: async (offer) => {
          const r = await whipPost(endpoint, offer, 'secret');
          resource = r.resource;
          return r.answer;
        },
      });
      expect(server.sessions.map((s) => s.name)).toEqual(['studio-1']);
      const id = server.sessions[0]!.id;
      expect((await fetch(resource, { method: 'DELETE' })).status).toBe(401);
      expect((await fetch(resource, { method: 'DELETE', headers: { Authorization: 'Bearer secret' } })).status).toBe(200);
      const result = await ended;
      expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
      expect(result.tracks.map((t) => [t.kind, t.mode])).toEqual([['video', 'copy'], ['audio', 'transcode']]);
      const out = join(dir, `studio-1-${id}.mp4`);
      const p = await probe(out);
      expect(streamOf(p, 'video').codec_name).toBe('h264');
      expect(streamOf(p, 'audio').codec_name).toBe('aac');
      expect((await packetSpan(out, 'video')).packets, JSON.stringify(stats!())).toBe(report.videoFrames);
      expect(frames(streamOf(p, 'video'))).toBe(report.videoFrames);
      const offsets = await avOffsets(out);
      expect(offsets.length).toBeGreaterThanOrEqual(3);
      for (const o of offsets) expect(Math.abs(o)).toBeLessThanOrEqual(1 / 30);
    } finally {
      await server.close();
    }
  }, 30_000);
});


describe('WHIP endpoint: hostile requests', () => {
  it('answers bad percent-encoding with 400, and an oversized body (declared, or sent chunked) with a 413 the client receives', async () => {
    const server = new WhipServer({ config: () => ({ outputs: [{ path: join(dir, 'never.webm') }] }), iceHosts: LOOPBACK });
    const base = await server.listen(0);
    try {
      expect((await fetch(`${base}/whip/%E0%A4%A`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0\r\n' })).status).toBe(400);
      const big = 'a'.repeat(300 * 1024);
      expect((await fetch(`${base}/whip/big`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: big })).status).toBe(413);
      // Without a length: the body streams in chunks and the limit is found while reading.
      const chunked = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < 40; i++) c.enqueue(new Uint8Array(16 * 1024).fill(97));
          c.close();
        },
      });
      const r = await fetch(`${base}/whip/big`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: chunked, duplex: 'half' } as RequestInit);
      expect(r.status).toBe(413);
      expect(await r.text()).toContain('over');
      expect(server.sessions).toHaveLength(0);
    } finally {
      await server.close();
    }
  });

  it('takes at most maxSessions: of ten valid offers at once, exactly that many get 201, the rest 503 at once', async () => {
    const server = new WhipServer({ config: (name) => ({ outputs: [{ path: join(dir, `slot-${name}.webm`) }] }), iceHosts: LOOPBACK, maxSessions: 2, source: { trackTimeoutMs: 500 } });
    const base = await server.listen(0);
    try {
      const offers = await Promise.all(Array.from({ length: 10 }, () => offerSdp()));
      const statuses = await Promise.all(offers.map(async (sdp, i) => (await fetch(`${base}/whip/slot${i}`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: sdp })).status));
      expect(statuses.filter((st) => st === 201)).toHaveLength(2);
      expect(statuses.filter((st) => st === 503)).toHaveLength(8);
    } finally {
      await server.close();
    }
  }, 30_000);
});

describe('avpipe serve --whip (built CLI)', () => {
  it('records each WHIP session to its own file (two at once, --workers 2), a line per session on the terminal; Ctrl-C finalizes', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const outDir = join(dir, 'served');
    const cli = spawn(process.execPath, [CLI, 'serve', '--whip', '--listen', `127.0.0.1:${port}`, '--output-dir', outDir, '--token', 'T', '--output', '{name}.webm', '--json', '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    cli.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 100 && !stderr.includes('WHIP endpoint at'); i++) await new Promise((r) => setTimeout(r, 100));
      // Two publishers at once, spread over the two worker threads asked for.
      const reports = await Promise.all(['cam1', 'cam2'].map(async (name) => {
        let resource = '';
        const { report } = await publish({
          seconds: 3, width: 320, height: 240,
          signal: async (offer) => {
            const r = await whipPost(`http://127.0.0.1:${port}/whip/${name}`, offer, 'T');
            resource = r.resource;
            return r.answer;
          },
        });
        await fetch(resource, { method: 'DELETE', headers: { Authorization: 'Bearer T' } });
        return report;
      }));
      for (let i = 0; i < 100 && (stderr.match(/COMPLETE/g) ?? []).length < 2; i++) await new Promise((r) => setTimeout(r, 100));
      cli.kill('SIGINT');
      expect(await exited).toBe(0);
      for (const name of ['cam1', 'cam2']) {
        expect(stderr).toMatch(new RegExp(`\\[${name} [0-9a-f]{8}\\] publishing`));
        expect(stderr).toMatch(new RegExp(`\\[${name} [0-9a-f]{8}\\] COMPLETE: 3\\.\\d\\d s of media, 0 packets lost, 0 dropped \\(the publisher hung up\\)`));
      }
      const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; status: string; source: WebRtcSourceStats });
      expect(lines.map((l) => l.name).sort()).toEqual(['cam1', 'cam2']);
      for (const line of lines) expect(line).toMatchObject({ status: 'COMPLETE', source: { kind: 'webrtc', sessions: 1 } });
      expect(frames(streamOf(await probe(join(outDir, 'cam1.webm')), 'video'))).toBe(reports[0]!.videoFrames);
      expect(frames(streamOf(await probe(join(outDir, 'cam2.webm')), 'video'))).toBe(reports[1]!.videoFrames);
    } finally {
      cli.kill('SIGKILL');
    }
  }, 40_000);
});

describe('WebRTC source: pause and resume of a copied recording', () => {
  it('VP8 + Opus copied into WebM: the paused media cut out, the video after it waiting for the keyframe a PLI asks for, A/V within one frame', async () => {
    const out = join(dir, 'paused.webm');
    const source = new WebRtcSource({ iceHosts: LOOPBACK });
    const controller = createControllerWithSource(createPipelineConfig({ outputs: [{ path: out }] }), source);
    let paused = false;
    controller.on('progress', (p) => {
      if (paused || p.mediaTimeMs < 1500) return;
      paused = true;
      controller.pause();
      setTimeout(() => controller.resume(), 1500);
    });
    const run = controller.start();
    // Keyframes of its own only every 20 s: the one after the cut is the PLI's.
    const { report, pc } = await publish({ seconds: 6, keyframeIntervalS: 20, signal: (offer) => source.acceptOffer(offer) });
    await source.hangUp();
    await pc.close();
    const result = await run;
    expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
    expect(result.tracks.map((t) => [t.kind, t.mode])).toEqual([['video', 'copy'], ['audio', 'copy']]);
    expect(result.pauses).toHaveLength(1);
    const { atMs, durationMs } = result.pauses[0]!;
    expect(durationMs).toBeGreaterThan(1200);
    // The publisher's only keyframe of its own is its first: the one after the cut was asked for (a
    // PLI); every frame decodes.
    expect(report.plis).toBeGreaterThanOrEqual(1);
    expect(await decodeErrors(out)).toBe('');
    const video = await packetSpan(out, 'video');
    const audio = await packetSpan(out, 'audio');
    expect(Math.abs(audio.end - (6 - durationMs / 1000))).toBeLessThan(0.25);
    expect(Math.abs(video.end - audio.end)).toBeLessThan(0.1);
    // The first frame after the cut is a keyframe.
    const { stdout } = await promisify(execFile)(FFPROBE, ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags', '-of', 'csv=p=0', out]);
    const after = stdout.trim().split('\n').map((l) => l.split(',')).find(([t]) => Number(t) >= atMs / 1000 - 1e-3);
    expect(after?.[1]).toMatch(/^K/);
    const offsets = await avOffsets(out);
    expect(offsets.length).toBeGreaterThanOrEqual(3);
    for (const o of offsets) expect(Math.abs(o)).toBeLessThanOrEqual(1 / 30);
  }, 30_000);
});

describe('WHIP endpoint: pausing a session through the library', () => {
  it('a session on a worker thread is paused and resumed (WhipSession.setPaused): the paused time cut from its file, listed in its result', async () => {
    const server = new WhipServer({ config: (name, id) => ({ outputs: [{ path: join(dir, `paused-${name}-${id}.webm`) }] }), iceHosts: LOOPBACK, workers: 1 });
    const base = await server.listen(0);
    try {
      const ended = new Promise<PipelineResult>((resolve) => server.once('end', (_s, r) => resolve(r)));
      const calls: (boolean | string)[] = [];
      const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
      server.once('session', (s) => {
        // Once it is ACTIVE (its status comes from its worker, at most a second old): paused 1.5 s.
        void (async () => {
          while (s.status() !== 'ACTIVE') await sleep(50);
          await sleep(700);
          calls.push(await s.setPaused(true), await s.setPaused(true));
          await sleep(1500);
          calls.push(await s.setPaused(false));
        })().catch((err: unknown) => calls.push(String(err)));
      });
      let resource = '';
      const { pc } = await publish({ seconds: 4, signal: async (offer) => {
        const r = await whipPost(`${base}/whip/paused`, offer);
        resource = r.resource;
        return r.answer;
      } });
      await fetch(resource, { method: 'DELETE' });
      await pc.close();
      const result = await ended;
      expect(result.status, JSON.stringify(result.error)).toBe('COMPLETE');
      // Paused, paused again (already: false), resumed.
      expect(calls).toEqual([true, false, true]);
      expect(result.pauses).toHaveLength(1);
      const cut = result.pauses[0]!.durationMs / 1000;
      expect(cut).toBeGreaterThan(1);
      const audio = await packetSpan(result.outputs[0]!.type === 'file' ? result.outputs[0]!.path : '', 'audio');
      expect(Math.abs(audio.end - (4 - cut))).toBeLessThan(0.3);
    } finally {
      await server.close();
    }
  }, 30_000);
});
