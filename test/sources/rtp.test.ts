import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FrameAssembler, MAX_FRAME_PACKETS } from '../../src/sources/rtp/frame-assembler.js';
import { JitterBuffer, type JitterOutput } from '../../src/sources/rtp/jitter-buffer.js';
import { LipSync, ntpToSeconds, type PlacedFrame } from '../../src/sources/rtp/lip-sync.js';
import { opusHead } from '../../src/codecs/opus-head.js';
import { RTP_CODECS, videoConfigFromKeyframe } from '../../src/sources/rtp/rtp-codecs.js';
import { audioFixture } from '../helpers/fixtures.js';
import { depacketize, packetize, pkt, vp8Delta, vp8Key, Vp8Packetizer } from '../helpers/rtp-packets.js';

const seqs = (out: JitterOutput[]): (number | string)[] => out.map((o) => ('lost' in o ? `lost${o.lost}` : o.packet.header.sequenceNumber));

describe('JitterBuffer', () => {
  it('puts reordered packets back in order and counts them', () => {
    const jb = new JitterBuffer(100);
    const out = [...jb.push(pkt(10), 0), ...jb.push(pkt(12), 1), ...jb.push(pkt(11), 2), ...jb.push(pkt(13), 3)];
    expect(seqs(out)).toEqual([10, 11, 12, 13]);
    expect(jb.toJSON()).toMatchObject({ received: 4, released: 4, reordered: 1, lost: 0, level: 0 });
  });

  it('gives a gap up after the latency, counting the lost packets; a late arrival is dropped', () => {
    const jb = new JitterBuffer(100);
    jb.push(pkt(1), 0);
    expect(seqs(jb.push(pkt(4), 10))).toEqual([]);
    expect(seqs(jb.release(109))).toEqual([]);
    expect(seqs(jb.release(110))).toEqual(['lost2', 4]);
    expect(seqs(jb.push(pkt(2), 120))).toEqual([]);
    expect(jb.toJSON()).toMatchObject({ received: 3, released: 2, lost: 2, late: 1, level: 0 });
  });

  it('counts duplicates and survives the 16-bit sequence wrap', () => {
    const jb = new JitterBuffer(50);
    const out = [65534, 65535, 65535, 0, 1].flatMap((s, i) => jb.push(pkt(s), i));
    expect(seqs(out)).toEqual([65534, 65535, 0, 1]);
    expect(jb.toJSON()).toMatchObject({ released: 4, late: 1, lost: 0 });
  });

  it('gives gaps up when more than its capacity waits', () => {
    const jb = new JitterBuffer(10_000, 3);
    jb.push(pkt(0), 0);
    const out = [5, 6, 7, 8].flatMap((s) => jb.push(pkt(s), 1));
    expect(seqs(out)).toEqual(['lost4', 5, 6, 7, 8]);
  });
});

describe('FrameAssembler', () => {
  it('rebuilds VP8 frames from packets, starting at the first keyframe', () => {
    const a = new FrameAssembler(RTP_CODECS['VP8']!, depacketize);
    const p = new Vp8Packetizer({ maxPayloadSize: 500, sequenceNumber: 100 });
    const delta0 = packetize(p, vp8Delta(700), 0);
    const key = packetize(p, vp8Key(640, 360, 1800), 3000);
    const delta = packetize(p, vp8Delta(900), 6000);
    const first = a.push(delta0.map((packet) => ({ packet })));
    expect(first).toMatchObject({ frames: [], requestKeyframe: true });
    const out = a.push([...key, ...delta].map((packet) => ({ packet })));
    expect(out.frames.map((f) => [f.key, f.data.length, f.rtpTimestamp])).toEqual([[true, 1800, 3000], [false, 900, 6000]]);
    expect(videoConfigFromKeyframe('vp8', out.frames[0]!.data)).toEqual({ codec: 'vp8', codedWidth: 640, codedHeight: 360 });
    expect(a.toJSON()).toMatchObject({ frames: 2, framesDropped: 1, keyframeRequests: 1 });
  });

  it('after a loss leaves frames out until the next keyframe and asks for one', () => {
    const a = new FrameAssembler(RTP_CODECS['VP8']!, depacketize);
    const p = new Vp8Packetizer({ maxPayloadSize: 500 });
    a.push(packetize(p, vp8Key(320, 240, 1200), 0).map((packet) => ({ packet })));
    const broken = packetize(p, vp8Delta(1200), 3000);
    const out = a.push([{ packet: broken[0]! }, { lost: 1 }, { packet: broken[2]! }, ...packetize(p, vp8Delta(300), 6000).map((packet) => ({ packet }))]);
    expect(out).toMatchObject({ frames: [], requestKeyframe: true });
    const again = a.push(packetize(p, vp8Key(320, 240, 800), 9000).map((packet) => ({ packet })));
    expect(again.frames.map((f) => f.key)).toEqual([true]);
    expect(a.toJSON()).toMatchObject({ frames: 2, framesDropped: 2, keyframeRequests: 1 });
  });

  it('leaves out a "frame" that never ends (no marker bit, one timestamp): bounded, counted, then back on the next keyframe', () => {
    const a = new FrameAssembler(RTP_CODECS['VP8']!, depacketize);
    const p = new Vp8Packetizer({ maxPayloadSize: 500 });
    a.push(packetize(p, vp8Key(320, 240, 1200), 0).map((packet) => ({ packet })));
    const flood = Array.from({ length: MAX_FRAME_PACKETS * 2 + 10 }, (_, i) => ({ packet: { ...pkt(1000 + i, 3000, false), payload: Buffer.alloc(100, 0x31) } }));
    expect(a.push(flood).frames).toEqual([]);
    expect(a.toJSON()).toMatchObject({ frames: 1, oversize: 1, framesDropped: 1 });
    const again = a.push(packetize(p, vp8Key(320, 240, 800), 6000).map((packet) => ({ packet })));
    expect(again.frames.map((f) => [f.key, f.rtpTimestamp])).toEqual([[true, 6000]]);
  });
});

describe('LipSync', () => {
  it('maps RTP time through sender reports (NTP fraction is binary), one timeline for both tracks', () => {
    expect(ntpToSeconds({ ntpSeconds: 10, ntpFraction: 2 ** 31 })).toBe(10.5);
    const sync = new LipSync<string>(5000);
    const v = sync.addTrack(90000);
    const a = sync.addTrack(48000);
    // Video RTP 1000 is sender time 100.25 s; audio RTP 5000 is 100.0 s.
    expect(sync.senderReport(v, { ntpSeconds: 100, ntpFraction: 2 ** 30, rtpTimestamp: 1000 }, 0)).toEqual([]);
    expect(sync.push(v, 'v0', 1000, 1)).toEqual([]);
    expect(sync.senderReport(a, { ntpSeconds: 100, ntpFraction: 0, rtpTimestamp: 5000 }, 2)).toEqual([]);
    const placed = sync.push(a, 'a0', 5000 + 48000 * 0.25, 3);
    expect(placed.map((p) => [p.frame, p.timestamp])).toEqual([['v0', 0], ['a0', 0]]);
    expect(sync.push(v, 'v1', 1000 + 3000, 4).map((p) => p.timestamp)).toEqual([33_333]);
    expect(sync.push(a, 'a1', 5000 + 48000 * 0.25 + 960, 5).map((p) => p.timestamp)).toEqual([20_000]);
  });

  it('waits for every offered track before it sets the zero: a video track heard after audio was anchored keeps its first frames', () => {
    // GStreamer's webrtcbin on a cold start: audio's packets and report first, video's (captured earlier) 300 ms later.
    const run = (expect2: boolean): [string, number][] => {
      const sync = new LipSync<string>(4000);
      if (expect2) sync.expectTracks(2);
      const a = sync.addTrack(48000);
      const placed = [...sync.senderReport(a, { ntpSeconds: 100, ntpFraction: 0, rtpTimestamp: 0 }, 0), ...sync.push(a, 'a0', 48000 * 0.2, 10)];
      const v = sync.addTrack(90000);
      placed.push(...sync.senderReport(v, { ntpSeconds: 100, ntpFraction: 0, rtpTimestamp: 0 }, 300));
      placed.push(...sync.push(v, 'v0', 0, 310), ...sync.push(v, 'v1', 3000, 311));
      return placed.map((p) => [p.frame, p.timestamp]);
    };
    expect(run(true)).toEqual([['a0', 200_000], ['v0', 0], ['v1', 33_333]]);
    // Without the count, the zero came from audio alone: the video's keyframe fell before it, left out.
    expect(run(false)).toEqual([['a0', 0]]);
  });

  it('places a track without reports by arrival after the timeout, and a late track later on the timeline', () => {
    const sync = new LipSync<string>(1000);
    const v = sync.addTrack(90000);
    const a = sync.addTrack(48000);
    sync.push(v, 'v0', 0, 0);
    expect(sync.release(999)).toEqual([]);
    expect(sync.release(1000).map((p) => [p.frame, p.timestamp])).toEqual([['v0', 0]]);
    sync.push(a, 'a0', 4_000_000_000, 3000);
    expect(sync.release(4000).map((p) => [p.frame, p.timestamp])).toEqual([['a0', 3_000_000]]);
    expect(sync.toJSON().map((s) => s.syncedBy)).toEqual(['arrival', 'arrival']);
  });

  it('re-anchors a track whose RTP time jumps past maxGap where its arrival does not (+30 min): no fill, counted', () => {
    const sync = new LipSync<number>(0);
    const a = sync.addTrack(48000);
    sync.senderReport(a, { ntpSeconds: 0, ntpFraction: 0, rtpTimestamp: 0 }, 0);
    const jump = 48000 * 1800;
    const rtp = [0, 960, 1920, jump + 2880, jump + 3840];
    const times = rtp.flatMap((ts, i) => sync.push(a, i, ts, i * 20).map((p) => p.timestamp));
    expect(times).toEqual([0, 20_000, 40_000, 60_000, 80_000]);
    expect(sync.toJSON()[0]).toMatchObject({ jumps: 1, firstJumpUs: 60_000 });
    // A pause that the arrival shows too (30 s without packets) is real time, kept.
    expect(sync.push(a, 9, jump + 3840 + 48000 * 30, 80 + 30_000).map((p) => p.timestamp)).toEqual([30_080_000]);
    expect(sync.toJSON()[0]!.jumps).toBe(1);
  });

  /**
   * A publisher in simulated time: video at 30 fps from a true clock, audio packets of 960 samples
   * from a sound card `ppm` fast, true sender reports every `every` seconds per track (audio's at
   * `reportOff(s)` seconds off the truth), a wire delay of 30 +- 10 ms; `audioHole` leaves the audio
   * out for a span (a mute: the reports go on). Returns the placed frames and their true times.
   */
  function simulate(o: { seconds: number; ppm: number; every: number; reportOff?: (s: number) => number; audioHole?: [number, number]; audioReportsFrom?: number; syncTimeoutMs?: number }) {
    const sync = new LipSync<number>(o.syncTimeoutMs ?? 4000);
    sync.expectTracks(2);
    const v = sync.addTrack(90000);
    const a = sync.addTrack(48000);
    const audioHz = 48000 * (1 + o.ppm * 1e-6);
    const delayMs = (i: number): number => 30 + 10 * Math.sin(i * 12.9898);
    const events: { at: number; go: (now: number) => PlacedFrame<number>[] }[] = [];
    const NTP0 = 1000;
    const sr = (t: number, rtp: number) => ({ ntpSeconds: Math.floor(NTP0 + t), ntpFraction: Math.round(((NTP0 + t) % 1) * 2 ** 32), rtpTimestamp: rtp >>> 0 });
    for (let i = 0; i < o.seconds * 30; i++) events.push({ at: (i / 30) * 1000 + delayMs(i), go: (now) => sync.push(v, i, Math.round(i * 3000) >>> 0, now) });
    for (let k = 0; (k * 960) / audioHz < o.seconds; k++) {
      const t = (k * 960) / audioHz;
      if (o.audioHole !== undefined && t >= o.audioHole[0] && t < o.audioHole[1]) continue;
      events.push({ at: t * 1000 + delayMs(k + 0.5), go: (now) => sync.push(a, 100_000_000 + k, (k * 960) >>> 0, now) });
    }
    for (let s = 0.5; s < o.seconds; s += o.every) {
      events.push({ at: s * 1000 + 30, go: (now) => sync.senderReport(v, sr(s, Math.round(s * 90000)), now) });
      if (s >= (o.audioReportsFrom ?? 0)) events.push({ at: s * 1000 + 35, go: (now) => sync.senderReport(a, sr(s + (o.reportOff?.(s) ?? 0), Math.round(s * audioHz)), now) });
    }
    events.sort((x, y) => x.at - y.at);
    const placed: PlacedFrame<number>[] = [];
    for (const e of events) placed.push(...e.go(e.at));
    placed.push(...sync.release(Number.MAX_SAFE_INTEGER));
    const truth = (p: PlacedFrame<number>): number => (p.track === v ? (p.frame / 30) * 1e6 : ((p.frame - 100_000_000) * 960 / audioHz) * 1e6);
    // Errors against the truth, relative to the session's zero (where the first video frame was placed).
    const zero = placed.find((p) => p.track === v)!.timestamp;
    const err = (p: PlacedFrame<number>): number => p.timestamp - zero - truth(p);
    /** The largest change of a track's error from one frame to its next: a jump in its placement. */
    const maxStep = (track: number): number => {
      const e = placed.filter((p) => p.track === track).map(err);
      return Math.max(...e.slice(1).map((x, i) => Math.abs(x - e[i]!)));
    };
    return { sync, v, a, audioHz, placed, err, maxStep };
  }

  it.each([1, 5])('follows every sender report (one every %i s): an audio clock 300 ppm fast stays on the video\'s timeline for 5 minutes, without a jump', (every) => {
    const { sync, v, a, audioHz, placed, err, maxStep } = simulate({ seconds: 300, ppm: 300, every, reportOff: (s) => (s === 100.5 ? 0.3 : 0) });
    expect(placed.filter((p) => p.track === v)).toHaveLength(9000);
    const audio = placed.filter((p) => p.track === a);
    expect(audio).toHaveLength(Math.ceil((300 * audioHz) / 960));
    // Every frame where it was captured within 300 ppm of the first reports' spacing (the nominal rate
    // until they span 2 s: 1.65 ms at 5 s), within 50 us from 15 s on; no frame more than 25 us off
    // its neighbour's error (the placement steered, never jumping). By the first report alone the
    // last audio frame would be 90 ms late (its samples counted at 48 kHz).
    expect(Math.max(...placed.map((p) => Math.abs(err(p))))).toBeLessThan(300e-6 * (every + 0.5) * 1e6 + 100);
    expect(Math.max(...placed.filter((p) => p.timestamp > 15e6).map((p) => Math.abs(err(p))))).toBeLessThan(50);
    expect(maxStep(a)).toBeLessThan(25);
    expect(maxStep(v)).toBeLessThan(25);
    const last = audio[audio.length - 1]!;
    expect(((last.frame - 100_000_000) * 960 / 48000) * 1e6 - ((last.frame - 100_000_000) * 960 / audioHz) * 1e6).toBeGreaterThan(89_000);
    const [vs, as] = sync.toJSON();
    expect(vs).toMatchObject({ syncedBy: 'sender-report', outliers: 0 });
    // The report 0.3 s off (at 100.5 s) is left out, counted.
    expect(as).toMatchObject({ syncedBy: 'sender-report', outliers: 1, clockSteps: 0 });
    expect(Math.abs(vs!.clockPpm!)).toBeLessThan(1);
    expect(as!.clockPpm!).toBeCloseTo(300, 0);
  });

  it('after a 60 s mute (reports every 5 s going on) the audio comes back where it was captured, within 50 us', () => {
    const { err, placed, a } = simulate({ seconds: 120, ppm: 300, every: 5, audioHole: [30, 90] });
    const after = placed.filter((p) => p.track === a && p.timestamp > 90e6);
    expect(after.length).toBeGreaterThan(1400);
    expect(Math.max(...after.map((p) => Math.abs(err(p))))).toBeLessThan(50);
  });

  it('a track placed by arrival (its reports 6 s late, 2 ms of jitter in them) keeps its place: its reports refine its rate without a jump', () => {
    const { sync, maxStep, a, placed, err } = simulate({ seconds: 120, ppm: 300, every: 1, audioReportsFrom: 6, reportOff: (s) => 0.002 * Math.sin(s * 7.77) });
    expect(sync.toJSON()[1]).toMatchObject({ syncedBy: 'arrival' });
    expect(sync.toJSON()[1]!.clockPpm!).toBeCloseTo(300, -1);
    // Early fits through jittery reports are off in rate by up to some 1000 ppm (20 us a frame); a
    // jump would be the reports' milliseconds.
    expect(maxStep(a)).toBeLessThan(100);
    // Its rate followed: it drifts no further than where arrival put it (within the wire's jitter).
    const audio = placed.filter((p) => p.track === a).map(err);
    expect(Math.max(...audio) - Math.min(...audio)).toBeLessThan(20_000);
  });

  it.each([2, 0.3])('a %s s step of the sender\'s wall clock (reports that much later from then on, RTP going on) moves nothing: counted, the rate followed', (stepS) => {
    const sync = new LipSync<number>(0);
    const a = sync.addTrack(48000);
    const sr = (t: number, off: number) => ({ ntpSeconds: Math.floor(50 + t + off), ntpFraction: Math.round(((50 + t + off) % 1) * 2 ** 32), rtpTimestamp: t * 48000 });
    const times: number[] = [];
    for (let k = 0; k < 50 * 40; k++) {
      const t = k / 50;
      if (k % 50 === 0) times.push(...sync.senderReport(a, sr(t, t >= 20 ? stepS : 0), t * 1000).map((p) => p.timestamp));
      times.push(...sync.push(a, k, k * 960, t * 1000).map((p) => p.timestamp));
    }
    expect(times.length).toBe(2000);
    expect(times.every((us, k) => Math.abs(us - k * 20_000) <= 1)).toBe(true);
    expect(sync.toJSON()[0]).toMatchObject({ outliers: 3, clockSteps: 1 });
  });

  it('unwraps the 32-bit RTP clock', () => {
    const sync = new LipSync<number>(0);
    const v = sync.addTrack(90000);
    sync.senderReport(v, { ntpSeconds: 0, ntpFraction: 0, rtpTimestamp: 2 ** 32 - 9000 }, 0);
    const times = [2 ** 32 - 9000, 2 ** 32 - 6000, 0, 3000].flatMap((ts, i) => sync.push(v, i, ts, 0).map((p) => p.timestamp));
    expect(times).toEqual([0, 33_333, 100_000, 133_333]);
  });
});

describe('rtp codecs', () => {
  it('builds an OpusHead for the container: version 1, its channels, the pre-skip libopus\'s encoders write (as ffmpeg\'s own Ogg Opus says)', async () => {
    const h = opusHead(2);
    expect(Buffer.from(h.subarray(0, 8)).toString('latin1')).toBe('OpusHead');
    // The pre-skip an independent encoder writes: ffmpeg's libopus in an Ogg file of its own (RFC 7845 header, bytes 10-11).
    const ogg = readFileSync(await audioFixture('beep-opus.ogg', ['-c:a', 'libopus']));
    const theirs = ogg.indexOf('OpusHead');
    expect(theirs).toBeGreaterThan(0);
    expect([h[8], h[9], h[10]! | (h[11]! << 8)]).toEqual([1, 2, ogg.readUInt16LE(theirs + 10)]);
  });
});
