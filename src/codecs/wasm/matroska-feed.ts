import { AvpipeError } from '../../errors.js';
import type { EncodedChunk } from '../../media/encoded-chunk.js';
import { opusHead } from '../opus-head.js';
import { concatBytes } from '../../bytes.js';

/**
 * Matroska is how chunks reach ffmpeg.wasm's decoders (and raw frames its encoders): it names the codec, carries its
 * private data (avcC, AudioSpecificConfig, OpusHead, ...) and a timestamp and key flag per chunk, and
 * ffmpeg reads it as a stream. This is the least of it that ffmpeg needs: one track, then one
 * Cluster per chunk, timestamps in microseconds (TimestampScale 1000 ns) shifted by
 * {@link FEED_BASE_US} so that a negative one (an Opus pre-skip) stays unsigned.
 */
export const FEED_BASE_US = 10_000_000_000;

/** The track a feed carries: a WebCodecs decoder config. */
export interface FeedTrack {
  codec: string;
  description?: Uint8Array;
  codedWidth?: number;
  codedHeight?: number;
  sampleRate?: number;
  numberOfChannels?: number;
  /** Video: the nominal frame rate (Matroska's DefaultDuration). Encoders size their per-frame bit budget by it. */
  framerate?: number;
}

/** A Matroska codec: its CodecID, CodecPrivate and (PCM) bit depth. */
interface MatroskaCodec {
  id: string;
  kind: 'video' | 'audio';
  private?: Uint8Array;
  bitDepth?: number;
}

/** WebCodecs codec strings -> Matroska codecs. */
const CODECS: readonly [RegExp, string, 'video' | 'audio', number?][] = [
  // Raw frames (the wasm encoders' input): WebCodecs' pixel format name, a FourCC in ColourSpace.
  [/^I420$/, 'V_UNCOMPRESSED', 'video'],
  [/^(avc1|avc3)\b/, 'V_MPEG4/ISO/AVC', 'video'], [/^(hev1|hvc1)\b/, 'V_MPEGH/ISO/HEVC', 'video'], [/^vp8$/, 'V_VP8', 'video'], [/^vp09\b|^vp9$/, 'V_VP9', 'video'],
  [/^mp4a\.40\.\d+$|^aac$/, 'A_AAC', 'audio'], [/^mp4a\.(6b|69)$|^mp3$/, 'A_MPEG/L3', 'audio'], [/^opus$/, 'A_OPUS', 'audio'], [/^vorbis$/, 'A_VORBIS', 'audio'],
  [/^flac$/, 'A_FLAC', 'audio'], [/^pcm-u8$/, 'A_PCM/INT/LIT', 'audio', 8], [/^pcm-s16$/, 'A_PCM/INT/LIT', 'audio', 16], [/^pcm-s16be$/, 'A_PCM/INT/BIG', 'audio', 16],
  [/^pcm-s24$/, 'A_PCM/INT/LIT', 'audio', 24], [/^pcm-s32$/, 'A_PCM/INT/LIT', 'audio', 32], [/^pcm-f32$/, 'A_PCM/FLOAT/IEEE', 'audio', 32],
  [/^ulaw$/, 'A_MS/ACM', 'audio', 8], [/^alaw$/, 'A_MS/ACM', 'audio', 8],
  // Broadcast audio: the bitstreams carry their own configuration.
  [/^ac-3$/, 'A_AC3', 'audio'], [/^ec-3$/, 'A_EAC3', 'audio'], [/^dts[chle]$/, 'A_DTS', 'audio'],
  // Tracks FFmpeg's demuxer read (named by FFmpeg's decoder): what Matroska can name.
  [/^ffmpeg:mpeg2video$/, 'V_MPEG2', 'video'], [/^ffmpeg:mpeg1video$/, 'V_MPEG1', 'video'], [/^ffmpeg:mpeg4$/, 'V_MPEG4/ISO/ASP', 'video'],
  [/^ffmpeg:h264$/, 'V_MPEG4/ISO/AVC', 'video'], [/^ffmpeg:hevc$/, 'V_MPEGH/ISO/HEVC', 'video'],
  [/^ffmpeg:(mp3|mp3float)$/, 'A_MPEG/L3', 'audio'], [/^ffmpeg:(mp2|mp2float)$/, 'A_MPEG/L2', 'audio'], [/^ffmpeg:aac$/, 'A_AAC', 'audio'],
  [/^ffmpeg:ac3$/, 'A_AC3', 'audio'], [/^ffmpeg:eac3$/, 'A_EAC3', 'audio'], [/^ffmpeg:dca$/, 'A_DTS', 'audio'],
  [/^ffmpeg:vp8$/, 'V_VP8', 'video'], [/^ffmpeg:vp9$/, 'V_VP9', 'video'], [/^ffmpeg:mjpeg$/, 'V_MJPEG', 'video'],
  [/^ffmpeg:(opus|libopus)$/, 'A_OPUS', 'audio'], [/^ffmpeg:vorbis$/, 'A_VORBIS', 'audio'], [/^ffmpeg:flac$/, 'A_FLAC', 'audio'],
  [/^ffmpeg:pcm_u8$/, 'A_PCM/INT/LIT', 'audio', 8], [/^ffmpeg:pcm_s16le$/, 'A_PCM/INT/LIT', 'audio', 16], [/^ffmpeg:pcm_s16be$/, 'A_PCM/INT/BIG', 'audio', 16],
  [/^ffmpeg:pcm_s24le$/, 'A_PCM/INT/LIT', 'audio', 24], [/^ffmpeg:pcm_s32le$/, 'A_PCM/INT/LIT', 'audio', 32], [/^ffmpeg:pcm_f32le$/, 'A_PCM/FLOAT/IEEE', 'audio', 32],
];

/** The Matroska codec for a decoder config, or undefined when the feed cannot carry it. */
export function matroskaCodecFor(track: FeedTrack): MatroskaCodec | undefined {
  const hit = CODECS.find(([re]) => re.test(track.codec));
  if (hit === undefined) return undefined;
  const [, id, kind, bitDepth] = hit;
  let priv = track.description;
  // An Opus stream without an OpusHead (WebRTC): mapping family 0, no pre-skip to apply.
  if (id === 'A_OPUS' && priv === undefined) priv = opusHead(track.numberOfChannels ?? 2, 0);
  // G.711 has no Matroska CodecID of its own: a WAVEFORMATEX names it (7: mu-law, 6: A-law).
  if (id === 'A_MS/ACM') priv = waveFormatEx(track.codec === 'ulaw' ? 7 : 6, track.numberOfChannels ?? 1, track.sampleRate ?? 8000);
  return { id, kind, ...(priv === undefined ? {} : { private: priv }), ...(bitDepth === undefined ? {} : { bitDepth }) };
}

/** The EBML header, a Segment of unknown size, its Info and the one track. */
export function matroskaHeader(track: FeedTrack): Uint8Array {
  const codec = matroskaCodecFor(track);
  if (codec === undefined) throw new AvpipeError('SOURCE_FAILED', `the wasm decoders cannot read codec "${track.codec}"`, { fatal: true });
  const ebml = element(0x1a45dfa3, [
    uintElement(0x4286, 1), uintElement(0x42f7, 1), uintElement(0x42f2, 4), uintElement(0x42f3, 8),
    stringElement(0x4282, 'matroska'), uintElement(0x4287, 4), uintElement(0x4285, 2),
  ]);
  const info = element(0x1549a966, [uintElement(0x2ad7b1, 1000), stringElement(0x4d80, 'avpipe'), stringElement(0x5741, 'avpipe')]);
  const media = codec.kind === 'video'
    ? element(0xe0, [uintElement(0xb0, track.codedWidth ?? 0), uintElement(0xba, track.codedHeight ?? 0), ...(codec.id === 'V_UNCOMPRESSED' ? [element(0x2eb524, [new TextEncoder().encode(track.codec)])] : [])])
    : element(0xe1, [floatElement(0xb5, track.sampleRate ?? 48000), uintElement(0x9f, track.numberOfChannels ?? 2), ...(codec.bitDepth === undefined ? [] : [uintElement(0x6264, codec.bitDepth)])]);
  const entry = element(0xae, [
    uintElement(0xd7, 1), uintElement(0x73c5, 1), uintElement(0x83, codec.kind === 'video' ? 1 : 2), stringElement(0x86, codec.id),
    ...(track.framerate === undefined ? [] : [uintElement(0x23e383, Math.round(1e9 / track.framerate))]),
    ...(codec.private === undefined ? [] : [element(0x63a2, [codec.private])]), media,
  ]);
  const tracks = element(0x1654ae6b, [entry]);
  // A Segment of unknown size: the feed ends when its input does.
  const segment = concatBytes([idBytes(0x18538067), new Uint8Array([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]);
  return concatBytes([ebml, segment, info, tracks]);
}

/** One chunk as a Cluster holding one SimpleBlock: the framing, then the chunk's bytes (not copied). */
export function matroskaBlock(chunk: EncodedChunk): Uint8Array[] {
  return matroskaFrame(chunk.timestamp, chunk.type === 'key', [chunk.data]);
}

/** A frame at `timestamp` made of `parts` (a raw frame's planes, say) as one Cluster: the framing, then the parts (not copied). */
export function matroskaFrame(timestamp: number, key: boolean, parts: readonly Uint8Array[]): Uint8Array[] {
  const bytes = parts.reduce((n, p) => n + p.length, 0);
  const time = uintElement(0xe7, timestamp + FEED_BASE_US);
  const blockSize = sizeBytes(4 + bytes);
  const clusterSize = sizeBytes(time.length + 1 + blockSize.length + 4 + bytes);
  // Track 1, no relative timestamp, the keyframe flag.
  const blockHead = new Uint8Array([0x81, 0, 0, key ? 0x80 : 0]);
  return [concatBytes([idBytes(0x1f43b675), clusterSize, time, new Uint8Array([0xa3]), blockSize, blockHead]), ...parts];
}

/** A WAVEFORMATEX for an 8-bit G.711 stream. */
function waveFormatEx(tag: number, channels: number, rate: number): Uint8Array {
  const b = new Uint8Array(18);
  const v = new DataView(b.buffer);
  v.setUint16(0, tag, true);
  v.setUint16(2, channels, true);
  v.setUint32(4, rate, true);
  v.setUint32(8, rate * channels, true);
  v.setUint16(12, channels, true);
  v.setUint16(14, 8, true);
  return b;
}

function element(id: number, body: readonly Uint8Array[]): Uint8Array {
  const data = concatBytes(body);
  return concatBytes([idBytes(id), sizeBytes(data.length), data]);
}

function uintElement(id: number, value: number): Uint8Array {
  const bytes: number[] = [];
  let v = value;
  do {
    bytes.unshift(v % 256);
    v = Math.floor(v / 256);
  } while (v > 0);
  return element(id, [new Uint8Array(bytes)]);
}

function floatElement(id: number, value: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, value);
  return element(id, [b]);
}

function stringElement(id: number, value: string): Uint8Array {
  return element(id, [new TextEncoder().encode(value)]);
}

/** An element ID's bytes (IDs carry their own length marker). */
function idBytes(id: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return new Uint8Array(bytes);
}

/** A data size as an EBML variable-length integer, in the fewest bytes. */
function sizeBytes(n: number): Uint8Array {
  let length = 1;
  while (n >= 2 ** (7 * length) - 1) length++;
  const out = new Uint8Array(length);
  let v = n;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  out[0]! |= 1 << (8 - length);
  return out;
}

