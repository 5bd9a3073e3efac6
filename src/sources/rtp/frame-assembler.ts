import type { JitterOutput, RtpPacketLike } from './jitter-buffer.js';
import { isKeyframe, type RtpCodecInfo } from './rtp-codecs.js';

/** Joins the payloads of one frame's packets into the frame (werift's `dePacketizeRtpPackets`). */
export type Depacketize = (depacketizer: string, packets: RtpPacketLike[]) => Uint8Array;

/** One depacketized frame, still in RTP time. */
export interface RtpFrame {
  data: Uint8Array;
  key: boolean;
  /** The frame's RTP timestamp (32-bit, as sent). */
  rtpTimestamp: number;
}

/** An assembler's counters. */
export interface AssemblerStats {
  /** Whole frames passed on. */
  frames: number;
  /** Frames left out because a packet of theirs was lost, or because a keyframe was awaited. */
  framesDropped: number;
  /** Frames that could not be depacketized (malformed payloads). */
  malformed: number;
  /** Times a keyframe was asked for (the adapter sends a PLI). */
  keyframeRequests: number;
  /** Frames left out for being larger than a frame can be (packets without a marker bit, a flood). */
  oversize: number;
}

/**
 * A frame's bounds: a 4K keyframe is a few MB in a few thousand packets; a "frame" past these is a
 * publisher that never sets the marker bit, and would otherwise grow without limit.
 */
export const MAX_FRAME_PACKETS = 8192;
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * The pure core of a depacketizer: in-order packets (and gaps) from the jitter buffer in, whole frames
 * out. A video frame is the packets of one RTP timestamp up to the marker bit. After a loss inside or
 * before a frame, video frames are left out until the next keyframe (a decoder would show garbage
 * from a frame whose reference is gone), and the adapter is asked to request one; the stream also
 * starts on a keyframe. Audio packets are frames by themselves; a loss is a gap (decoders conceal it).
 */
export class FrameAssembler {
  readonly codec: RtpCodecInfo;
  private readonly _depacketize: Depacketize;
  private _packets: RtpPacketLike[] = [];
  private _broken = false;
  private _needKey: boolean;
  private _requested = false;
  private _bytes = 0;
  /** The RTP timestamp of a frame left out for its size: its further packets are ignored. */
  private _discarding: number | undefined;
  private readonly _stats: AssemblerStats = { frames: 0, framesDropped: 0, malformed: 0, keyframeRequests: 0, oversize: 0 };

  constructor(codec: RtpCodecInfo, depacketize: Depacketize) {
    this.codec = codec;
    this._depacketize = depacketize;
    this._needKey = codec.framed;
  }

  /**
   * Takes what the jitter buffer released; returns the frames now complete, and whether a keyframe
   * should be requested now (once per wait: the adapter rate-limits repeats).
   */
  push(items: readonly JitterOutput[]): { frames: RtpFrame[]; requestKeyframe: boolean } {
    const frames: RtpFrame[] = [];
    for (const item of items) {
      if ('lost' in item) {
        if (this.codec.framed) this._broken = true;
        continue;
      }
      const p = item.packet;
      if (!this.codec.framed) {
        this._emit([p], frames);
        continue;
      }
      if (this._discarding !== undefined) {
        if (p.header.timestamp === this._discarding) continue;
        this._discarding = undefined;
      }
      // A new timestamp before the marker: the previous frame's last packet never came.
      const open = this._packets[0];
      if (open !== undefined && open.header.timestamp !== p.header.timestamp) {
        this._broken = true;
        this._finishFrame(frames);
      }
      this._packets.push(p);
      this._bytes += p.payload.length;
      if (this._packets.length > MAX_FRAME_PACKETS || this._bytes > MAX_FRAME_BYTES) {
        this._stats.oversize++;
        this._discarding = p.header.timestamp;
        this._broken = true;
        this._finishFrame(frames);
        continue;
      }
      if (p.header.marker) this._finishFrame(frames);
    }
    const requestKeyframe = this._needKey && !this._requested;
    if (requestKeyframe) {
      this._requested = true;
      this._stats.keyframeRequests++;
    }
    return { frames, requestKeyframe };
  }

  /** True while video frames are left out until the next keyframe. */
  get awaitingKeyframe(): boolean {
    return this._needKey;
  }

  /** Lets the next {@link push} ask for a keyframe again (the adapter's PLI repeat timer). */
  rearmKeyframeRequest(): void {
    this._requested = false;
  }

  /** The counters, for results. */
  toJSON(): AssemblerStats {
    return { ...this._stats };
  }

  private _finishFrame(frames: RtpFrame[]): void {
    const packets = this._packets;
    this._packets = [];
    this._bytes = 0;
    if (packets.length === 0) return;
    if (this._broken) {
      this._broken = false;
      this._stats.framesDropped++;
      this._needKey = true;
      this._requested = false;
      return;
    }
    this._emit(packets, frames);
  }

  private _emit(packets: RtpPacketLike[], frames: RtpFrame[]): void {
    let data: Uint8Array;
    try {
      data = this._depacketize(this.codec.depacketizer, packets);
    } catch {
      this._stats.malformed++;
      if (this.codec.framed) this._needKey = true;
      return;
    }
    if (data.length === 0) return;
    const key = isKeyframe(this.codec.codec, data);
    if (this.codec.framed) {
      if (key) this._needKey = false;
      if (this._needKey) {
        this._stats.framesDropped++;
        return;
      }
    }
    this._stats.frames++;
    frames.push({ data, key, rtpTimestamp: packets[0]!.header.timestamp });
  }
}
