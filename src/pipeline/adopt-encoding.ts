import { allowedCodecs, rawMediaOf } from '../config/outputs.js';
import { AUDIO_CODEC_OF, VIDEO_CODEC_OF, type EncodingOptions } from '../config/encoding.js';
import type { PipelineConfig } from '../config/pipeline-config.js';
import type { TrackInfo } from '../sources/track-info.js';
import { OPUS_RATES } from '../config/validate.js';

/**
 * The encoding a run uses: the config's, with the fields the caller left open taken from the tracks
 * the source declared. An export keeps its input's size, rate, layout and (when the container allows
 * it) codec unless told otherwise. Pure: the config is not changed.
 */
export function adoptedEncoding(config: PipelineConfig, tracks: readonly TrackInfo[]): EncodingOptions {
  const open = (k: keyof EncodingOptions): boolean => !config.encodingGiven.has(k);
  const e = { ...config.encoding };
  const video = tracks.find((t) => t.kind === 'video');
  const audio = tracks.find((t) => t.kind === 'audio');
  const allowed = allowedCodecs(config.outputs);
  if (video === undefined || allowed?.video.length === 0) {
    if (open('videoCodec')) e.videoCodec = null;
  } else if (video.kind === 'video') {
    if (open('width')) e.width = video.width & ~1;
    if (open('height')) e.height = video.height & ~1;
    if (open('fps')) e.fps = Math.max(1, Math.round(video.fps));
    const input = video.encoded === undefined ? undefined : VIDEO_CODEC_OF[video.encoded.codec];
    if (open('videoCodec') && allowed !== undefined) {
      e.videoCodec = input !== undefined && allowed.video.includes(input) ? input : allowed.video[0] ?? null;
    }
  }
  if (audio === undefined) {
    if (open('audioCodec')) e.audioCodec = null;
  } else if (audio.kind === 'audio') {
    const input = audio.encoded === undefined ? undefined : AUDIO_CODEC_OF[audio.encoded.codec];
    if (open('audioCodec') && allowed !== undefined) {
      e.audioCodec = input !== undefined && allowed.audio.includes(input) ? input : allowed.audio[0] ?? null;
    }
    // egress's websocket format is 48 kHz stereo whatever the input.
    const ws = config.outputs.some((o) => rawMediaOf(o) === 'audio');
    if (open('channels') && !ws) e.channels = Math.min(2, audio.channels);
    // Opus only takes a few rates: an input at 44.1 kHz becomes 48 kHz.
    if (open('sampleRate') && !ws) e.sampleRate = e.audioCodec === 'opus' && !OPUS_RATES.includes(audio.sampleRate) ? 48000 : audio.sampleRate;
  }
  return e;
}
