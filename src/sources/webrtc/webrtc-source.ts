import { createRequire } from 'node:module';
import type { MediaStreamTrack, RTCPeerConnection, RTCRtpTransceiver, RtpPacket } from 'werift';
import { EncodedChunk } from '../../codecs/encoded-chunk.js';
import type { AudioDecoderConfig, VideoDecoderConfig } from '../../codecs/encoded-chunk.js';
import type { PipelineConfig, TrackInfo } from '../../config/pipeline-config.js';
import type { ResultWarning } from '../../pipeline/status.js';
import { AvpipeError } from '../../errors.js';
import { FrameAssembler, type AssemblerStats, type Depacketize, type RtpFrame } from '../rtp/frame-assembler.js';
import { JitterBuffer, type JitterStats } from '../rtp/jitter-buffer.js';
import { LipSync, type LipSyncTrackStats, type PlacedFrame } from '../rtp/lip-sync.js';
import { audioConfigOf, opusPacketDurationUs, rtpCodecOf, videoConfigFromKeyframe, type RtpCodecInfo } from '../rtp/rtp-codecs.js';
import { SourceBase } from '../source-base.js';
import type { Source, SourceMedia } from '../source.js';
import { iceConfigFor } from './ice.js';
import { acceptBundleOnly, candidateAddress, keepCandidates } from './sdp.js';
import { TrackOutlet, type OutletStats } from './track-outlet.js';

/** What a WebRTC source does when its publisher leaves (hangs up, or its connection fails or closes). */
export type LeavePolicy = 'end' | 'wait';

/** Options of a {@link WebRtcSource}. */
export interface WebRtcSourceOptions {
  /** Name in results and errors (a WHIP session's stream name). */
  name?: string;
  /** Preferred codecs by SDP name, in order: video default VP8, H264, VP9; audio OPUS, PCMU, PCMA. */
  codecs?: { video?: readonly string[]; audio?: readonly string[] };
  /**
   * Host addresses ICE may use, e.g. `['127.0.0.1']`: only these are gathered, offered and accepted.
   * Absent: every interface, with `iceServers`.
   */
  iceHosts?: readonly string[];
  /** STUN/TURN servers (not used with `iceHosts`). */
  iceServers?: readonly { urls: string | string[]; username?: string; credential?: string }[];
  /** How long `prepare()` waits for every offered track's first frame (a track joining later is not recorded). Default 5000. */
  trackTimeoutMs?: number;
  /** How long a gap in the sequence waits for a retransmission before it is lost. Default 150. */
  jitterLatencyMs?: number;
  /**
   * How long a track's frames wait for its first RTCP sender report before it is placed by arrival.
   * Default 4000. Placing by arrival is off by the difference of the tracks' encode latencies (tens of
   * ms), a report is exact: Chromium reports within about 0.6 s, GStreamer's webrtcbin at once, werift
   * within 1.5 s, FFmpeg's WHIP muxer only after about 5.4 s (placed by arrival). What waited is released
   * at once: the live queues absorb it (bounded by media time, and the encoded tee yields to its muxers).
   */
  syncTimeoutMs?: number;
  /** `end` (default): the run ends, COMPLETE. `wait`: it goes on for `leaveTimeoutMs` and a new offer resumes it. */
  onLeave?: LeavePolicy;
  /** With `onLeave: 'wait'`, how long to wait for the publisher to come back. Default 30000. */
  leaveTimeoutMs?: number;
  /**
   * How long without a packet on any track before the publisher counts as gone: a peer that vanished
   * without closing (werift sends no DTLS close alert; ICE consent takes 30 s). Default 10000.
   */
  mediaTimeoutMs?: number;
  /** Frames each track may hold while the pipeline is behind (oldest dropped beyond). Default 300 video, 500 audio. */
  queue?: { video?: number; audio?: number };
  /**
   * Asks for a keyframe (PLI) when a video track sent none for this long. Browsers send keyframes only
   * when asked; copied video then has unbounded GOPs, and a live MP4's fragments (cut on keyframes: what
   * a killed recorder keeps) would grow with them. Default 4000; 0 never asks.
   */
  maxKeyframeGapMs?: number;
}

/** What one received track did, for results. */
export interface WebRtcTrackStats {
  id: string;
  kind: 'video' | 'audio';
  codec: string;
  /** Whether the track was declared to the pipeline (it sent its first frame in time). */
  recorded: boolean;
  packets: JitterStats;
  frames: AssemblerStats;
  sync: LipSyncTrackStats | undefined;
  queue: OutletStats | undefined;
  /** RTCP PLIs sent (keyframe requests). */
  pliSent: number;
  /** Whether the track is muted now (nothing for a second), and how many times it was. */
  muted: boolean;
  mutes: number;
  bytes: number;
}

/** A WebRTC source's entry in a result. */
export interface WebRtcSourceStats {
  kind: 'webrtc';
  name: string;
  /** Publisher sessions (1, more when a publisher came back). */
  sessions: number;
  /** Why the publisher's last session ended, if it did. */
  leftBecause: string | null;
  tracks: WebRtcTrackStats[];
}

/** PLIs are repeated at most this often while a keyframe is awaited. */
const PLI_REPEAT_MS = 500;
/** How often the jitter buffers and sync are serviced (gaps given up, sync timeouts). */
const TICK_MS = 20;
/** A track that sent nothing for this long counts as muted (until its next packet). */
const MUTE_AFTER_MS = 1000;
/** A leaving publisher's socket counts as drained after this long without a packet... */
const LEAVE_QUIET_MS = 250;
/** ...or after this long in all. */
const LEAVE_DRAIN_MAX_MS = 2000;
/** How long ICE may stay `disconnected` before the publisher counts as gone. */
const DISCONNECT_GRACE_MS = 3000;

/** One received RTP stream: jitter buffer -> depacketizer -> lip sync -> the declared track's outlet. */
interface Inbound {
  id: string;
  kind: 'video' | 'audio';
  codec: RtpCodecInfo;
  clockRate: number;
  channels: number;
  transceiver: RTCRtpTransceiver;
  ssrc: number | undefined;
  /** The publisher session (1, 2, ... when it came back) the stream belongs to. */
  session: number;
  /** A later session's stream continues this one's track. */
  continued: boolean;
  jitter: JitterBuffer<RtpPacket>;
  assembler: FrameAssembler;
  sync: number;
  /** Decoder config from the first frame (video: its keyframe). */
  config: VideoDecoderConfig | AudioDecoderConfig | undefined;
  outlet: TrackOutlet | undefined;
  /** The last video frame, held until the next one gives its duration. */
  held: { frame: RtpFrame; timestamp: number } | undefined;
  lastDurationUs: number;
  pliSent: number;
  lastPliMs: number;
  /** Wall ms of the last keyframe taken in (video). */
  lastKeyMs: number;
  bytes: number;
  lastPacketMs: number;
  muted: boolean;
  mutes: number;
}

/** werift, loaded on first use: it takes about half a second to load and only WebRTC runs need it. */
interface Werift {
  core: typeof import('werift');
  depacketize: Depacketize;
}
let werift: Werift | undefined;
function loadWerift(): Werift {
  if (werift !== undefined) return werift;
  // Its CommonJS build: that one takes mediabunny's CommonJS bundle, the one copy avpipe loads too.
  const require = createRequire(import.meta.url);
  const core = require('werift') as typeof import('werift');
  const extra = require('werift/nonstandard') as typeof import('werift/nonstandard');
  werift = { core, depacketize: (codec, packets) => extra.dePacketizeRtpPackets(codec as never, packets as never).data };
  return werift;
}

/**
 * A live source fed by a WebRTC publisher: a receive-only werift peer. The application (or avpipe's
 * WHIP endpoint) gives it the publisher's SDP offer and sends back the answer; each received track
 * goes through a jitter buffer, a depacketizer (VP8, VP9, H.264, Opus, G.711) and lip sync from RTCP
 * sender reports, and comes out as encoded chunks in media time, copied into a container or decoded
 * and re-encoded like a file's. Keyframes are requested (PLI) at the start and after losses.
 */
export class WebRtcSource extends SourceBase implements Source {
  readonly name: string;
  /** Its publisher sends at 1x: a pipeline with it must be live. */
  readonly alwaysLive = true;
  private readonly _opts: Required<Omit<WebRtcSourceOptions, 'name' | 'iceHosts' | 'iceServers' | 'codecs' | 'queue'>> & Pick<WebRtcSourceOptions, 'iceHosts' | 'iceServers'>;
  private readonly _codecs: { video: readonly string[]; audio: readonly string[] };
  private readonly _queue: { video: number; audio: number };
  private _pc: RTCPeerConnection | undefined;
  private _werift: Werift | undefined;
  private readonly _inbound: Inbound[] = [];
  private readonly _sync: LipSync<{ inbound: Inbound; frame: RtpFrame }>;
  private _declared: TrackInfo[] = [];
  private _timer: NodeJS.Timeout | undefined;
  private _leaveTimer: NodeJS.Timeout | undefined;
  private _disconnectTimer: NodeJS.Timeout | undefined;
  private _sessions = 0;
  private readonly _muteListeners: ((kind: 'video' | 'audio', muted: boolean) => void)[] = [];
  /** A leave being drained. */
  private _leaving: { since: number; done: Promise<void>; resolve: () => void } | undefined;
  /** Wall ms of the last RTP packet of the current publisher (or of its offer). */
  private _lastPacketMs = 0;
  private _leftBecause: string | null = null;
  private _closed = false;
  private _prepared = false;
  /** Wakes `prepare()` when an offer or a first frame arrives, or on stop. */
  private _wakePrepare: (() => void) | undefined;

  constructor(options: WebRtcSourceOptions = {}) {
    super();
    this.name = options.name ?? 'webrtc';
    this._opts = {
      trackTimeoutMs: options.trackTimeoutMs ?? 5000,
      jitterLatencyMs: options.jitterLatencyMs ?? 150,
      syncTimeoutMs: options.syncTimeoutMs ?? 4000,
      onLeave: options.onLeave ?? 'end',
      leaveTimeoutMs: options.leaveTimeoutMs ?? 30_000,
      mediaTimeoutMs: options.mediaTimeoutMs ?? 10_000,
      maxKeyframeGapMs: options.maxKeyframeGapMs ?? 4000,
      iceHosts: options.iceHosts,
      iceServers: options.iceServers,
    };
    this._codecs = {
      video: (options.codecs?.video ?? ['VP8', 'H264', 'VP9']).map((c) => c.toUpperCase()),
      audio: (options.codecs?.audio ?? ['OPUS', 'PCMU', 'PCMA']).map((c) => c.toUpperCase()),
    };
    this._queue = { video: options.queue?.video ?? 300, audio: options.queue?.audio ?? 500 };
    this._sync = new LipSync(this._opts.syncTimeoutMs);
  }

  /**
   * Takes the publisher's SDP offer and returns the answer, with every ICE candidate in it (no trickle
   * needed). A second offer after the publisher left resumes a source that waits (`onLeave: 'wait'`).
   */
  async acceptOffer(offerSdp: string): Promise<string> {
    if (this._closed || this.stopping) throw new AvpipeError('INVALID_STATE', `${this.name}: the source has ended`);
    if (this._pc !== undefined) throw new AvpipeError('INVALID_STATE', `${this.name}: a publisher is already connected`);
    if (typeof offerSdp !== 'string' || !offerSdp.startsWith('v=0')) throw new AvpipeError('INPUT_INVALID', `${this.name}: the offer is not an SDP (it must start with v=0)`);
    clearTimeout(this._leaveTimer);
    const w = (this._werift ??= loadWerift());
    const pc = new w.core.RTCPeerConnection(this._peerConfig(w));
    this._pc = pc;
    // Counted from the offer: the previous publisher's silence must not end this one while it gathers.
    this._lastPacketMs = Date.now();
    this._sessions++;
    this._leftBecause = null;
    pc.onTransceiverAdded.subscribe((t) => {
      t.onTrack.subscribe((track) => this._onTrack(track, t));
    });
    pc.connectionStateChange.subscribe((state) => this._onConnectionState(pc, state));
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: acceptBundleOnly(offerSdp) });
      const received = pc.getTransceivers().filter((t) => t.direction !== 'inactive' && (t.kind === 'audio' || t.kind === 'video'));
      if (received.length === 0) throw new AvpipeError('INPUT_INVALID', `${this.name}: the offer has no audio or video m-line avpipe can receive`);
      for (const t of received) t.setDirection('recvonly');
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      await waitForGathering(pc);
      // Given up while gathering (closed, or hung up by a WHIP server's time bound): not this source's peer now.
      if (this._pc !== pc) throw new AvpipeError('INVALID_STATE', `${this.name}: the offer was given up while it was answered`);
      enlargeReceiveBuffers(pc);
      const sdp = pc.localDescription?.sdp ?? answer.sdp;
      this._lastPacketMs = Date.now();
      this._tick();
      this._wakePrepare?.();
      return this._opts.iceHosts === undefined ? sdp : keepCandidates(sdp, this._opts.iceHosts);
    } catch (err) {
      if (this._pc === pc) this._pc = undefined;
      await pc.close().catch(() => undefined);
      if (err instanceof AvpipeError) throw err;
      throw new AvpipeError('INPUT_INVALID', `${this.name}: the offer was refused: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Adds a trickled remote candidate (a WHIP PATCH). Candidates on hosts outside `iceHosts` are ignored. */
  async addIceCandidate(candidate: string, mid?: string): Promise<void> {
    const pc = this._pc;
    if (pc === undefined) throw new AvpipeError('INVALID_STATE', `${this.name}: no publisher is connected`);
    const host = candidateAddress(candidate);
    if (this._opts.iceHosts !== undefined && (host === undefined || !this._opts.iceHosts.includes(host))) return;
    const sdpMid = mid !== undefined && pc.getTransceivers().some((t) => t.mid === mid) ? mid : pc.getTransceivers()[0]?.mid ?? undefined;
    await pc.addIceCandidate({ candidate: candidate.replace(/^a=/, ''), ...(sdpMid === undefined ? {} : { sdpMid }) });
  }

  /** True while the publisher is gone and the source waits for it to come back (`onLeave: 'wait'`). */
  get waitingForPublisher(): boolean {
    return this._pc === undefined && this._sessions > 0 && !this.stopping && !this._closed;
  }

  /**
   * Tells the source its publisher hung up (a WHIP DELETE): as when the peer goes away. Resolves once
   * what the publisher sent before has been taken in and the source has ended (or waits for it).
   */
  hangUp(): Promise<void> {
    return this._left('the publisher hung up');
  }

  async prepare(config: PipelineConfig): Promise<readonly TrackInfo[]> {
    this.live = true;
    this._sync.maxGapUs = config.limits.maxGapUs;
    // Until the offer, then until every offered track sent its first frame or the track timeout.
    let deadline = Infinity;
    for (;;) {
      if (this.stopping) throw new AvpipeError('SOURCE_FAILED', `${this.name}: stopped before any media arrived`);
      const offered = this._pc === undefined ? [] : this._pc.getTransceivers().filter((t) => t.direction === 'recvonly');
      if (offered.length > 0 && deadline === Infinity) deadline = Date.now() + this._opts.trackTimeoutMs;
      const withFrames = this._inbound.filter((i) => i.config !== undefined);
      if (offered.length > 0 && withFrames.length >= offered.length) break;
      if (Date.now() >= deadline) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(100, Math.max(1, deadline - Date.now())));
        this._wakePrepare = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this._wakePrepare = undefined;
    }
    const ready = this._inbound.filter((i) => i.config !== undefined);
    if (ready.length === 0) throw new AvpipeError('SOURCE_FAILED', `${this.name}: no media arrived from the publisher within ${this._opts.trackTimeoutMs} ms`);
    // The pipeline takes one video track (the first) and mixes every audio track: a second video
    // track is not recorded, and its outlet is closed so that the source can end.
    const video = ready.find((i) => i.kind === 'video');
    const taken = ready.filter((i) => i.kind === 'audio' || i === video);
    for (const i of ready) {
      if (taken.includes(i)) continue;
      void i.outlet?.readable.cancel();
      i.outlet = undefined;
    }
    this._declared = taken.map((i) => this._declare(i, config));
    this._prepared = true;
    return this._declared;
  }

  readable(trackId: string): ReadableStream<SourceMedia> {
    const inbound = this._inbound.find((i) => i.id === trackId && i.outlet !== undefined);
    if (inbound === undefined) throw new TypeError(`${this.name} has no track "${trackId}"`);
    return inbound.outlet!.readable;
  }

  override stop(): void {
    if (this.stopping) return;
    super.stop();
    this._wakePrepare?.();
    clearTimeout(this._leaveTimer);
    clearTimeout(this._disconnectTimer);
    // What is still held goes out: gaps given up, frames waiting for sync placed by arrival.
    for (const i of this._inbound) this._afterJitter(i, i.jitter.flush(), Date.now());
    this._deliver(this._sync.release(Number.MAX_SAFE_INTEGER));
    for (const i of this._inbound) {
      this._pushVideo(i, undefined);
      i.outlet?.end();
    }
    if (this._timer !== undefined) clearInterval(this._timer);
    this._timer = undefined;
    this._leaving?.resolve();
    this._leaving = undefined;
    // Nothing was declared (stopped in prepare): nothing will read, so the source has ended.
    if (!this._prepared) {
      for (const i of this._inbound) void i.outlet?.readable.cancel();
      const end = this.openTrack();
      end();
    }
  }

  /** RTP timestamp jumps that were re-anchored, per track, as the run's warnings. */
  warnings(): readonly ResultWarning[] {
    const sync = this._sync.toJSON();
    return this._inbound.flatMap((i) => {
      const s = sync[i.sync];
      if (s === undefined || s.jumps === 0) return [];
      return [{
        code: 'TIMESTAMP_JUMP' as const, input: `${this.name} ${i.kind} track ${i.id}`, atMs: (s.firstJumpUs ?? 0) / 1000,
        message: `${this.name}: the ${i.kind} track's RTP timestamps jumped ${s.jumps === 1 ? 'once' : `${s.jumps} times`} by more than limits.maxGap (${this._sync.maxGapUs / 1e6} s) from what their arrival shows, first at ${((s.firstJumpUs ?? 0) / 1e6).toFixed(2)} s; re-anchored, not filled`,
      }];
    });
  }

  /** Per-track counters: packets (lost, reordered, late), frames, sync, queue, PLIs. */
  toJSON(): WebRtcSourceStats {
    const sync = this._sync.toJSON();
    return {
      kind: 'webrtc', name: this.name, sessions: this._sessions, leftBecause: this._leftBecause,
      tracks: this._inbound.map((i) => ({
        id: i.id, kind: i.kind, codec: i.codec.codec, recorded: this._declared.some((t) => t.id === i.id),
        packets: i.jitter.toJSON(), frames: i.assembler.toJSON(), sync: sync[i.sync], queue: i.outlet?.toJSON(),
        pliSent: i.pliSent, muted: i.muted, mutes: i.mutes, bytes: i.bytes,
      })),
    };
  }

  /** Ends the source and closes the peer; idempotent. */
  async close(): Promise<void> {
    if (this._closed) return;
    this._closed = true;
    this.stop();
    const pc = this._pc;
    this._pc = undefined;
    await pc?.close().catch(() => undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The werift peer config: our codecs in preference order, and ICE restricted to `iceHosts` when given. */
  private _peerConfig(w: Werift): Partial<import('werift').PeerConfig> {
    const c = w.core;
    const make: Record<string, () => import('werift').RTCRtpCodecParameters> = {
      VP8: () => c.useVP8(), VP9: () => c.useVP9(), H264: () => c.useH264(),
      OPUS: () => c.useOPUS(), PCMU: () => c.usePCMU(), PCMA: () => c.usePCMA(),
    };
    const codecs = (names: readonly string[]): import('werift').RTCRtpCodecParameters[] => names.filter((n) => make[n] !== undefined).map((n) => make[n]!());
    const hosts = this._opts.iceHosts;
    const ice = hosts === undefined ? { iceServers: [...(this._opts.iceServers ?? [])] as never } : iceConfigFor(hosts);
    return {
      codecs: { video: codecs(this._codecs.video), audio: codecs(this._codecs.audio) },
      headerExtensions: { video: [c.useSdesMid()], audio: [c.useSdesMid()] },
      ...ice,
    };
  }

  /** A remote track appeared: set up its receive chain. */
  private _onTrack(track: MediaStreamTrack, transceiver: RTCRtpTransceiver): void {
    const kind = transceiver.kind === 'video' ? 'video' : 'audio';
    // Payload type -> codec, from what was negotiated on this m-line.
    const negotiated = transceiver.codecs;
    let inbound: Inbound | undefined;
    track.onReceiveRtp.subscribe((rtp) => {
      if (this.stopping) return;
      if (inbound === undefined) {
        const params = negotiated.find((p) => p.payloadType === rtp.header.payloadType) ?? negotiated[0];
        const codec = params === undefined ? undefined : rtpCodecOf(params.mimeType);
        if (params === undefined || codec === undefined || codec.kind !== kind) return;
        inbound = this._addInbound(kind, codec, params.clockRate, params.channels ?? 1, transceiver, rtp.header.ssrc);
      }
      const now = Date.now();
      this._lastPacketMs = now;
      inbound.lastPacketMs = now;
      if (inbound.muted) this._setMuted(inbound, false);
      inbound.bytes += rtp.payload.length;
      this._afterJitter(inbound, inbound.jitter.push(rtp, now), now);
    });
    // (werift does not parse RTCP BYE: a publisher's leaving is seen on the connection state.)
    track.onReceiveRtcp.subscribe((packet) => {
      if (inbound === undefined || this.stopping || packet.type !== 200 || !('senderInfo' in packet)) return;
      const ntp = packet.senderInfo.ntpTimestamp;
      // A report before any packet was sent pairs nothing (some senders send NTP 0 then).
      if (ntp === 0n || packet.senderInfo.packetCount === 0) return;
      const report = { ntpSeconds: Number(ntp >> 32n), ntpFraction: Number(ntp & 0xffffffffn), rtpTimestamp: packet.senderInfo.rtpTimestamp };
      this._deliver(this._sync.senderReport(inbound.sync, report, Date.now()));
    });
  }

  private _addInbound(kind: 'video' | 'audio', codec: RtpCodecInfo, clockRate: number, channels: number, transceiver: RTCRtpTransceiver, ssrc: number): Inbound {
    // A publisher that comes back (onLeave 'wait') continues the earlier track of the same kind and codec.
    const previous = this._inbound.find((i) => i.kind === kind && i.codec === codec && i.session < this._sessions && !i.continued);
    if (previous !== undefined) previous.continued = true;
    const id = previous?.id ?? `${kind}-${transceiver.mid ?? this._inbound.length}`;
    const inbound: Inbound = {
      id, kind, codec, clockRate, channels, transceiver, ssrc, session: this._sessions, continued: false,
      jitter: new JitterBuffer<RtpPacket>(this._opts.jitterLatencyMs),
      assembler: new FrameAssembler(codec, this._werift!.depacketize),
      sync: this._sync.addTrack(clockRate),
      config: previous?.config, outlet: previous?.outlet, held: undefined, lastDurationUs: 33_333, pliSent: 0, lastPliMs: 0, lastKeyMs: Date.now(), bytes: 0, lastPacketMs: Date.now(), muted: false, mutes: 0,
    };
    this._inbound.push(inbound);
    return inbound;
  }

  /** Jitter buffer output -> frames -> lip sync; sends a PLI when the depacketizer waits for a keyframe. */
  private _afterJitter(i: Inbound, released: ReturnType<JitterBuffer['push']>, now: number): void {
    if (released.length === 0) return;
    const { frames, requestKeyframe } = i.assembler.push(released);
    if (requestKeyframe) this._sendPli(i, now);
    for (const frame of frames) {
      if (i.config === undefined) {
        i.config = i.kind === 'video' ? videoConfigFromKeyframe(i.codec.codec, frame.data) : audioConfigOf(i.codec.codec, i.clockRate, i.channels);
        if (i.config === undefined) continue;
        // After prepare() only a returning publisher's tracks (which inherit their outlet) are taken.
        if (!this._prepared) i.outlet ??= this._makeOutlet(i);
        this._wakePrepare?.();
      }
      if (frame.key) i.lastKeyMs = now;
      this._deliver(this._sync.push(i.sync, { inbound: i, frame }, frame.rtpTimestamp, now));
    }
  }

  /** Registers a mute listener (see {@link Source.onMute}). */
  onMute(listener: (kind: 'video' | 'audio', muted: boolean) => void): void {
    this._muteListeners.push(listener);
  }

  private _setMuted(i: Inbound, muted: boolean): void {
    i.muted = muted;
    if (muted) i.mutes++;
    if (!this._declared.some((t) => t.id === i.id)) return;
    for (const l of this._muteListeners) l(i.kind, muted);
  }

  private _makeOutlet(i: Inbound): TrackOutlet {
    const end = this.openTrack();
    return new TrackOutlet(i.kind, this._queue[i.kind], end, () => this._sendPli(i, Date.now()));
  }

  /** Placed frames -> their track's outlet (tracks not recorded have none after prepare()). */
  private _deliver(placed: PlacedFrame<{ inbound: Inbound; frame: RtpFrame }>[]): void {
    for (const { frame: { inbound: i, frame }, timestamp } of placed) {
      if (i.outlet === undefined) continue;
      if (i.kind === 'audio') {
        const duration = i.codec.codec === 'opus' ? opusPacketDurationUs(frame.data) : Math.round((frame.data.length * 1e6) / i.clockRate);
        i.outlet.push(new EncodedChunk({ type: 'key', timestamp, data: frame.data, ...(duration === undefined ? {} : { duration }) }));
        continue;
      }
      // A video frame lasts until the next one: it is held until that one comes (containers want
      // durations; an MP4's last sample without one falls outside its edit list).
      this._pushVideo(i, timestamp);
      i.held = { frame, timestamp };
    }
  }

  /** Sends a track's held video frame, lasting until `untilUs` (or one nominal frame at the end). */
  private _pushVideo(i: Inbound, untilUs: number | undefined): void {
    const held = i.held;
    if (held === undefined || i.outlet === undefined) return;
    i.held = undefined;
    i.lastDurationUs = untilUs === undefined ? i.lastDurationUs : Math.max(1, untilUs - held.timestamp);
    i.outlet.push(new EncodedChunk({ type: held.frame.key ? 'key' : 'delta', timestamp: held.timestamp, duration: i.lastDurationUs, data: held.frame.data }));
  }

  private _sendPli(i: Inbound, now: number): void {
    if (i.kind !== 'video' || i.ssrc === undefined || now - i.lastPliMs < PLI_REPEAT_MS) return;
    i.lastPliMs = now;
    i.pliSent++;
    i.transceiver.receiver.sendRtcpPLI(i.ssrc).catch(() => undefined);
  }

  /** Services the jitter buffers (gaps given up), sync timeouts and PLI repeats. */
  private _tick(): void {
    this._timer ??= setInterval(() => {
      const now = Date.now();
      for (const i of this._inbound) {
        this._afterJitter(i, i.jitter.release(now), now);
        if (!i.muted && i.session === this._sessions && this._pc !== undefined && now - i.lastPacketMs > MUTE_AFTER_MS) this._setMuted(i, true);
        if (i.assembler.awaitingKeyframe && now - i.lastPliMs >= PLI_REPEAT_MS) {
          i.assembler.rearmKeyframeRequest();
          this._sendPli(i, now);
        }
        // A GOP longer than the bound: ask for a keyframe (a live track still sending, not a muted one).
        const gap = this._opts.maxKeyframeGapMs;
        if (gap > 0 && i.kind === 'video' && !i.muted && i.config !== undefined && i.session === this._sessions && now - i.lastKeyMs > gap && now - i.lastPliMs > gap) {
          this._sendPli(i, now);
        }
      }
      this._deliver(this._sync.release(now));
      if (this._pc !== undefined && now - this._lastPacketMs > this._opts.mediaTimeoutMs) void this._left(`no media for ${this._opts.mediaTimeoutMs} ms`);
      this._drainLeave(now);
    }, TICK_MS);
  }

  private _onConnectionState(pc: RTCPeerConnection, state: string): void {
    if (pc !== this._pc) return;
    clearTimeout(this._disconnectTimer);
    if (state === 'failed') void this._left('ICE failed');
    else if (state === 'closed') void this._left('the peer connection closed');
    else if (state === 'disconnected') this._disconnectTimer = setTimeout(() => void this._left('the publisher disconnected'), DISCONNECT_GRACE_MS);
  }

  /**
   * The publisher is gone: what it sent before is still taken in (packets may wait in the socket while
   * the event loop is busy) until its socket has been quiet for a moment; then the run ends, or waits
   * for the publisher to come back. Resolves once that is decided.
   */
  private _left(reason: string): Promise<void> {
    if (this._pc === undefined || this.stopping) return Promise.resolve();
    if (this._leaving !== undefined) return this._leaving.done;
    this._leftBecause = reason;
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    this._leaving = { since: Date.now(), done, resolve };
    return done;
  }

  /** Called by the tick: ends a leave once the socket is quiet (or after the longest drain). */
  private _drainLeave(now: number): void {
    const leaving = this._leaving;
    if (leaving === undefined) return;
    if (now - this._lastPacketMs < LEAVE_QUIET_MS && now - leaving.since < LEAVE_DRAIN_MAX_MS) return;
    this._leaving = undefined;
    const pc = this._pc!;
    this._pc = undefined;
    void pc.close().catch(() => undefined);
    for (const i of this._inbound) {
      this._afterJitter(i, i.jitter.flush(), now);
      this._pushVideo(i, undefined);
    }
    if (this._opts.onLeave === 'end' || !this._prepared) this.stop();
    else this._leaveTimer = setTimeout(() => this.stop(), this._opts.leaveTimeoutMs);
    leaving.resolve();
  }

  /** The declared track of an inbound stream with frames. */
  private _declare(i: Inbound, config: PipelineConfig): TrackInfo {
    if (i.kind === 'video') {
      const c = i.config as VideoDecoderConfig;
      return { id: i.id, kind: 'video', width: c.codedWidth, height: c.codedHeight, fps: config.encoding.fps, encoded: { codec: i.codec.codec, decoderConfig: c } };
    }
    const c = i.config as AudioDecoderConfig;
    return { id: i.id, kind: 'audio', sampleRate: c.sampleRate, channels: c.numberOfChannels, encoded: { codec: i.codec.codec, decoderConfig: c } };
  }
}

/** Socket receive buffer asked for (Linux caps it at net.core.rmem_max, 4 MiB by default; its default is 208 KiB). */
const RECEIVE_BUFFER = 4 << 20;

/**
 * Gives the peer's UDP sockets a larger receive buffer: with many sessions in one event loop, a busy
 * moment (a muxer write, a GC) must not overflow the kernel's default 208 KiB and lose packets (as
 * GStreamer's udpsrc `buffer-size`). werift exposes its sockets only through its ICE internals, so
 * this looks for them and does nothing where the shape differs.
 */
function enlargeReceiveBuffers(pc: RTCPeerConnection): void {
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
