import { createRequire } from 'node:module';
import type * as Mediabunny from 'mediabunny';

/**
 * mediabunny, loaded from its single-file CommonJS bundle: Node loads that in about half the time of
 * the ESM build's many modules (50-80 ms against 145-180 ms here), which is start-up every `avpipe`
 * command pays. Every avpipe module takes mediabunny from here, so all its objects come from one copy.
 */
const mb = createRequire(import.meta.url)('mediabunny') as typeof Mediabunny;

export const {
  ALL_FORMATS, BufferTarget, CmafOutputFormat, EncodedAudioPacketSource, EncodedPacket, EncodedPacketSink, EncodedVideoPacketSource,
  FilePathSource, Input, Mp4OutputFormat, MpegTsOutputFormat, NullTarget, OggOutputFormat, Output, StreamTarget, WebMOutputFormat,
} = mb;
export type Output = Mediabunny.Output;
export type Input = Mediabunny.Input;
export type EncodedAudioPacketSource = Mediabunny.EncodedAudioPacketSource;
export type EncodedVideoPacketSource = Mediabunny.EncodedVideoPacketSource;
export type {
  AudioCodec, InputAudioTrack, InputVideoTrack, OutputFormat, VideoCodec,
} from 'mediabunny';
