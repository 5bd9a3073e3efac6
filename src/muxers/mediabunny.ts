import { createRequire } from 'node:module';
import type * as Mediabunny from 'mediabunny';
import type { EncodedChunk } from '../media/encoded-chunk.js';
import type { AudioCodecName, VideoCodecName } from '../config/codecs.js';
import { usToSeconds } from '../time.js';
import { requireWithCodeCache } from '../code-cache.js';

/**
 * mediabunny, loaded from its single-file CommonJS bundle: Node loads that in about half the time of
 * the ESM build's many modules (50-80 ms against 145-180 ms here), and from a V8 code cache in about
 * two thirds of that (68 -> 41 ms), which is start-up every `avpipe` command pays. Every avpipe
 * module takes mediabunny from here, so all its objects come from one copy.
 */
const mb = loadMediabunny();

function loadMediabunny(): typeof Mediabunny {
  const require = createRequire(import.meta.url);
  try {
    return requireWithCodeCache(require.resolve('mediabunny')).exports as typeof Mediabunny;
  } catch {
    return require('mediabunny') as typeof Mediabunny;
  }
}

export const {
  ALL_FORMATS, BufferTarget, CmafOutputFormat, CustomSource, EncodedAudioPacketSource, EncodedPacket, EncodedPacketSink, EncodedVideoPacketSource,
  FilePathSource, Input, Mp4OutputFormat, MpegTsOutputFormat, NullTarget, OggOutputFormat, Output, StreamTarget, WebMOutputFormat,
} = mb;
export type Output = Mediabunny.Output;
export type Input = Mediabunny.Input;
export type EncodedAudioPacketSource = Mediabunny.EncodedAudioPacketSource;
export type EncodedVideoPacketSource = Mediabunny.EncodedVideoPacketSource;
export type {
  AudioCodec, InputAudioTrack, InputVideoTrack, OutputFormat, VideoCodec,
} from 'mediabunny';

/** avpipe's codec names -> mediabunny's. */
export const MB_VIDEO_CODEC: Readonly<Record<VideoCodecName, Mediabunny.VideoCodec>> = { h264: 'avc', vp8: 'vp8', vp9: 'vp9' };
export const MB_AUDIO_CODEC: Readonly<Record<AudioCodecName, Mediabunny.AudioCodec>> = { opus: 'opus', aac: 'aac' };

/** An avpipe chunk as a mediabunny packet (the bytes are not copied; times in seconds). */
export function toPacket(chunk: EncodedChunk): Mediabunny.EncodedPacket {
  return new mb.EncodedPacket(chunk.data, chunk.type, usToSeconds(chunk.timestamp), usToSeconds(chunk.duration ?? 0));
}
