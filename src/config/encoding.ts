import type { AudioCodecName, H264Profile, SpeedPreset, VideoCodecName } from './codecs.js';
import { PRESETS, type PresetName } from './presets.js';

/** Encoding options: a preset, advanced fields, or a preset with some fields overridden. */
export interface EncodingInit {
  /** One of egress's presets; advanced fields given beside it override it. */
  preset?: PresetName;
  /** Frame width, pixels: even, 16 to 8192. Left open, the source's (1280 for the test source). */
  width?: number;
  /** Frame height, pixels: even, 16 to 8192. Left open, the source's (720 for the test source). */
  height?: number;
  /** Frames per second, a whole number from 1 to 240. Left open, the source's (30 for the test source). */
  fps?: number;
  /** Video codec, or `null` for an audio-only pipeline. */
  videoCodec?: VideoCodecName | null;
  /** Audio codec, or `null` for a video-only pipeline. */
  audioCodec?: AudioCodecName | null;
  /** The H.264 profile asked of the encoder (default `main`). */
  h264Profile?: H264Profile;
  /** Target video bitrate, kbps (default 3000). */
  videoBitrateKbps?: number;
  /** Target audio bitrate, kbps (default 128). */
  audioBitrateKbps?: number;
  /** Seconds between keyframes. */
  keyframeInterval?: number;
  /** Encoder speed preset, as x264 names them (egress uses `veryfast`). */
  speedPreset?: SpeedPreset;
  /** Audio samples per second, Hz: one the audio codec takes. Left open, the source's (48000 where Opus does not take the source's rate, or for a websocket output). */
  sampleRate?: number;
  /** Audio channels, 1 or 2. Left open, the source's, at most 2 (2 for a websocket output). */
  channels?: number;
  /**
   * An adaptive-bitrate ladder: the video encoded once per rendition, from one decode (the first is
   * the run's own encode: its size and bitrate are the encoding's), keyframes on one grid, the audio
   * encoded once and shared. An HLS output writes a master playlist over one media playlist each; a
   * file output takes the first, or the one it names.
   */
  renditions?: readonly RenditionInit[];
}

/** One rung of a ladder: a size and a video bitrate; `name` defaults to the height (`360p`). */
export interface RenditionInit {
  /** Names the rung's files and playlist, and a file output's `rendition`: 1 to 32 letters, digits, `_` or `-`. */
  name?: string;
  /** Frame width, pixels: even, at least 16, no larger than the first rung's. */
  width: number;
  /** Frame height, pixels: even, at least 16, no larger than the first rung's. */
  height: number;
  /** Default: the encoding's, scaled by the rung's share of the first rung's pixels. */
  videoBitrateKbps?: number;
}

/** A rung of a ladder, every field decided. */
export interface Rendition {
  /** The rung's name, in its file and playlist names (default the height: `360p`). */
  name: string;
  /** Frame width, pixels. */
  width: number;
  /** Frame height, pixels. */
  height: number;
  /** Target video bitrate, kbps. */
  videoBitrateKbps: number;
}

/** Encoding options with every field decided. */
export interface EncodingOptions {
  /** Frame width, pixels. */
  width: number;
  /** Frame height, pixels. */
  height: number;
  /** Frames per second. */
  fps: number;
  /** Video codec; `null`: no video is made. */
  videoCodec: VideoCodecName | null;
  /** Audio codec; `null`: no audio is made. */
  audioCodec: AudioCodecName | null;
  /** The H.264 profile asked of the encoder. */
  h264Profile: H264Profile;
  /** Target video bitrate, kbps. */
  videoBitrateKbps: number;
  /** Target audio bitrate, kbps. */
  audioBitrateKbps: number;
  /** Seconds between keyframes (a run with a segments output shortens it to divide the segment length). */
  keyframeInterval: number;
  /** Encoder speed preset, as x264 names them. */
  speedPreset: SpeedPreset;
  /** Audio samples per second, Hz. */
  sampleRate: number;
  /** Audio channels, 1 or 2. */
  channels: number;
  /** The ladder; empty for a single encode. */
  renditions: readonly Rendition[];
}

/** Defaults for everything a config may leave out. */
export const DEFAULT_ENCODING: EncodingOptions = {
  width: 1280,
  height: 720,
  fps: 30,
  videoCodec: 'h264',
  audioCodec: 'opus',
  h264Profile: 'main',
  videoBitrateKbps: 3000,
  audioBitrateKbps: 128,
  keyframeInterval: 2,
  speedPreset: 'veryfast',
  sampleRate: 48000,
  channels: 2,
  renditions: [],
};

/** mediabunny codec names -> avpipe's, for the codecs avpipe can also write. */
export const VIDEO_CODEC_OF: Readonly<Record<string, VideoCodecName>> = { avc: 'h264', vp8: 'vp8', vp9: 'vp9' };
/** mediabunny codec names -> avpipe's. */
export const AUDIO_CODEC_OF: Readonly<Record<string, AudioCodecName>> = { opus: 'opus', aac: 'aac' };

/** The encoding fields an init sets, directly or through its preset. @internal */
export function givenEncodingFields(init: EncodingInit = {}): Set<keyof EncodingOptions> {
  const given = new Set(Object.entries(init).filter(([k, v]) => k !== 'preset' && v !== undefined).map(([k]) => k as keyof EncodingOptions));
  if (init.preset !== undefined) for (const k of ['width', 'height', 'fps', 'videoBitrateKbps', 'audioBitrateKbps'] as const) given.add(k);
  if ((init.renditions?.length ?? 0) > 0) for (const k of ['width', 'height', 'videoBitrateKbps'] as const) given.add(k);
  return given;
}

/**
 * Fills an encoding init from its preset and the defaults; codecs left open default to the first
 * ones every output takes (WebM: VP8 + Opus; Ogg: no video; MP4 beside HLS: H.264 + AAC).
 * @internal
 */
export function resolveEncoding(init: EncodingInit = {}, allowed?: { video: readonly VideoCodecName[]; audio: readonly AudioCodecName[] }): EncodingOptions {
  const preset = init.preset === undefined ? undefined : PRESETS[init.preset];
  const fromPreset: Partial<EncodingOptions> = preset === undefined ? {} : {
    width: preset.width, height: preset.height, fps: preset.fps,
    videoBitrateKbps: preset.videoBitrateKbps, audioBitrateKbps: preset.audioBitrateKbps,
  };
  const given = Object.fromEntries(Object.entries(init).filter(([k, v]) => k !== 'preset' && v !== undefined));
  const byContainer: Partial<EncodingOptions> = allowed === undefined ? {} : {
    videoCodec: allowed.video[0] ?? null,
    audioCodec: allowed.audio[0] ?? null,
  };
  const e = { ...DEFAULT_ENCODING, ...byContainer, ...fromPreset, ...given } as EncodingOptions;
  const ladder = init.renditions ?? [];
  if (ladder.length === 0) return { ...e, renditions: [] };
  // The first rung is the run's own encode; the others' bitrates default to the first's by their pixels.
  const first = ladder[0]!;
  const topKbps = first.videoBitrateKbps ?? e.videoBitrateKbps;
  const renditions = ladder.map((r) => ({
    name: r.name ?? `${r.height}p`, width: r.width, height: r.height,
    videoBitrateKbps: r.videoBitrateKbps ?? Math.max(100, Math.round((topKbps * r.width * r.height) / (first.width * first.height))),
  }));
  return { ...e, width: first.width, height: first.height, videoBitrateKbps: topKbps, renditions };
}
