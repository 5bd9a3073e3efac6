import { createRequire } from 'node:module';
import type { PeerConfig, RTCPeerConnection, RTCRtpCodecParameters, RtcpPacket } from 'werift';
import { AvpipeError } from '../../errors.js';
import type { Depacketize } from '../rtp/frame-assembler.js';
import type { SenderReport } from '../rtp/lip-sync.js';
import { iceConfigFor } from './ice.js';
import { acceptBundleOnly } from './sdp.js';

/** werift, loaded on first use: it takes about half a second to load and only WebRTC runs need it. */
export interface Werift {
  core: typeof import('werift');
  depacketize: Depacketize;
}

let werift: Werift | undefined;

/** Loads werift once per process. */
export function loadWerift(): Werift {
  if (werift !== undefined) return werift;
  // Its CommonJS build: that one takes mediabunny's CommonJS bundle, the one copy avpipe loads too.
  const require = createRequire(import.meta.url);
  const core = require('werift') as typeof import('werift');
  const extra = require('werift/nonstandard') as typeof import('werift/nonstandard');
  werift = { core, depacketize: (codec, packets) => extra.dePacketizeRtpPackets(codec as never, packets as never).data };
  return werift;
}

/** What a receiving peer negotiates: codecs by SDP name in preference order, and where ICE may go. */
export interface ReceivePeerOptions {
  codecs: { video: readonly string[]; audio: readonly string[] };
  /** Host addresses ICE may use; absent: every interface, with `iceServers`. */
  iceHosts?: readonly string[] | undefined;
  iceServers?: readonly { urls: string | string[]; username?: string; credential?: string }[] | undefined;
}

/** The werift peer config: the codecs in preference order, and ICE restricted to `iceHosts` when given. */
export function peerConfig(w: Werift, options: ReceivePeerOptions): Partial<PeerConfig> {
  const c = w.core;
  const make: Record<string, () => RTCRtpCodecParameters> = {
    VP8: () => c.useVP8(), VP9: () => c.useVP9(), H264: () => c.useH264(),
    OPUS: () => c.useOPUS(), PCMU: () => c.usePCMU(), PCMA: () => c.usePCMA(),
  };
  const codecs = (names: readonly string[]): RTCRtpCodecParameters[] => names.filter((n) => make[n] !== undefined).map((n) => make[n]!());
  const hosts = options.iceHosts;
  const ice = hosts === undefined ? { iceServers: [...(options.iceServers ?? [])] as never } : iceConfigFor(hosts);
  return {
    codecs: { video: codecs(options.codecs.video), audio: codecs(options.codecs.audio) },
    headerExtensions: { video: [c.useSdesMid()], audio: [c.useSdesMid()] },
    ...ice,
  };
}

/**
 * Answers `offerSdp` on `pc`, receiving every audio and video m-line (`recvonly`), once ICE gathering
 * is complete; returns the answer with every candidate in it (no trickle needed). `name` prefixes errors.
 */
export async function answerOffer(pc: RTCPeerConnection, offerSdp: string, name: string): Promise<string> {
  await pc.setRemoteDescription({ type: 'offer', sdp: acceptBundleOnly(offerSdp) });
  const received = pc.getTransceivers().filter((t) => t.direction !== 'inactive' && (t.kind === 'audio' || t.kind === 'video'));
  if (received.length === 0) throw new AvpipeError('INPUT_INVALID', `${name}: the offer has no audio or video m-line avpipe can receive`);
  for (const t of received) t.setDirection('recvonly');
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  await waitForGathering(pc);
  return pc.localDescription?.sdp ?? answer.sdp;
}

/** The clock pair of an RTCP sender report; undefined for other packets and for a report sent before any packet (NTP 0 from some senders). */
export function senderReportOf(packet: RtcpPacket): SenderReport | undefined {
  // (werift does not parse RTCP BYE: a publisher's leaving is seen on the connection state.)
  if (packet.type !== 200 || !('senderInfo' in packet)) return undefined;
  const ntp = packet.senderInfo.ntpTimestamp;
  if (ntp === 0n || packet.senderInfo.packetCount === 0) return undefined;
  return { ntpSeconds: Number(ntp >> 32n), ntpFraction: Number(ntp & 0xffffffffn), rtpTimestamp: packet.senderInfo.rtpTimestamp };
}

/** Socket receive buffer asked for (Linux caps it at net.core.rmem_max, 4 MiB by default; its default is 208 KiB). */
const RECEIVE_BUFFER = 4 << 20;

/**
 * Gives the peer's UDP sockets a larger receive buffer: with many sessions in one event loop, a busy
 * moment (a muxer write, a GC) must not overflow the kernel's default 208 KiB and lose packets (as
 * GStreamer's udpsrc `buffer-size`). werift exposes its sockets only through its ICE internals, so
 * this looks for them and does nothing where the shape differs.
 */
export function enlargeReceiveBuffers(pc: RTCPeerConnection): void {
  for (const ice of pc.iceTransports) {
    const protocols = (ice.connection as unknown as { protocols?: { transport?: { socket?: { setRecvBufferSize?: (n: number) => void } } }[] }).protocols ?? [];
    for (const p of protocols) {
      try {
        p.transport?.socket?.setRecvBufferSize?.(RECEIVE_BUFFER);
      } catch {
        // Not bound yet, or not allowed: the default buffer stays.
      }
    }
  }
}

/** Resolves once ICE gathering is complete (every candidate is then in the local description). */
function waitForGathering(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const { unSubscribe } = pc.iceGatheringStateChange.subscribe((state) => {
      if (state !== 'complete') return;
      unSubscribe();
      resolve();
    });
  });
}
