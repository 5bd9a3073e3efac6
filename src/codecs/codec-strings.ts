import type { AudioCodecName, H264Profile, VideoCodecName } from '../config/codecs.js';

const H264_PROFILE_IDC: Record<H264Profile, number> = { baseline: 0x42, main: 0x4d, high: 0x64 };
const H264_PROFILE_NAMES: Record<number, H264Profile> = { 0x42: 'baseline', 0x4d: 'main', 0x64: 'high' };

/** Smallest H.264 level (as level_idc) whose limits hold a size and rate, from the spec's table A-1. */
export function h264Level(width: number, height: number, fps: number): number {
  const mbs = Math.ceil(width / 16) * Math.ceil(height / 16);
  const mbps = mbs * fps;
  const table: [number, number, number][] = [
    [30, 1620, 40500], [31, 3600, 108000], [32, 5120, 216000], [40, 8192, 245760],
    [42, 8704, 522240], [50, 22080, 589824], [51, 36864, 983040], [52, 36864, 2073600],
  ];
  for (const [level, maxFs, maxMbps] of table) if (mbs <= maxFs && mbps <= maxMbps) return level;
  return 60;
}

/** The WebCodecs codec string for an avpipe codec choice. */
export function videoCodecString(codec: VideoCodecName, profile: H264Profile, width: number, height: number, fps: number): string {
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  switch (codec) {
    case 'h264': return `avc1.${hex(H264_PROFILE_IDC[profile])}00${hex(h264Level(width, height, fps))}`;
    case 'vp8': return 'vp8';
    case 'vp9': return 'vp09.00.10.08';
  }
}

/** The WebCodecs codec string for an audio codec. */
export function audioCodecString(codec: AudioCodecName): string {
  return codec === 'aac' ? 'mp4a.40.2' : 'opus';
}

/** The H.264 profile a WebCodecs `avc1.PPCCLL` string asks for, or undefined for unknown ones. */
export function h264ProfileOf(codec: string): H264Profile | undefined {
  const m = /^avc1\.([0-9a-f]{2})/i.exec(codec);
  return m?.[1] === undefined ? undefined : H264_PROFILE_NAMES[parseInt(m[1], 16)];
}

/**
 * The codec string the stream really has, read from the first SPS in an Annex B access unit.
 * Trusting the string that was asked for is how files end up labelled with the wrong profile.
 */
export function avcCodecStringFromAnnexB(data: Uint8Array): string | undefined {
  for (let i = 0; i + 4 < data.length; i++) {
    if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 1 && ((data[i + 3] ?? 0) & 0x1f) === 7) {
      const b = data.subarray(i + 4, i + 7);
      if (b.length < 3) return undefined;
      return `avc1.${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
    }
  }
  return undefined;
}
