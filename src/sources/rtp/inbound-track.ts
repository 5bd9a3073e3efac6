import { EncodedChunk, type AudioDecoderConfig, type VideoDecoderConfig } from '../../media/encoded-chunk.js';
import type { Microseconds } from '../../time.js';
import { FrameAssembler, type AssemblerStats, type Depacketize, type RtpFrame } from './frame-assembler.js';
import { JitterBuffer, type JitterOutput, type JitterStats, type RtpPacketLike } from './jitter-buffer.js';
import { audioConfigOf, opusPacketDurationUs, videoConfigFromKeyframe, type RtpCodecInfo } from './rtp-codecs.js';

/** PLIs are repeated at most this often while a keyframe is awaited. */
export const PLI_REPEAT_MS = 500;
/** A track that sent nothing for this long counts as muted (until its next packet). */
export const MUTE_AFTER_MS = 1000;
/** A video frame's duration before a second frame gave one (30 fps). */
const NOMINAL_FRAME_US = 33_333;

/** Options of an {@link InboundTrack}. */
export interface InboundTrackOptions {
  /** The negotiated payload format; its kind is the track's. */
  codec: RtpCodecInfo;
  clockRate: number;
  channels: number;
  /** Joins a frame's packets (werift's depacketizers, injected: the core loads nothing). */
  depacketize: Depacketize;
  /** How long a gap waits for a retransmission before it is given up. */
  jitterLatencyMs: number;
  /** Asks for a keyframe when video sent none for this long; 0 never asks. */
  maxKeyframeGapMs: number;
  /** The decoder config of the track this one continues (a publisher that came back). */
  config?: VideoDecoderConfig | AudioDecoderConfig | undefined;
}

/** What a step of an {@link InboundTrack} asks of its adapter. */
export interface InboundOutput {
  /** Whole frames for lip sync, in order; none before the track's decoder config is known. */
  frames: RtpFrame[];
  /** Send an RTCP PLI now (already counted in `pliSent`; at most one per {@link PLI_REPEAT_MS}). */
  pli: boolean;
  /** Set when the track's mute changed now: true when it went quiet, false when it sends again. */
  muted?: boolean;
}

/** An inbound track's counters (a WebRTC source's result carries them per track). */
export interface InboundTrackStats {
  packets: JitterStats;
  frames: AssemblerStats;
  /** RTCP PLIs sent (keyframe requests). */
  pliSent: number;
  muted: boolean;
  mutes: number;
  /** Payload bytes received. */
  bytes: number;
}

/**
 * The pure core of one received RTP stream: jitter buffer -> frame assembler -> frames for lip sync,
 * and after lip sync the frames' chunks (a video frame lasts until the next one). It decides when to
 * ask for a keyframe (after a loss, repeated while awaited, and when a GOP runs past
 * `maxKeyframeGapMs`) and when the track is muted. No timers, no sockets: time is passed in (`nowMs`,
 * any monotonic milliseconds) and the adapter calls {@link tick} every few tens of ms.
 */
export class InboundTrack {
  readonly kind: 'video' | 'audio';
  readonly codec: RtpCodecInfo;
  private readonly _clockRate: number;
  private readonly _channels: number;
  private readonly _maxKeyframeGapMs: number;
  private readonly _jitter: JitterBuffer;
  private readonly _assembler: FrameAssembler;
  private _config: VideoDecoderConfig | AudioDecoderConfig | undefined;
  /** The last placed video frame, held until the next one gives its duration. */
  private _held: { frame: RtpFrame; timestamp: Microseconds } | undefined;
  private _lastDurationUs = NOMINAL_FRAME_US;
  private _lastPliMs = -Infinity;
  /** When the last keyframe was taken in (video). */
  private _lastKeyMs: number;
  private _lastPacketMs: number;
  private _muted = false;
  private readonly _stats = { pliSent: 0, mutes: 0, bytes: 0 };

  /** A track whose first packet arrived at `nowMs`. */
  constructor(options: InboundTrackOptions, nowMs: number) {
    this.kind = options.codec.kind;
    this.codec = options.codec;
    this._clockRate = options.clockRate;
    this._channels = options.channels;
    this._maxKeyframeGapMs = options.maxKeyframeGapMs;
    this._jitter = new JitterBuffer(options.jitterLatencyMs);
    this._assembler = new FrameAssembler(options.codec, options.depacketize);
    this._config = options.config;
    this._lastKeyMs = nowMs;
    this._lastPacketMs = nowMs;
  }

  /** The decoder config, from the first frame (video: its keyframe); undefined until then. */
  get config(): VideoDecoderConfig | AudioDecoderConfig | undefined {
    return this._config;
  }

  /** Takes one packet that arrived at `nowMs`. */
  push(packet: RtpPacketLike, nowMs: number): InboundOutput {
    this._lastPacketMs = nowMs;
    this._stats.bytes += packet.payload.length;
    const out = this._assemble(this._jitter.push(packet, nowMs), nowMs);
    if (this._muted) {
      this._muted = false;
      out.muted = false;
    }
    return out;
  }

  /**
   * Services the track at `nowMs`: gaps given up after the jitter latency; and, while `active` (its
   * publisher is connected: a track of one that left has nobody to ask or to hear from), the mute,
   * the PLI repeat while a keyframe is awaited, and the PLI when the GOP ran past `maxKeyframeGapMs`.
   */
  tick(nowMs: number, active = true): InboundOutput {
    const out = this._assemble(this._jitter.release(nowMs), nowMs);
    if (!active) return out;
    if (!this._muted && nowMs - this._lastPacketMs > MUTE_AFTER_MS) {
      this._muted = true;
      this._stats.mutes++;
      out.muted = true;
    }
    if (this._assembler.awaitingKeyframe && nowMs - this._lastPliMs >= PLI_REPEAT_MS) {
      this._assembler.rearmKeyframeRequest();
      if (this.requestKeyframe(nowMs)) out.pli = true;
    }
    // A GOP longer than the bound: ask for a keyframe (a track still sending, not a muted one).
    const gap = this._maxKeyframeGapMs;
    if (gap > 0 && this.kind === 'video' && !this._muted && this._config !== undefined && nowMs - this._lastKeyMs > gap && nowMs - this._lastPliMs > gap) {
      if (this.requestKeyframe(nowMs)) out.pli = true;
    }
    return out;
  }

  /** Releases everything the jitter buffer holds, gaps counted as lost (the publisher left, or the end). */
  flush(nowMs: number): InboundOutput {
    return this._assemble(this._jitter.flush(), nowMs);
  }

  /**
   * Whether a PLI goes out now (video, and none in the last {@link PLI_REPEAT_MS}); counts it. For
   * the adapter's own reasons too (its outlet dropped through to the newest frame).
   */
  requestKeyframe(nowMs: number): boolean {
    if (this.kind !== 'video' || nowMs - this._lastPliMs < PLI_REPEAT_MS) return false;
    this._lastPliMs = nowMs;
    this._stats.pliSent++;
    return true;
  }

  /**
   * A frame of this track placed on the session timeline -> the chunks now complete: audio at once
   * (its duration from the packet), video one frame behind (each lasts until the next one starts:
   * containers want durations, and an MP4's last sample without one falls outside its edit list).
   */
  place(frame: RtpFrame, timestamp: Microseconds): EncodedChunk[] {
    if (this.kind === 'audio') {
      const duration = this.codec.codec === 'opus' ? opusPacketDurationUs(frame.data) : Math.round((frame.data.length * 1e6) / this._clockRate);
      return [new EncodedChunk({ type: 'key', timestamp, data: frame.data, ...(duration === undefined ? {} : { duration }) })];
    }
    const out = this._chunkOfHeld(timestamp);
    this._held = { frame, timestamp };
    return out;
  }

  /** The held video frame, lasting as long as the one before it (the publisher's session ended). */
  releaseHeld(): EncodedChunk[] {
    return this._chunkOfHeld(undefined);
  }

  /** The counters, for results. */
  toJSON(): InboundTrackStats {
    return { packets: this._jitter.toJSON(), frames: this._assembler.toJSON(), pliSent: this._stats.pliSent, muted: this._muted, mutes: this._stats.mutes, bytes: this._stats.bytes };
  }

  /** Jitter buffer output -> frames (a PLI when the assembler waits for a keyframe). */
  private _assemble(released: JitterOutput[], nowMs: number): InboundOutput {
    if (released.length === 0) return { frames: [], pli: false };
    const { frames, requestKeyframe } = this._assembler.push(released);
    const pli = requestKeyframe && this.requestKeyframe(nowMs);
    const out: RtpFrame[] = [];
    for (const frame of frames) {
      if (this._config === undefined) {
        this._config = this.kind === 'video' ? videoConfigFromKeyframe(this.codec.codec, frame.data) : audioConfigOf(this.codec.codec, this._clockRate, this._channels);
        if (this._config === undefined) continue;
      }
      if (frame.key) this._lastKeyMs = nowMs;
      out.push(frame);
    }
    return { frames: out, pli };
  }

  /** The held video frame as a chunk lasting until `untilUs` (or as long as the one before). */
  private _chunkOfHeld(untilUs: Microseconds | undefined): EncodedChunk[] {
    const held = this._held;
    if (held === undefined) return [];
    this._held = undefined;
    this._lastDurationUs = untilUs === undefined ? this._lastDurationUs : Math.max(1, untilUs - held.timestamp);
    return [new EncodedChunk({ type: held.frame.key ? 'key' : 'delta', timestamp: held.timestamp, duration: this._lastDurationUs, data: held.frame.data })];
  }
}
