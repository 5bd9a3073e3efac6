import type { AudioDecoderConfig, VideoDecoderConfig } from '../../media/encoded-chunk.js';
import { parseSps } from '../annexb-reader.js';
import { splitAnnexB } from '../../codecs/avc.js';
import { opusHead } from '../../codecs/opus-head.js';

/** What avpipe knows of one RTP payload format. */
export interface RtpCodecInfo {
  kind: 'video' | 'audio';
  /** werift's depacketizer name. */
  depacketizer: string;
  /** mediabunny's codec name (what {@link TrackInfo} `encoded.codec` holds). */
  codec: string;
  /** Video: the first packet of a frame's is only known from its marker; audio: one packet, one frame. */
  framed: boolean;
}

/** The RTP payload formats avpipe receives (RFC 7741, RFC 9628, RFC 6184, RFC 7587, RFC 3551), by SDP name. */
export const RTP_CODECS: Readonly<Record<string, RtpCodecInfo>> = {
  VP8: { kind: 'video', depacketizer: 'VP8', codec: 'vp8', framed: true },
  VP9: { kind: 'video', depacketizer: 'VP9', codec: 'vp9', framed: true },
  H264: { kind: 'video', depacketizer: 'MPEG4/ISO/AVC', codec: 'avc', framed: true },
  OPUS: { kind: 'audio', depacketizer: 'OPUS', codec: 'opus', framed: false },
  PCMU: { kind: 'audio', depacketizer: 'PCMU', codec: 'ulaw', framed: false },
  PCMA: { kind: 'audio', depacketizer: 'PCMA', codec: 'alaw', framed: false },
};

/** The RTP codec of an SDP/werift mime type (`video/VP8`), or undefined when avpipe does not take it. */
export function rtpCodecOf(mimeType: string): RtpCodecInfo | undefined {
  const name = mimeType.split('/').pop()?.toUpperCase() ?? '';
  return RTP_CODECS[name];
}

/** Whether a depacketized frame is a keyframe, read from the bitstream itself. */
export function isKeyframe(codec: string, data: Uint8Array): boolean {
  switch (codec) {
    case 'vp8':
      // RFC 6386 9.1: bit 0 of the frame tag is 0 on a key frame.
      return data.length >= 10 && ((data[0] ?? 1) & 1) === 0 && data[3] === 0x9d && data[4] === 0x01 && data[5] === 0x2a;
    case 'vp9':
      return vp9KeyframeSize(data) !== undefined;
    case 'avc':
      return splitAnnexB(data).some((n) => ((n[0] ?? 0) & 0x1f) === 5);
    default:
      return true;
  }
}

/**
 * The decoder config of a video track, from its first keyframe: the coded size (and, for H.264, the
 * codec string from the SPS; the parameter sets stay in band, Annex B). Undefined when the frame does
 * not say.
 */
export function videoConfigFromKeyframe(codec: string, data: Uint8Array): VideoDecoderConfig | undefined {
  if (codec === 'vp8') {
    if (!isKeyframe('vp8', data)) return undefined;
    const w = (data[6]! | (data[7]! << 8)) & 0x3fff;
    const h = (data[8]! | (data[9]! << 8)) & 0x3fff;
    return { codec: 'vp8', codedWidth: w, codedHeight: h };
  }
  if (codec === 'vp9') {
    const size = vp9KeyframeSize(data);
    return size === undefined ? undefined : { codec: `vp09.${String(size.profile).padStart(2, '0')}.10.08`, codedWidth: size.width, codedHeight: size.height };
  }
  if (codec === 'avc') {
    const sps = splitAnnexB(data).find((n) => ((n[0] ?? 0) & 0x1f) === 7);
    if (sps === undefined) return undefined;
    const info = parseSps(sps);
    const hex = (n: number): string => n.toString(16).padStart(2, '0');
    return { codec: `avc1.${hex(info.profileIdc)}${hex(info.constraints)}${hex(info.levelIdc)}`, codedWidth: info.width, codedHeight: info.height };
  }
  return undefined;
}

/** The decoder config of an audio track from its SDP rtpmap (rate and channels). */
export function audioConfigOf(codec: string, clockRate: number, channels: number): AudioDecoderConfig {
  if (codec === 'opus') {
    // RFC 7587: Opus is always 48 kHz in RTP and signalled as 2 channels; an OpusHead for the container.
    return { codec: 'opus', sampleRate: 48000, numberOfChannels: channels, description: opusHead(channels) };
  }
  return { codec, sampleRate: clockRate, numberOfChannels: channels };
}

/** The profile and frame size of a VP9 keyframe's uncompressed header; undefined on other frames. */
function vp9KeyframeSize(data: Uint8Array): { profile: number; width: number; height: number } | undefined {
  let bit = 0;
  const read = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++, bit++) {
      const byte = data[bit >> 3];
      if (byte === undefined) throw new RangeError('short VP9 header');
      v = (v << 1) | ((byte >> (7 - (bit & 7))) & 1);
    }
    return v;
  };
  try {
    if (read(2) !== 2) return undefined; // frame_marker
    const lo = read(1);
    const profile = (read(1) << 1) | lo;
    if (profile === 3) read(1);
    if (read(1) === 1) return undefined; // show_existing_frame
    if (read(1) !== 0) return undefined; // frame_type: 0 is KEY_FRAME
    read(2); // show_frame, error_resilient_mode
    if (read(24) !== 0x498342) return undefined; // sync code
    if (profile >= 2) read(1); // ten_or_twelve_bit
    const colorSpace = read(3);
    if (colorSpace !== 7) {
      read(1); // color_range
      if (profile === 1 || profile === 3) read(3); // subsampling_x, subsampling_y, reserved
    } else if (profile === 1 || profile === 3) read(1);
    return { profile, width: read(16) + 1, height: read(16) + 1 };
  } catch {
    return undefined;
  }
}

/** An Opus packet's duration from its TOC byte (RFC 6716 3.1), microseconds; undefined when malformed. */
export function opusPacketDurationUs(data: Uint8Array): number | undefined {
  const toc = data[0];
  if (toc === undefined) return undefined;
  const config = toc >> 3;
  const frameUs = config < 12 ? [10_000, 20_000, 40_000, 60_000][config % 4]! : config < 16 ? [10_000, 20_000][config % 2]! : [2_500, 5_000, 10_000, 20_000][config % 4]!;
  const code = toc & 3;
  const count = code === 0 ? 1 : code < 3 ? 2 : (data[1] ?? 0) & 0x3f;
  return count === 0 ? undefined : frameUs * count;
}
