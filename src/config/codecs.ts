/** Video codecs avpipe encodes. */
export const VIDEO_CODECS = ['h264', 'vp8', 'vp9'] as const;
/** A video codec avpipe encodes. */
export type VideoCodecName = (typeof VIDEO_CODECS)[number];

/** Audio codecs avpipe encodes. */
export const AUDIO_CODECS = ['opus', 'aac'] as const;
/** An audio codec avpipe encodes. */
export type AudioCodecName = (typeof AUDIO_CODECS)[number];

/** H.264 profiles that can be asked for; the file must hold the one asked. */
export const H264_PROFILES = ['baseline', 'main', 'high'] as const;
/** An H.264 profile. */
export type H264Profile = (typeof H264_PROFILES)[number];

/** x264's speed presets; libvpx speeds are mapped from these. */
export const SPEED_PRESETS = [
  'ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow',
] as const;
/** An encoder speed preset, named as x264 names them. */
export type SpeedPreset = (typeof SPEED_PRESETS)[number];

/** File containers avpipe writes. */
export const FILE_CONTAINERS = ['mp4', 'webm', 'ogg'] as const;
/** A file container avpipe writes. */
export type FileContainer = (typeof FILE_CONTAINERS)[number];

/**
 * Which codecs each container may hold: egress's table (Ogg: Opus; MP4: H.264, AAC, Opus;
 * WebM: VP8, VP9, Opus). The first of each list is the container's default.
 */
export const CONTAINER_CODECS: Readonly<Record<FileContainer, {
  /** Video codecs the container may hold, its default first; none for Ogg. */
  video: readonly VideoCodecName[];
  /** Audio codecs the container may hold, its default first. */
  audio: readonly AudioCodecName[];
}>> = {
  mp4: { video: ['h264'], audio: ['opus', 'aac'] },
  webm: { video: ['vp8', 'vp9'], audio: ['opus'] },
  ogg: { video: [], audio: ['opus'] },
};

/** libvpx cpu-used for each x264 preset name (higher is faster; VP9 takes at most 8). */
export const VPX_CPU_USED: Record<'vp8' | 'vp9', Record<SpeedPreset, number>> = {
  vp8: { ultrafast: 16, superfast: 12, veryfast: 8, faster: 6, fast: 4, medium: 3, slow: 2, slower: 1, veryslow: 0 },
  vp9: { ultrafast: 8, superfast: 8, veryfast: 7, faster: 6, fast: 5, medium: 4, slow: 2, slower: 1, veryslow: 0 },
};

/** Which codecs a pipeline runs on: native FFmpeg (node-av), WebAssembly only, or native when it loads. */
export type CodecProviderChoice = 'native' | 'wasm' | 'auto';

/** The codec provider choices, for validation and the CLI. */
export const CODEC_PROVIDER_CHOICES: readonly CodecProviderChoice[] = ['native', 'wasm', 'auto'];
