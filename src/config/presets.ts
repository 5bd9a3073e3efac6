/** Egress's encoding presets (EncodingOptionsPreset), by name. */
export const PRESET_NAMES = [
  'H264_720P_30',
  'H264_720P_60',
  'H264_1080P_30',
  'H264_1080P_60',
  'PORTRAIT_H264_720P_30',
  'PORTRAIT_H264_720P_60',
  'PORTRAIT_H264_1080P_30',
  'PORTRAIT_H264_1080P_60',
] as const;

/** The name of one of egress's encoding presets. */
export type PresetName = (typeof PRESET_NAMES)[number];

/** What a preset sets. Bitrates in kbps, as egress states them. */
export interface Preset {
  /** Frame width, pixels. */
  width: number;
  /** Frame height, pixels. */
  height: number;
  /** Frames per second. */
  fps: number;
  /** Video bitrate, kbps. */
  videoBitrateKbps: number;
  /** Audio bitrate, kbps. */
  audioBitrateKbps: number;
}

const landscape: Record<'720P_30' | '720P_60' | '1080P_30' | '1080P_60', Preset> = {
  '720P_30': { width: 1280, height: 720, fps: 30, videoBitrateKbps: 3000, audioBitrateKbps: 128 },
  '720P_60': { width: 1280, height: 720, fps: 60, videoBitrateKbps: 4500, audioBitrateKbps: 128 },
  '1080P_30': { width: 1920, height: 1080, fps: 30, videoBitrateKbps: 4500, audioBitrateKbps: 128 },
  '1080P_60': { width: 1920, height: 1080, fps: 60, videoBitrateKbps: 6000, audioBitrateKbps: 128 },
};

/** Every preset, keyed by name; portrait variants swap width and height. */
export const PRESETS: Readonly<Record<PresetName, Preset>> = Object.fromEntries(
  PRESET_NAMES.map((name) => {
    const portrait = name.startsWith('PORTRAIT_');
    const key = name.replace('PORTRAIT_', '').replace('H264_', '') as keyof typeof landscape;
    const p = landscape[key];
    return [name, portrait ? { ...p, width: p.height, height: p.width } : p];
  }),
) as Record<PresetName, Preset>;

/** True when `name` is a preset name. */
export function isPresetName(name: string): name is PresetName {
  return (PRESET_NAMES as readonly string[]).includes(name);
}
