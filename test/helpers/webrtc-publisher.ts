import { createRequire } from 'node:module';
import type { RTCPeerConnection, RTCRtpSender } from 'werift';
import type { RtpPacket } from 'werift/nonstandard';
import type { EncodedChunk } from '../../src/media/encoded-chunk.js';
import { NodeAvProvider } from '../../src/codecs/native/node-av-provider.js';
import { TestPattern } from '../../src/sources/test-pattern.js';
import { TestTone } from '../../src/sources/test-tone.js';
import { iceConfigFor } from '../../src/sources/webrtc/ice.js';
import { keepCandidates } from '../../src/sources/webrtc/sdp.js';
import { frameTimestamp } from '../../src/time.js';

/** What the werift test publisher sends. */
export interface PublisherOptions {
  /** Gives the offer to the endpoint and returns its answer (WHIP POST, or a source's acceptOffer). */
  signal: (offer: string) => Promise<string>;
  seconds: number;
  width?: number;
  height?: number;
  fps?: number;
  video?: 'vp8' | 'vp9' | 'h264' | false;
  /** Opus (default), G.711 mu-law (PCMU, 8 kHz mono, encoded here), or none. */
  audio?: boolean | 'pcmu';
  /** Media time (s) at which the audio track starts sending (a track that joins late). */
  audioStartS?: number;
  /** Media times [from, to) (s) in which the audio track sends nothing (a mute). */
  audioGapS?: [number, number];
  /** Fraction of video RTP packets dropped before they are sent (injected loss, never retransmitted). */
  videoLoss?: number;
  /** Seconds between the encoder's own keyframes (default 2); PLIs are answered whatever it is. */
  keyframeIntervalS?: number;
  /** From media time `atS` on, the audio RTP timestamps (and the sender reports with them) jump by `byS`. */
  audioJump?: { atS: number; byS: number };
  /**
   * A hostile video "frame": for `seconds` from media time `atS`, no real frames but packets of one RTP
   * timestamp and no marker bit, about `packetsPerSecond` of them (VP8 or H.264), as a broken or hostile
   * publisher sends; real frames (a keyframe when asked) follow.
   */
  videoFlood?: { atS: number; seconds: number; packetsPerSecond: number };
  /**
   * Audio held this long on the wire (each Opus packet sent this much after its capture time) while
   * the sender reports stay true: placed by its reports the audio is where it was captured, placed by
   * arrival it is this much late.
   */
  audioWireDelayMs?: number;
  /** False: no RTCP sender reports at all (the receiver can only place media by arrival). */
  senderReports?: boolean;
}

/** What was sent, to compare with the recording. */
export interface PublisherReport {
  videoFrames: number;
  audioPackets: number;
  videoPacketsDropped: number;
  /** PLIs the publisher received (each answered with a keyframe). */
  plis: number;
  /** Packets of the marker-less flood sent. */
  floodPackets: number;
}

// werift's CommonJS build, as avpipe loads it (one mediabunny copy in the process).
const require = createRequire(import.meta.url);
const { MediaStreamTrack, RTCPeerConnection: PeerConnection, useH264, useOPUS, usePCMU, useVP8, useVP9 } = require('werift') as typeof import('werift');
const { H264Packetizer, OpusPacketizer, RtpHeader, RtpPacket: Packet, Vp8Packetizer, Vp9Packetizer } = require('werift/nonstandard') as typeof import('werift/nonstandard');
const LOOPBACK = ['127.0.0.1'];
const NTP_EPOCH_OFFSET_S = 2_208_988_800;

/**
 * A real WebRTC publisher on loopback (werift): the test source's flash/beep pattern encoded live
 * (VP8 or H.264, Opus), packetized and sent at 1x, answering PLIs with keyframes. Its RTCP sender
 * reports are made exact (werift's own write the NTP fraction as decimal digits): each pairs an RTP
 * time with the NTP time of that media instant, as a capture pipeline's would.
 */
export async function publish(opts: PublisherOptions): Promise<{ report: PublisherReport; pc: RTCPeerConnection }> {
  const width = opts.width ?? 640;
  const height = opts.height ?? 360;
  const fps = opts.fps ?? 30;
  const videoCodec = opts.video ?? 'vp8';
  const pc = new PeerConnection({
    codecs: { video: [videoCodec === 'h264' ? useH264() : videoCodec === 'vp9' ? useVP9() : useVP8()], audio: [opts.audio === 'pcmu' ? usePCMU() : useOPUS()] },
    ...iceConfigFor(LOOPBACK),
  });
  const vTrack = new MediaStreamTrack({ kind: 'video' });
  const aTrack = new MediaStreamTrack({ kind: 'audio' });
  const vT = videoCodec === false ? undefined : pc.addTransceiver(vTrack, { direction: 'sendonly' });
  const aT = opts.audio === false ? undefined : pc.addTransceiver(aTrack, { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise<void>((resolve) => {
    if (pc.iceGatheringState === 'complete') resolve();
    else pc.iceGatheringStateChange.subscribe((s) => s === 'complete' && resolve());
  });
  const answer = await opts.signal(keepCandidates(pc.localDescription!.sdp, LOOPBACK));
  await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  await new Promise<void>((resolve, reject) => {
    if (pc.connectionState === 'connected') resolve();
    pc.connectionStateChange.subscribe((s) => {
      if (s === 'connected') resolve();
      if (s === 'failed') reject(new Error('publisher: ICE failed'));
    });
  });

  // The injected loss follows a fixed pseudo-random sequence (an LCG), the same on every run.
  let seed = 12345;
  const random = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const report: PublisherReport = { videoFrames: 0, audioPackets: 0, videoPacketsDropped: 0, plis: 0, floodPackets: 0 };
  const provider = await NodeAvProvider.load();
  const startWallMs = performance.timeOrigin + performance.now() + 50;
  const audioStartUs = Math.round((opts.audioStartS ?? 0) * 1e6);
  const firstUs: { video?: number; audio?: number } = {};
  if (vT !== undefined) exactSenderReports(vT.sender, 90000, startWallMs, () => firstUs.video);
  if (aT !== undefined) exactSenderReports(aT.sender, opts.audio === 'pcmu' ? 8000 : 48000, startWallMs, () => firstUs.audio);
  if (opts.senderReports === false) {
    // werift starts its RTCP loop on the first packet sent: made a no-op, no report ever goes out.
    for (const t of [vT, aT]) if (t !== undefined) (t.sender as unknown as { runRtcp: () => Promise<void> }).runRtcp = async () => undefined;
  }
  const audioDelayMs = opts.audioWireDelayMs ?? 0;
  const pendingAudio: Promise<void>[] = [];

  const jobs: Promise<void>[] = [];
  if (vT !== undefined) {
    let forceKey = false;
    vT.sender.onPictureLossIndication.subscribe(() => {
      report.plis++;
      forceKey = true;
    });
    const packetizer = videoCodec === 'h264' ? new H264Packetizer({ payloadType: 96 }) : videoCodec === 'vp9' ? new Vp9Packetizer({ payloadType: 96 }) : new Vp8Packetizer({ payloadType: 96 });
    const encoder = provider.createVideoEncoder({
      output: (chunk: EncodedChunk) => {
        report.videoFrames++;
        firstUs.video ??= chunk.timestamp;
        const rtpTs = Math.round((chunk.timestamp * 90000) / 1e6);
        const packets = packetizer instanceof Vp9Packetizer ? packetizer.packetize(Buffer.from(chunk.data), rtpTs, { frameType: chunk.type }) : packetizer.packetize(Buffer.from(chunk.data), rtpTs);
        for (const p of packets) {
          if (opts.videoLoss !== undefined && random() < opts.videoLoss) {
            report.videoPacketsDropped++;
            continue;
          }
          vTrack.writeRtp(p as RtpPacket);
        }
      },
      error: (e) => console.error('publisher video encoder', e),
    });
    encoder.configure({
      codec: videoCodec === 'h264' ? 'avc1.42e01f' : videoCodec === 'vp9' ? 'vp09.00.10.08' : 'vp8', width, height, framerate: fps, bitrate: 1_000_000,
      latencyMode: 'realtime', speedPreset: 'ultrafast', keyframeInterval: Math.round(fps * (opts.keyframeIntervalS ?? 2)),
    });
    const pattern = new TestPattern(width, height, fps);
    const total = Math.round(opts.seconds * fps);
    const flood = opts.videoFlood;
    const flooding = (t: number): boolean => flood !== undefined && t >= flood.atS * 1e6 && t < (flood.atS + flood.seconds) * 1e6;
    if (flood !== undefined) {
      jobs.push((async () => {
        const BURSTS_PER_SECOND = 100;
        const payload = Buffer.alloc(Math.round(flood.packetsPerSecond / BURSTS_PER_SECOND) * 1100, 0x5a);
        const rtpTs = Math.round(flood.atS * 90000);
        for (let k = 0; k < flood.seconds * BURSTS_PER_SECOND; k++) {
          await until(startWallMs + flood.atS * 1000 + (k * 1000) / BURSTS_PER_SECOND);
          // Made by the track's own packetizer, so the sequence numbers run on from the real frames'.
          for (const p of packetizer.packetize(payload, rtpTs) as RtpPacket[]) {
            p.header.marker = false;
            vTrack.writeRtp(p);
            report.floodPackets++;
          }
        }
      })());
    }
    jobs.push((async () => {
      for (let i = 0; i < total; i++) {
        const t = frameTimestamp(i, fps);
        await until(startWallMs + t / 1000);
        if (flooding(t)) continue;
        encoder.encode(pattern.frame(i, t, frameTimestamp(i + 1, fps) - t), { keyFrame: forceKey || i === 0 });
        forceKey = false;
      }
      await encoder.flush();
      encoder.close();
    })());
  }
  if (aT !== undefined && opts.audio === 'pcmu') {
    // G.711 mu-law needs no codec library: the test tone, mixed to mono and decimated to 8 kHz, encoded here.
    const tone = new TestTone(48000, 1);
    const perSecond = tone.buffersPerSecond;
    const total = Math.round(opts.seconds * perSecond);
    let seq = 1000;
    jobs.push((async () => {
      for (let i = 0; i < total; i++) {
        const t = frameTimestamp(i, perSecond);
        await until(startWallMs + t / 1000);
        const data = tone.buffer(i, t);
        const pcm = data.planes()[0]!;
        const out = Buffer.alloc(Math.floor(pcm.length / 6));
        for (let k = 0; k < out.length; k++) out[k] = muLaw(pcm[k * 6]!);
        data.close();
        firstUs.audio ??= t;
        const header = new RtpHeader({ payloadType: 0, sequenceNumber: seq++ & 0xffff, timestamp: Math.round((t * 8000) / 1e6), marker: false });
        aTrack.writeRtp(new Packet(header, out));
        report.audioPackets++;
      }
    })());
  } else if (aT !== undefined) {
    const packetizer = new OpusPacketizer({ payloadType: 111 });
    // One 20 ms buffer in, one Opus packet out, in order: each packet takes its buffer's time (the
    // encoder counts samples, which would close a gap the publisher leaves).
    const inputTimes: number[] = [];
    const encoder = provider.createAudioEncoder({
      output: (chunk: EncodedChunk) => {
        report.audioPackets++;
        const t = inputTimes.shift() ?? chunk.timestamp;
        firstUs.audio ??= t;
        const jump = opts.audioJump !== undefined && t >= opts.audioJump.atS * 1e6 ? opts.audioJump.byS * 1e6 : 0;
        const rtpTs = Math.round(((t + jump) * 48000) / 1e6);
        const packets = packetizer.packetize(Buffer.from(chunk.data), rtpTs) as RtpPacket[];
        if (audioDelayMs === 0) for (const p of packets) aTrack.writeRtp(p);
        else pendingAudio.push(new Promise((resolve) => setTimeout(() => resolve(packets.forEach((p) => aTrack.writeRtp(p))), audioDelayMs)));
      },
      error: (e) => console.error('publisher audio encoder', e),
    });
    encoder.configure({ codec: 'opus', sampleRate: 48000, numberOfChannels: 2, bitrate: 64_000 });
    const tone = new TestTone(48000, 2);
    const perSecond = tone.buffersPerSecond;
    const first = Math.round((audioStartUs / 1e6) * perSecond);
    const total = Math.round(opts.seconds * perSecond);
    jobs.push((async () => {
      for (let i = first; i < total; i++) {
        const t = frameTimestamp(i, perSecond);
        const gap = opts.audioGapS;
        if (gap !== undefined && t >= gap[0] * 1e6 && t < gap[1] * 1e6) continue;
        await until(startWallMs + t / 1000);
        inputTimes.push(t);
        encoder.encode(tone.buffer(i, t));
      }
      await encoder.flush();
      encoder.close();
    })());
  }
  await Promise.all(jobs);
  await Promise.all(pendingAudio);
  // Let the last packets and a sender report or two go out.
  await new Promise((r) => setTimeout(r, 300));
  return { report, pc };
}

/** G.711 mu-law of one sample in [-1, 1] (ITU-T G.711, the classic segment encoder). */
function muLaw(x: number): number {
  const BIAS = 0x84;
  let s = Math.max(-32635, Math.min(32635, Math.round(x * 32767)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** Waits until wall time `ms` (performance clock, epoch-based). */
async function until(ms: number): Promise<void> {
  const wait = ms - (performance.timeOrigin + performance.now());
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

/**
 * Makes a werift sender's RTCP sender reports exact: the NTP time it reports is computed from the RTP
 * time it reports (the first packet's media time from `firstMediaUs`, on a clock that started at
 * `startWallMs`), with the fraction in binary as RFC 3550 says.
 */
function exactSenderReports(sender: RTCRtpSender, clockRate: number, startWallMs: number, firstMediaUs: () => number | undefined): void {
  let firstRtp: number | undefined;
  let rtp = 0;
  const s = sender as unknown as { rtpTimestamp: number; ntpTimestamp: bigint };
  Object.defineProperty(s, 'rtpTimestamp', {
    configurable: true,
    get: () => rtp,
    set: (v: number) => {
      firstRtp ??= v;
      rtp = v;
    },
  });
  Object.defineProperty(s, 'ntpTimestamp', {
    configurable: true,
    get: () => {
      const first = firstMediaUs();
      if (firstRtp === undefined || first === undefined) return 0n;
      const seconds = startWallMs / 1000 + NTP_EPOCH_OFFSET_S + first / 1e6 + ((rtp - firstRtp) >>> 0) / clockRate;
      const whole = Math.floor(seconds);
      return (BigInt(whole) << 32n) | BigInt(Math.round((seconds - whole) * 2 ** 32) >>> 0);
    },
    set: () => undefined,
  });
}

/** A werift offer (sendonly VP8 + Opus), as a publisher would POST it; nothing is ever sent. */
export async function offerSdp(): Promise<string> {
  const { RTCPeerConnection: PeerConnection } = createRequire(import.meta.url)('werift') as typeof import('werift');
  const pc = new PeerConnection({ iceServers: [] });
  pc.addTransceiver('video', { direction: 'sendonly' });
  pc.addTransceiver('audio', { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  const sdp = pc.localDescription!.sdp;
  await pc.close();
  return sdp;
}
