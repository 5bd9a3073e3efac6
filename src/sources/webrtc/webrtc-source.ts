import type { MediaStreamTrack, RTCPeerConnection, RTCRtpTransceiver } from 'werift';
import type { AudioDecoderConfig, EncodedChunk, VideoDecoderConfig } from '../../media/encoded-chunk.js';
import type { PipelineConfig } from '../../config/pipeline-config.js';
import type { TrackInfo } from '../track-info.js';
import { AvpipeError } from '../../errors.js';
import type { QueueStats } from '../../queues/bounded-queue.js';
import { MEDIA_MEASURE } from '../../queues/media-measure.js';
import { PushQueue } from '../../queues/push-queue.js';
import { Signal } from '../../signal.js';
import type { AssemblerStats, RtpFrame } from '../rtp/frame-assembler.js';
import { InboundTrack, type InboundOutput } from '../rtp/inbound-track.js';
import type { JitterStats } from '../rtp/jitter-buffer.js';
import { LipSync, type LipSyncTrackStats, type PlacedFrame } from '../rtp/lip-sync.js';
import { rtpCodecOf, type RtpCodecInfo } from '../rtp/rtp-codecs.js';
import { SourceBase } from '../source-base.js';
import type { ResultWarning, Source, SourceMedia } from '../source.js';
import { answerOffer, enlargeReceiveBuffers, loadWerift, peerConfig, senderReportOf, type ReceivePeerOptions, type Werift } from './peer.js';
import { Presence, type LeavePolicy } from './presence.js';
import { candidateAddress, keepCandidates } from './sdp.js';

export type { LeavePolicy };

/** Options of a {@link WebRtcSource}. */
export interface WebRtcSourceOptions {
  /** Name in results and errors (a WHIP session's stream name). */
  name?: string;
  /** Preferred codecs by SDP name, in order: video default VP8, H264, VP9; audio OPUS, PCMU, PCMA. */
  codecs?: {
    /** Video codecs the answer may take, by SDP name (any case), most preferred first. */
    video?: readonly string[];
    /** Audio codecs the answer may take, by SDP name (any case), most preferred first. */
    audio?: readonly string[];
  };
  /**
   * Host addresses ICE may use, e.g. `['127.0.0.1']`: only these are gathered, offered and accepted.
   * Absent: every interface, with `iceServers`.
   */
  iceHosts?: readonly string[];
  /** STUN/TURN servers (not used with `iceHosts`). */
  iceServers?: readonly {
    /** The server's `stun:` or `turn:` URL, or several. */
    urls: string | string[];
    /** User name on a TURN server. */
    username?: string;
    /** Password on a TURN server. */
    credential?: string;
  }[];
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
   * The session's zero also waits, this long at most, for an offered track that has sent nothing yet.
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
  queue?: {
    /** Frames a video track may hold (default 300). */
    video?: number;
    /** Frames an audio track may hold (default 500). */
    audio?: number;
  };
  /**
   * Asks for a keyframe (PLI) when a video track sent none for this long. Browsers send keyframes only
   * when asked; copied video then has unbounded GOPs, and a live MP4's fragments (cut on keyframes: what
   * a killed recorder keeps) would grow with them. Default 4000; 0 never asks.
   */
  maxKeyframeGapMs?: number;
}

/** What one received track did, for results. */
export interface WebRtcTrackStats {
  /**
   * The track's ID (e.g. `video-0`, from its SDP mid): its declared track's, when recorded. A returning
   * publisher's stream keeps the ID of the track it continues.
   */
  id: string;
  /** Video or audio. */
  kind: 'video' | 'audio';
  /** mediabunny's codec name: `vp8`, `vp9`, `avc`, `opus`, `ulaw` or `alaw`. */
  codec: string;
  /** Whether the track was declared to the pipeline (it sent its first frame in time). */
  recorded: boolean;
  /** Its jitter buffer's counters: RTP packets received, lost, reordered... */
  packets: JitterStats;
  /** Its depacketizer's counters: frames made, dropped, malformed... */
  frames: AssemblerStats;
  /** Its lip sync's counters: sender reports, clock fit, frames retimed... */
  sync: LipSyncTrackStats | undefined;
  /** Its outlet's counters (`<kind>-outlet`), the track's frames waiting for the pipeline. */
  queue: QueueStats | undefined;
  /** RTCP PLIs sent (keyframe requests). */
  pliSent: number;
  /** Whether the track is muted now (nothing for a second). */
  muted: boolean;
  /** How many times it went muted. */
  mutes: number;
  /** RTP payload bytes received (every packet, duplicates and late ones included). */
  bytes: number;
}

/** A WebRTC source's entry in a result. */
export interface WebRtcSourceStats {
  /** The kind of source the entry is: always `webrtc`. */
  kind: 'webrtc';
  /** The source's name (its `name` option: a WHIP session's stream name). */
  name: string;
  /** Publisher sessions (1, more when a publisher came back). */
  sessions: number;
  /** Why the publisher's last session ended, if it did. */
  leftBecause: string | null;
  /** Every RTP stream received, recorded or not, in the order they came. */
  tracks: WebRtcTrackStats[];
  /** The publisher's ICE candidates, over all its sessions. */
  candidates: {
    /** `a=candidate` lines in its offers. */
    offered: number;
    /** Trickled ones (WHIP PATCH) given to the peer connection. */
    trickled: number;
    /** Trickled ones left out: on a host outside `iceHosts`. */
    ignored: number;
  };
}

/** How often the tracks, lip sync and presence are serviced (gaps given up, sync timeouts, PLI repeats, leaves). */
const TICK_MS = 20;

/** One received RTP stream: its pure core, the peer's side of it, and the declared track's outlet. */
interface Inbound {
  readonly id: string;
  readonly track: InboundTrack;
  readonly transceiver: RTCRtpTransceiver;
  readonly ssrc: number;
  /** The publisher session (1, 2, ... when it came back) the stream belongs to. */
  readonly session: number;
  /** Its track's index in lip sync. */
  readonly sync: number;
  /** A later session's stream continues this one's track. */
  continued: boolean;
  outlet: PushQueue<EncodedChunk> | undefined;
}

/**
 * A live source fed by a WebRTC publisher: a receive-only werift peer. The application (or avpipe's
 * WHIP endpoint) gives it the publisher's SDP offer and sends back the answer; each received track
 * goes through a jitter buffer, a depacketizer (VP8, VP9, H.264, Opus, G.711) and lip sync from RTCP
 * sender reports, and comes out as encoded chunks in media time, copied into a container or decoded
 * and re-encoded like a file's. Keyframes are requested (PLI) at the start and after losses.
 *
 * This class is the adapter: the peer's events feed each track's `InboundTrack` and the
 * publisher's `Presence` with the monotonic clock, one timer ticks them, and what they decide
 * goes to the peer (PLIs, close), to the outlets and to the Source protocol.
 */
export class WebRtcSource extends SourceBase implements Source {
  readonly name: string;
  /** Its publisher sends at 1x: a pipeline with it must be live. */
  readonly alwaysLive = true;
  private readonly _opts: Required<Pick<WebRtcSourceOptions, 'trackTimeoutMs' | 'jitterLatencyMs' | 'maxKeyframeGapMs'>>;
  private readonly _peer: ReceivePeerOptions;
  private readonly _candidates = { offered: 0, trickled: 0, ignored: 0 };
  private readonly _queue: { video: number; audio: number };
  private readonly _presence: Presence;
  private _pc: RTCPeerConnection | undefined;
  private _werift: Werift | undefined;
  private readonly _inbound: Inbound[] = [];
  private readonly _sync: LipSync<{ inbound: Inbound; frame: RtpFrame }>;
  private _declared: TrackInfo[] = [];
  private _timer: NodeJS.Timeout | undefined;
  private readonly _muteListeners: ((kind: 'video' | 'audio', muted: boolean) => void)[] = [];
  /** The promise of a leave being drained (what `hangUp()` returns). */
  private _leave: { done: Promise<void>; resolve: () => void } | undefined;
  private _closed = false;
  private _prepared = false;
  /** Wakes `prepare()` when an offer or a first frame arrives, or on stop. */
  private readonly _arrived = new Signal();

  constructor(options: WebRtcSourceOptions = {}) {
    super();
    this.name = options.name ?? 'webrtc';
    this._opts = {
      trackTimeoutMs: options.trackTimeoutMs ?? 5000,
      jitterLatencyMs: options.jitterLatencyMs ?? 150,
      maxKeyframeGapMs: options.maxKeyframeGapMs ?? 4000,
    };
    this._peer = {
      codecs: {
        video: (options.codecs?.video ?? ['VP8', 'H264', 'VP9']).map((c) => c.toUpperCase()),
        audio: (options.codecs?.audio ?? ['OPUS', 'PCMU', 'PCMA']).map((c) => c.toUpperCase()),
      },
      iceHosts: options.iceHosts,
      iceServers: options.iceServers,
    };
    this._queue = { video: options.queue?.video ?? 300, audio: options.queue?.audio ?? 500 };
    this._presence = new Presence({ onLeave: options.onLeave ?? 'end', leaveTimeoutMs: options.leaveTimeoutMs ?? 30_000, mediaTimeoutMs: options.mediaTimeoutMs ?? 10_000 });
    this._sync = new LipSync(options.syncTimeoutMs ?? 4000);
  }

  /**
   * Takes the publisher's SDP offer and returns the answer, with every ICE candidate in it (no trickle
   * needed). A second offer after the publisher left resumes a source that waits (`onLeave: 'wait'`).
   */
  async acceptOffer(offerSdp: string): Promise<string> {
    if (this._closed || this.stopping) throw new AvpipeError('INVALID_STATE', `${this.name}: the source has ended`);
    if (this._pc !== undefined) throw new AvpipeError('INVALID_STATE', `${this.name}: a publisher is already connected`);
    if (typeof offerSdp !== 'string' || !offerSdp.startsWith('v=0')) throw new AvpipeError('INPUT_INVALID', `${this.name}: the offer is not an SDP (it must start with v=0)`);
    this._candidates.offered += (offerSdp.match(/^a=candidate:/gm) ?? []).length;
    const w = (this._werift ??= loadWerift());
    const pc = new w.core.RTCPeerConnection(peerConfig(w, this._peer));
    this._pc = pc;
    this._presence.offer(performance.now());
    pc.onTransceiverAdded.subscribe((t) => {
      t.onTrack.subscribe((track) => this._onTrack(track, t));
    });
    pc.connectionStateChange.subscribe((state) => {
      if (pc === this._pc) this._presence.connectionState(state, performance.now());
    });
    try {
      const sdp = await answerOffer(pc, offerSdp, this.name);
      // Given up while gathering (closed, or hung up by a WHIP server's time bound): not this source's peer now.
      if (this._pc !== pc) throw new AvpipeError('INVALID_STATE', `${this.name}: the offer was given up while it was answered`);
      enlargeReceiveBuffers(pc);
      // The session's zero waits for every offered track, not only those whose packets came first
      // (once decided, the zero stays: a returning publisher's count changes nothing).
      this._sync.expectTracks(pc.getTransceivers().filter((t) => t.direction === 'recvonly').length);
      this._presence.heard(performance.now());
      // Not restarted for a source stopped while the offer was answered: stop() cleared it for good.
      if (!this.stopping) this._timer ??= setInterval(() => this._tick(), TICK_MS);
      this._arrived.notify();
      return this._peer.iceHosts === undefined ? sdp : keepCandidates(sdp, this._peer.iceHosts);
    } catch (err) {
      if (this._pc === pc) {
        this._pc = undefined;
        this._presence.offerFailed();
        this._resolveLeave();
      }
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
    const hosts = this._peer.iceHosts;
    if (hosts !== undefined && (host === undefined || !hosts.includes(host))) {
      this._candidates.ignored++;
      return;
    }
    const sdpMid = mid !== undefined && pc.getTransceivers().some((t) => t.mid === mid) ? mid : pc.getTransceivers()[0]?.mid ?? undefined;
    await pc.addIceCandidate({ candidate: candidate.replace(/^a=/, ''), ...(sdpMid === undefined ? {} : { sdpMid }) });
    this._candidates.trickled++;
  }

  /** True while the publisher is gone and the source waits for it to come back (`onLeave: 'wait'`). */
  get waitingForPublisher(): boolean {
    return this._pc === undefined && this._presence.sessions > 0 && !this.stopping && !this._closed;
  }

  /**
   * Tells the source its publisher hung up (a WHIP DELETE): as when the peer goes away. Resolves once
   * what the publisher sent before has been taken in and the source has ended (or waits for it).
   */
  hangUp(): Promise<void> {
    if (this.stopping || !this._presence.leave('the publisher hung up', performance.now())) return Promise.resolve();
    if (this._leave === undefined) {
      let resolve!: () => void;
      const done = new Promise<void>((r) => (resolve = r));
      this._leave = { done, resolve };
    }
    return this._leave.done;
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
      const withFrames = this._inbound.filter((i) => i.track.config !== undefined);
      if (offered.length > 0 && withFrames.length >= offered.length) break;
      if (Date.now() >= deadline) break;
      await this._arrived.wait({ timeoutMs: Math.min(100, Math.max(1, deadline - Date.now())) });
    }
    const ready = this._inbound.filter((i) => i.track.config !== undefined);
    if (ready.length === 0) throw new AvpipeError('SOURCE_FAILED', `${this.name}: no media arrived from the publisher within ${this._opts.trackTimeoutMs} ms`);
    // The pipeline takes one video track (the first) and mixes every audio track: a second video
    // track is not recorded, and its outlet is closed so that the source can end.
    const video = ready.find((i) => i.track.kind === 'video');
    const taken = ready.filter((i) => i.track.kind === 'audio' || i === video);
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

  /** A PLI to the publisher of a video track (at most one per repeat interval). */
  requestKeyframe(trackId: string): void {
    const outlet = this._inbound.find((i) => i.id === trackId && i.outlet !== undefined)?.outlet;
    if (outlet !== undefined) this._askForKey(outlet);
  }

  override stop(): void {
    if (this.stopping) return;
    super.stop();
    this._presence.end();
    this._arrived.notify();
    const now = performance.now();
    // What is still held goes out: gaps given up, frames waiting for sync placed by arrival.
    for (const i of this._inbound) this._take(i, i.track.flush(now), now);
    this._deliver(this._sync.release(Number.MAX_SAFE_INTEGER));
    for (const i of this._inbound) {
      this._releaseHeld(i);
      i.outlet?.end();
    }
    if (this._timer !== undefined) clearInterval(this._timer);
    this._timer = undefined;
    this._resolveLeave();
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
      const kind = i.track.kind;
      if (s === undefined || s.jumps === 0) return [];
      return [{
        code: 'TIMESTAMP_JUMP' as const, input: `${this.name} ${kind} track ${i.id}`, atMs: (s.firstJumpUs ?? 0) / 1000,
        message: `${this.name}: the ${kind} track's RTP timestamps jumped ${s.jumps === 1 ? 'once' : `${s.jumps} times`} by more than limits.maxGap (${this._sync.maxGapUs / 1e6} s) from what their arrival shows, first at ${((s.firstJumpUs ?? 0) / 1e6).toFixed(2)} s; re-anchored, not filled`,
      }];
    });
  }

  /** Per-track counters: packets (lost, reordered, late), frames, sync, queue, PLIs. */
  toJSON(): WebRtcSourceStats {
    const sync = this._sync.toJSON();
    return {
      kind: 'webrtc', name: this.name, sessions: this._presence.sessions, leftBecause: this._presence.leftBecause, candidates: { ...this._candidates },
      tracks: this._inbound.map((i) => {
        const t = i.track.toJSON();
        return {
          id: i.id, kind: i.track.kind, codec: i.track.codec.codec, recorded: this._declared.some((d) => d.id === i.id),
          packets: t.packets, frames: t.frames, sync: sync[i.sync], queue: i.outlet?.toJSON(),
          pliSent: t.pliSent, muted: t.muted, mutes: t.mutes, bytes: t.bytes,
        };
      }),
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

  /** Closes the source (`await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Registers a mute listener (see {@link Source.onMute}). */
  onMute(listener: (kind: 'video' | 'audio', muted: boolean) => void): void {
    this._muteListeners.push(listener);
  }

  /** A remote track appeared: its packets feed an {@link InboundTrack} once their codec is known, its sender reports lip sync. */
  private _onTrack(mediaTrack: MediaStreamTrack, transceiver: RTCRtpTransceiver): void {
    const kind = transceiver.kind === 'video' ? 'video' : 'audio';
    // Payload type -> codec, from what was negotiated on this m-line.
    const negotiated = transceiver.codecs;
    let inbound: Inbound | undefined;
    mediaTrack.onReceiveRtp.subscribe((rtp) => {
      if (this.stopping) return;
      const now = performance.now();
      if (inbound === undefined) {
        const params = negotiated.find((p) => p.payloadType === rtp.header.payloadType) ?? negotiated[0];
        const codec = params === undefined ? undefined : rtpCodecOf(params.mimeType);
        if (params === undefined || codec === undefined || codec.kind !== kind) return;
        inbound = this._addInbound(codec, params.clockRate, params.channels ?? 1, transceiver, rtp.header.ssrc, now);
      }
      this._presence.heard(now);
      this._take(inbound, inbound.track.push(rtp, now), now);
    });
    mediaTrack.onReceiveRtcp.subscribe((packet) => {
      if (inbound === undefined || this.stopping) return;
      const report = senderReportOf(packet);
      if (report !== undefined) this._deliver(this._sync.senderReport(inbound.sync, report, performance.now()));
    });
  }

  private _addInbound(codec: RtpCodecInfo, clockRate: number, channels: number, transceiver: RTCRtpTransceiver, ssrc: number, now: number): Inbound {
    // A publisher that comes back (onLeave 'wait') continues the earlier track of the same kind and codec.
    const session = this._presence.sessions;
    const previous = this._inbound.find((i) => i.track.codec === codec && i.session < session && !i.continued);
    if (previous !== undefined) previous.continued = true;
    const track = new InboundTrack({
      codec, clockRate, channels, depacketize: this._werift!.depacketize, config: previous?.track.config,
      jitterLatencyMs: this._opts.jitterLatencyMs, maxKeyframeGapMs: this._opts.maxKeyframeGapMs,
    }, now);
    const id = previous?.id ?? `${codec.kind}-${transceiver.mid ?? this._inbound.length}`;
    const inbound: Inbound = { id, track, transceiver, ssrc, session, sync: this._sync.addTrack(clockRate), continued: false, outlet: previous?.outlet };
    this._inbound.push(inbound);
    return inbound;
  }

  /** What a track's step asks for: a PLI to the publisher, a mute told, its frames to lip sync. */
  private _take(i: Inbound, out: InboundOutput, now: number): void {
    if (out.pli) this._sendPli(i);
    if (out.muted !== undefined && this._declared.some((t) => t.id === i.id)) {
      for (const l of this._muteListeners) l(i.track.kind, out.muted);
    }
    if (out.frames.length === 0) return;
    // A track with frames has its decoder config: after prepare() only a returning publisher's tracks
    // (which inherit their outlet) are taken.
    if (!this._prepared) {
      i.outlet ??= this._makeOutlet(i);
      this._arrived.notify();
    }
    for (const frame of out.frames) this._deliver(this._sync.push(i.sync, { inbound: i, frame }, frame.rtpTimestamp, now));
  }

  /** Placed frames -> their track's chunks -> its outlet (tracks not recorded have none after prepare()). */
  private _deliver(placed: PlacedFrame<{ inbound: Inbound; frame: RtpFrame }>[]): void {
    for (const { frame: { inbound: i, frame }, timestamp } of placed) {
      if (i.outlet === undefined) continue;
      for (const chunk of i.track.place(frame, timestamp)) this._push(i.outlet, chunk);
    }
  }

  /** Sends a track's held video frame on (its publisher's session ended). */
  private _releaseHeld(i: Inbound): void {
    if (i.outlet === undefined) return;
    for (const chunk of i.track.releaseHeld()) this._push(i.outlet, chunk);
  }

  /** Into an outlet; a delta it will refuse (it waits for a keyframe) asks the publisher for one. */
  private _push(outlet: PushQueue<EncodedChunk>, chunk: EncodedChunk): void {
    if (chunk.type !== 'key' && outlet.queue.waitingForStart) this._askForKey(outlet);
    outlet.push(chunk);
  }

  /** A PLI (at most one per repeat interval) to the stream that feeds `outlet` now: a returning publisher's continues it. */
  private _askForKey(outlet: PushQueue<EncodedChunk>): void {
    const current = this._inbound.findLast((x) => x.outlet === outlet);
    if (current !== undefined && current.track.requestKeyframe(performance.now())) this._sendPli(current);
  }

  /**
   * A track's outlet: where its frames wait for the pipeline. The network never waits, so when the
   * pipeline falls behind the oldest frames go (video: up to the next keyframe, so what is kept still
   * decodes); when video went through to the newest frame, the publisher is asked for a keyframe.
   */
  private _makeOutlet(i: Inbound): PushQueue<EncodedChunk> {
    const kind = i.track.kind;
    const outlet: PushQueue<EncodedChunk> = new PushQueue<EncodedChunk>(`${kind}-outlet`, this._queue[kind], {
      measure: MEDIA_MEASURE,
      // Video starts on a keyframe: deltas before the first one (its keyframe placed before the
      // session's zero, say) could not be decoded, and a muxer refuses them.
      ...(kind === 'video' ? { starts: { canStart: (c: EncodedChunk) => c.type === 'key', waitForStart: true, onNeedStart: () => this._askForKey(outlet) } } : {}),
      onDone: this.openTrack(),
    });
    return outlet;
  }

  private _sendPli(i: Inbound): void {
    i.transceiver.receiver.sendRtcpPLI(i.ssrc).catch(() => undefined);
  }

  /** Services the tracks (gaps given up, mutes, PLI repeats), lip sync timeouts and presence. */
  private _tick(): void {
    const now = performance.now();
    const { sessions, connected } = this._presence;
    for (const i of this._inbound) this._take(i, i.track.tick(now, connected && i.session === sessions), now);
    this._deliver(this._sync.release(now));
    const step = this._presence.tick(now, this._prepared);
    if (step.drained) {
      // The publisher is gone and its socket quiet: what it sent is all taken in.
      const pc = this._pc;
      this._pc = undefined;
      void pc?.close().catch(() => undefined);
      for (const i of this._inbound) {
        this._take(i, i.track.flush(now), now);
        this._releaseHeld(i);
      }
    }
    if (step.end) this.stop();
    if (step.drained) this._resolveLeave();
  }

  /** Settles a pending `hangUp()`: its leave is decided (drained, the offer given up, or stopped). */
  private _resolveLeave(): void {
    const leave = this._leave;
    this._leave = undefined;
    leave?.resolve();
  }

  /** The declared track of an inbound stream with frames. */
  private _declare(i: Inbound, config: PipelineConfig): TrackInfo {
    const codec = i.track.codec.codec;
    if (i.track.kind === 'video') {
      const c = i.track.config as VideoDecoderConfig;
      return { id: i.id, kind: 'video', width: c.codedWidth, height: c.codedHeight, fps: config.encoding.fps, encoded: { codec, decoderConfig: c } };
    }
    const c = i.track.config as AudioDecoderConfig;
    // Its samples come at the publisher's sound card's rate, its times from the sender's reports.
    return { id: i.id, kind: 'audio', sampleRate: c.sampleRate, channels: c.numberOfChannels, encoded: { codec, decoderConfig: c }, clockDrift: true };
  }
}
