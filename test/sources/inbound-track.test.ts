import { describe, expect, it } from 'vitest';
import { MAX_FRAME_PACKETS } from '../../src/sources/rtp/frame-assembler.js';
import { InboundTrack, type InboundOutput } from '../../src/sources/rtp/inbound-track.js';
import type { RtpPacketLike } from '../../src/sources/rtp/jitter-buffer.js';
import { RTP_CODECS } from '../../src/sources/rtp/rtp-codecs.js';
import { depacketize, packetize, pkt, vp8Delta, vp8Key, Vp8Packetizer } from '../helpers/rtp-packets.js';

const LATENCY = 150;

/** A VP8 track at 90 kHz; `maxKeyframeGapMs` 0 unless a test asks (its PLIs would mix with the others). */
function vp8Track(maxKeyframeGapMs = 0): InboundTrack {
  return new InboundTrack({ codec: RTP_CODECS['VP8']!, clockRate: 90_000, channels: 1, depacketize, jitterLatencyMs: LATENCY, maxKeyframeGapMs }, 0);
}

/** Pushes `packets` arriving at `nowMs`; the frames (key, size, RTP time) and whether a PLI went out. */
function pushAll(track: InboundTrack, packets: readonly RtpPacketLike[], nowMs: number): { frames: [boolean, number, number][]; pli: boolean } {
  const outs = packets.map((p) => track.push(p, nowMs));
  return { frames: frameList(outs), pli: outs.some((o) => o.pli) };
}

const frameList = (outs: InboundOutput[]): [boolean, number, number][] => outs.flatMap((o) => o.frames.map((f): [boolean, number, number] => [f.key, f.data.length, f.rtpTimestamp]));
const bytesOf = (packets: readonly RtpPacketLike[]): number => packets.reduce((n, p) => n + p.payload.length, 0);

describe('InboundTrack (one received RTP stream, no network)', () => {
  it('in order: whole frames from the first keyframe, its decoder config, one PLI at the start, exact counters', () => {
    const track = vp8Track();
    const p = new Vp8Packetizer({ maxPayloadSize: 500, sequenceNumber: 100 });
    const key = packetize(p, vp8Key(640, 360, 1800), 3000);
    const d1 = packetize(p, vp8Delta(900), 6000);
    const d2 = packetize(p, vp8Delta(400), 9000);
    expect(key.length).toBe(4);
    // The stream starts on a keyframe: one is asked for with the first packet, before any came.
    expect(track.push(key[0]!, 0)).toEqual({ frames: [], pli: true });
    expect(track.config).toBeUndefined();
    expect(pushAll(track, key.slice(1), 1)).toEqual({ frames: [[true, 1800, 3000]], pli: false });
    expect(track.config).toEqual({ codec: 'vp8', codedWidth: 640, codedHeight: 360 });
    expect(pushAll(track, [...d1, ...d2], 34)).toEqual({ frames: [[false, 900, 6000], [false, 400, 9000]], pli: false });
    expect(track.tick(50)).toEqual({ frames: [], pli: false });
    const n = key.length + d1.length + d2.length;
    expect(track.toJSON()).toEqual({
      packets: { received: n, released: n, lost: 0, reordered: 0, duplicate: 0, late: 0, level: 0 },
      frames: { frames: 3, framesDropped: 0, malformed: 0, keyframeRequests: 1, oversize: 0 },
      pliSent: 1, muted: false, mutes: 0, bytes: bytesOf([...key, ...d1, ...d2]),
    });
  });

  it('reordered packets are put back in order: the same frames, the reordering counted, nothing lost', () => {
    const track = vp8Track();
    const p = new Vp8Packetizer({ maxPayloadSize: 500 });
    const key = packetize(p, vp8Key(320, 240, 1200), 0);
    const delta = packetize(p, vp8Delta(1200), 3000);
    expect([key.length, delta.length]).toEqual([3, 3]);
    const arrival = [key[0]!, key[2]!, key[1]!, delta[1]!, delta[0]!, delta[2]!];
    expect(pushAll(track, arrival, 10)).toEqual({ frames: [[true, 1200, 0], [false, 1200, 3000]], pli: true });
    expect(track.toJSON()).toMatchObject({ packets: { received: 6, released: 6, reordered: 2, lost: 0, level: 0 }, frames: { frames: 2, framesDropped: 0 } });
  });

  it('a lost packet: given up after the latency on tick, a PLI, frames left out until the keyframe, the PLI repeated every 500 ms', () => {
    const track = vp8Track();
    const p = new Vp8Packetizer({ maxPayloadSize: 500 });
    const key = packetize(p, vp8Key(320, 240, 1200), 0);
    expect(pushAll(track, key, 0)).toEqual({ frames: [[true, 1200, 0]], pli: true });
    const a = packetize(p, vp8Delta(1200), 3000);
    const b = packetize(p, vp8Delta(300), 6000);
    // a[1] never comes: a[2] and b wait behind the gap.
    expect(pushAll(track, [a[0]!, a[2]!], 1000)).toEqual({ frames: [], pli: false });
    expect(pushAll(track, b, 1010)).toEqual({ frames: [], pli: false });
    expect(track.toJSON().packets.level).toBe(2);
    expect(track.tick(1000 + LATENCY - 1)).toEqual({ frames: [], pli: false });
    // Given up: the broken frame and the delta after it are left out, a keyframe asked for.
    expect(track.tick(1000 + LATENCY)).toEqual({ frames: [], pli: true });
    expect(track.toJSON()).toMatchObject({ packets: { lost: 1, level: 0 }, frames: { framesDropped: 2, keyframeRequests: 2 }, pliSent: 2 });
    // More deltas while the keyframe is awaited: left out, no PLI (one was just sent).
    expect(pushAll(track, packetize(p, vp8Delta(300), 9000), 1200)).toEqual({ frames: [], pli: false });
    expect(track.tick(1649)).toEqual({ frames: [], pli: false });
    expect(track.tick(1650)).toEqual({ frames: [], pli: true });
    expect(track.tick(1700)).toEqual({ frames: [], pli: false });
    // The keyframe: frames again, and no more repeats.
    expect(pushAll(track, packetize(p, vp8Key(320, 240, 800), 12000), 1700)).toEqual({ frames: [[true, 800, 12000]], pli: false });
    expect(pushAll(track, packetize(p, vp8Delta(200), 15000), 1733)).toEqual({ frames: [[false, 200, 15000]], pli: false });
    expect(track.tick(2300)).toEqual({ frames: [], pli: false });
    expect(track.toJSON()).toMatchObject({
      packets: { lost: 1, late: 0, level: 0 },
      // The rearmed request is counted again with the next packet (the keyframe's first), not sent.
      frames: { frames: 3, framesDropped: 3, malformed: 0, keyframeRequests: 3, oversize: 0 },
      pliSent: 3,
    });
  });

  it('a stream without keyframes: PLIs every 500 ms on tick, muted after 1 s of silence, nothing asked of a publisher that left', () => {
    const track = vp8Track();
    const p = new Vp8Packetizer({ maxPayloadSize: 500 });
    expect(pushAll(track, packetize(p, vp8Delta(300), 0), 0)).toEqual({ frames: [], pli: true });
    const plis: number[] = [];
    const mutes: [number, boolean][] = [];
    for (let t = 20; t <= 2000; t += 20) {
      const out = track.tick(t);
      if (out.pli) plis.push(t);
      if (out.muted !== undefined) mutes.push([t, out.muted]);
    }
    expect(plis).toEqual([500, 1000, 1500, 2000]);
    expect(mutes).toEqual([[1020, true]]);
    // Inactive (its publisher left): neither PLIs nor mutes.
    for (let t = 2020; t <= 3000; t += 20) expect(track.tick(t, false)).toEqual({ frames: [], pli: false });
    // Back: unmuted; still no keyframe, and the request the last repeat rearmed goes out with it.
    expect(track.push(packetize(p, vp8Delta(300), 3000)[0]!, 3100)).toEqual({ frames: [], pli: true, muted: false });
    expect(track.toJSON()).toMatchObject({ pliSent: 6, muted: false, mutes: 1, frames: { frames: 0, framesDropped: 2, keyframeRequests: 2 } });
  });

  it('asks for a keyframe when the GOP runs past maxKeyframeGapMs (and not while muted)', () => {
    const track = vp8Track(1000);
    const p = new Vp8Packetizer({ maxPayloadSize: 1200 });
    const plis: number[] = [];
    for (let t = 0; t <= 2500; t += 20) {
      // A frame every 100 ms: the key at 0, deltas after it.
      if (t % 100 === 0) {
        const frame = t === 0 ? vp8Key(320, 240, 1000) : vp8Delta(200);
        if (pushAll(track, packetize(p, frame, t * 90), t).pli) plis.push(t);
      }
      if (track.tick(t).pli) plis.push(t);
    }
    // The keyframe came whole in one packet: none was asked for at the start.
    expect(plis).toEqual([1020, 2040]);
    // Silent from 2.5 s: one more request 1 s after the last, then muted (3.52 s), and none while muted.
    const later: number[] = [];
    for (let t = 2520; t <= 6000; t += 20) if (track.tick(t).pli) later.push(t);
    expect(later).toEqual([3060]);
    expect(track.toJSON()).toMatchObject({ pliSent: 3, muted: true, mutes: 1, frames: { frames: 26, keyframeRequests: 0 } });
  });

  it('a marker-less flood of one RTP timestamp: bounded and left out (oversize), a PLI, back on the next keyframe', () => {
    const track = vp8Track();
    const p = new Vp8Packetizer({ maxPayloadSize: 500, sequenceNumber: 0 });
    const key = packetize(p, vp8Key(320, 240, 1200), 0);
    expect(pushAll(track, key, 0).frames).toEqual([[true, 1200, 0]]);
    const flood = Array.from({ length: MAX_FRAME_PACKETS + 10 }, (_, i) => ({ ...pkt(key.length + i, 3000, false), payload: Buffer.alloc(100, 0x31) }));
    expect(pushAll(track, flood, 1000)).toEqual({ frames: [], pli: true });
    expect(track.toJSON()).toMatchObject({ packets: { received: key.length + flood.length, level: 0 }, frames: { frames: 1, oversize: 1, framesDropped: 1 }, pliSent: 2 });
    const next = new Vp8Packetizer({ maxPayloadSize: 500, sequenceNumber: key.length + flood.length });
    expect(pushAll(track, packetize(next, vp8Key(320, 240, 800), 6000), 1100)).toEqual({ frames: [[true, 800, 6000]], pli: false });
    expect(track.toJSON().frames).toEqual({ frames: 2, framesDropped: 1, malformed: 0, keyframeRequests: 2, oversize: 1 });
  });

  it('audio (Opus): a lost packet is a gap given up on tick, no PLI; chunks last as their TOC says', () => {
    const track = new InboundTrack({ codec: RTP_CODECS['OPUS']!, clockRate: 48_000, channels: 2, depacketize, jitterLatencyMs: LATENCY, maxKeyframeGapMs: 4000 }, 0);
    // TOC 0xf8: CELT fullband 20 ms, one frame.
    const opus = (seq: number): RtpPacketLike => ({ ...pkt(seq, seq * 960), payload: Buffer.from([0xf8, seq, seq]) });
    expect(track.push(opus(0), 0).frames.map((f) => f.rtpTimestamp)).toEqual([0]);
    expect(track.config).toMatchObject({ codec: 'opus', sampleRate: 48_000, numberOfChannels: 2 });
    expect(track.push(opus(1), 20).frames.map((f) => f.rtpTimestamp)).toEqual([960]);
    expect(track.push(opus(3), 60)).toEqual({ frames: [], pli: false });
    expect(track.tick(60 + LATENCY - 1).frames).toEqual([]);
    expect(track.tick(60 + LATENCY)).toMatchObject({ frames: [{ rtpTimestamp: 2880, key: true }], pli: false });
    const [chunk] = track.place(track.push(opus(4), 230).frames[0]!, 80_000);
    expect([chunk?.type, chunk?.timestamp, chunk?.duration]).toEqual(['key', 80_000, 20_000]);
    expect(track.toJSON()).toEqual({
      packets: { received: 4, released: 4, lost: 1, reordered: 0, duplicate: 0, late: 0, level: 0 },
      frames: { frames: 4, framesDropped: 0, malformed: 0, keyframeRequests: 0, oversize: 0 },
      pliSent: 0, muted: false, mutes: 0, bytes: 12,
    });
  });

  it('placed video frames become chunks one frame behind: each lasts until the next; the last as long as the one before', () => {
    const track = vp8Track();
    const p = new Vp8Packetizer({ maxPayloadSize: 1200 });
    const frames = [vp8Key(320, 240, 1000), vp8Delta(200), vp8Delta(300)].flatMap((f, i) => packetize(p, f, i * 3000).flatMap((packet) => track.push(packet, i * 33).frames));
    expect(frames.map((f) => f.key)).toEqual([true, false, false]);
    const chunks = (list: ReturnType<InboundTrack['place']>): [string, number, number | null, number][] => list.map((c) => [c.type, c.timestamp, c.duration, c.byteLength]);
    expect(chunks(track.place(frames[0]!, 0))).toEqual([]);
    expect(chunks(track.place(frames[1]!, 33_000))).toEqual([['key', 0, 33_000, 1000]]);
    expect(chunks(track.place(frames[2]!, 70_000))).toEqual([['delta', 33_000, 37_000, 200]]);
    expect(chunks(track.releaseHeld())).toEqual([['delta', 70_000, 37_000, 300]]);
    expect(track.releaseHeld()).toEqual([]);
  });
});
