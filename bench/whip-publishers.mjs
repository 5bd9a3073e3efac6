// N WebRTC publishers (werift) in one process, for the WHIP ingest benchmark: each POSTs an offer to
// the endpoint, sends a pre-encoded VP8 + Opus clip at 1x (the packets as they are: no encoding here,
// so the publishers cost little of the shared CPU), then DELETEs its session. Prints one JSON line with
// what each publisher sent.
// usage: node bench/whip-publishers.mjs CLIP.webm ENDPOINT_BASE COUNT
import { createRequire } from 'node:module';
import { iceConfigFor } from '../dist/sources/webrtc/ice.js';

const require = createRequire(import.meta.url);
const { MediaStreamTrack, RTCPeerConnection, useOPUS, useVP8 } = require('werift');
const { OpusPacketizer, Vp8Packetizer } = require('werift/nonstandard');
const { Input, FilePathSource, ALL_FORMATS, EncodedPacketSink } = require('mediabunny');

const [clip, base, countArg] = process.argv.slice(2);
const count = Number(countArg);
const NTP_EPOCH_OFFSET_S = 2_208_988_800;

/** The clip's packets: [{ kind, timeUs, data }], in time order. */
async function readClip(path) {
  const input = new Input({ source: new FilePathSource(path), formats: ALL_FORMATS });
  const out = [];
  for (const track of await input.getTracks()) {
    const kind = track.isVideoTrack() ? 'video' : 'audio';
    for await (const p of new EncodedPacketSink(track).packets()) out.push({ kind, timeUs: Math.round(p.timestamp * 1e6), data: Buffer.from(p.data) });
  }
  return out.sort((a, b) => a.timeUs - b.timeUs);
}

/** RTCP sender reports that pair RTP and NTP time exactly (werift's write the NTP fraction as decimal digits). */
function exactSenderReports(sender, clockRate, startMs) {
  let rtp = 0;
  let first;
  Object.defineProperty(sender, 'rtpTimestamp', { configurable: true, get: () => rtp, set: (v) => { first ??= v; rtp = v; } });
  Object.defineProperty(sender, 'ntpTimestamp', {
    configurable: true, set: () => undefined,
    get: () => {
      if (first === undefined) return 0n;
      const s = startMs / 1000 + NTP_EPOCH_OFFSET_S + ((rtp - first) >>> 0) / clockRate;
      const whole = Math.floor(s);
      return (BigInt(whole) << 32n) | BigInt(Math.round((s - whole) * 2 ** 32) >>> 0);
    },
  });
}

async function connect(i) {
  const pc = new RTCPeerConnection({
    codecs: { video: [useVP8()], audio: [useOPUS()] },
    ...iceConfigFor(['127.0.0.1']),
  });
  const video = new MediaStreamTrack({ kind: 'video' });
  const audio = new MediaStreamTrack({ kind: 'audio' });
  const vt = pc.addTransceiver(video, { direction: 'sendonly' });
  const at = pc.addTransceiver(audio, { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => (pc.iceGatheringState === 'complete' ? r() : pc.iceGatheringStateChange.subscribe((s) => s === 'complete' && r())));
  const sdp = pc.localDescription.sdp.split('\r\n').filter((l) => !l.startsWith('a=candidate:') || l.includes(' 127.0.0.1 ')).join('\r\n');
  const res = await fetch(`${base}/whip/pub${i}`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: sdp });
  if (res.status !== 201) throw new Error(`publisher ${i}: ${res.status} ${await res.text()}`);
  const resource = new URL(res.headers.get('location'), base).href;
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  await new Promise((r, f) => {
    if (pc.connectionState === 'connected') r();
    pc.connectionStateChange.subscribe((s) => (s === 'connected' ? r() : s === 'failed' ? f(new Error(`publisher ${i}: ICE failed`)) : undefined));
  });
  return { pc, video, audio, vt, at, resource, vp: new Vp8Packetizer({ payloadType: 96 }), ap: new OpusPacketizer({ payloadType: 111 }), sent: { video: 0, audio: 0 } };
}

const packets = await readClip(clip);
const peers = await Promise.all(Array.from({ length: count }, (_, i) => connect(i)));
const startMs = performance.timeOrigin + performance.now() + 100;
for (const p of peers) {
  exactSenderReports(p.vt.sender, 90000, startMs);
  exactSenderReports(p.at.sender, 48000, startMs);
}
// One pacing loop for every publisher: each packet goes out when its media time is due.
let next = 0;
await new Promise((done) => {
  const tick = () => {
    const due = (performance.timeOrigin + performance.now() - startMs) * 1000;
    while (next < packets.length && packets[next].timeUs <= due) {
      const pkt = packets[next++];
      for (const p of peers) {
        if (pkt.kind === 'video') {
          for (const r of p.vp.packetize(pkt.data, Math.round((pkt.timeUs * 90000) / 1e6))) p.video.writeRtp(r);
        } else {
          for (const r of p.ap.packetize(pkt.data, Math.round((pkt.timeUs * 48000) / 1e6))) p.audio.writeRtp(r);
        }
        p.sent[pkt.kind]++;
      }
    }
    if (next >= packets.length) done();
    else setTimeout(tick, 5);
  };
  tick();
});
await new Promise((r) => setTimeout(r, 500));
await Promise.all(peers.map((p) => fetch(p.resource, { method: 'DELETE' })));
process.stdout.write(`${JSON.stringify(peers.map((p, i) => ({ name: `pub${i}`, sent: p.sent })))}\n`);
await Promise.all(peers.map((p) => p.pc.close().catch(() => undefined)));
process.exit(0);
