import type { FormatContext, Packet } from 'node-av/lib';
import { loadNodeAv, type NodeAv } from '../codecs/native/node-av-loader.js';
import type { DemuxedPacket, DemuxedTrack, InputDemuxer, PacketsFrom } from './input-demuxer.js';
import type { TrackInfo } from './track-info.js';

/** A track read through FFmpeg's demuxer: decoded by the FFmpeg decoder its codec names, never copied. */
const NO_COPY = 'it is read through FFmpeg\'s demuxer (a container or codec mediabunny does not read), whose packets avpipe decodes but does not copy';

/**
 * The containers FFmpeg's demuxer is trusted with: those of recorded media (a file FFmpeg reads as
 * anything else, say a text file as ANSI art, is not media avpipe takes).
 */
const FORMATS = new Set(['avi', 'mpeg', 'mpegts', 'matroska,webm', 'mov,mp4,m4a,3gp,3g2,mj2', 'flv', 'asf']);
/** Those of them whose durations are stated (in a header written at the end), not estimated. */
const STATED = new Set(['matroska,webm', 'mov,mp4,m4a,3gp,3g2,mj2']);

/** The decoders tracks read through it may use: video and audio codecs of recorded media, nothing exotic. */
const DECODERS = new Set([
  'ffv1',
  'mpeg1video', 'mpeg2video', 'mpeg4', 'msmpeg4', 'msmpeg4v2', 'h263', 'h264', 'hevc', 'vp8', 'vp9', 'libdav1d', 'av1', 'mjpeg', 'prores', 'dvvideo', 'wmv2', 'wmv3', 'vc1',
  'mp1', 'mp1float', 'mp2', 'mp2float', 'mp3', 'mp3float', 'aac', 'ac3', 'eac3', 'dca', 'truehd', 'opus', 'libopus', 'vorbis', 'flac', 'alac', 'wmav2',
  'pcm_u8', 'pcm_s8', 'pcm_s16le', 'pcm_s16be', 'pcm_s24le', 'pcm_s24be', 'pcm_s32le', 'pcm_s32be', 'pcm_f32le', 'pcm_f32be', 'pcm_f64le', 'pcm_f64be',
  'pcm_mulaw', 'pcm_alaw', 'pcm_dvd', 'pcm_bluray', 'adpcm_ima_wav', 'adpcm_ms',
]);

/** A seek goes this far before the point asked for, and reads forward to it. */
const SEEK_MARGIN_S = 5;

/** What FFmpeg's demuxer sees in a file: its video and audio streams (those FFmpeg can decode). */
export interface LibavProbe {
  demuxer: InputDemuxer;
  video: number;
  audio: number;
  /** Streams FFmpeg sees but has no decoder for: `video track 2 (codec xyz)`. */
  undecodable: string[];
}

/**
 * Opens `path` with the FFmpeg inside node-av (libavformat): for what mediabunny does not read, as
 * AVI, MPEG program streams, or a track of a codec it does not name (MPEG-2 and MPEG-4 Part 2 video,
 * in MPEG-TS, Matroska or MP4). Each track's packets come from a demuxer of their own (opened per
 * read, as mediabunny's sinks are), in the stream's order, timed in seconds. Undefined when FFmpeg
 * cannot open it either (or node-av is not there).
 */
export async function probeWithLibav(path: string): Promise<LibavProbe | undefined> {
  let av: NodeAv;
  try {
    av = await loadNodeAv();
  } catch {
    return undefined;
  }
  const ctx = await openContext(av, path);
  if (ctx === undefined) return undefined;
  const C = av.constants;
  try {
    const format = ctx.iformat?.name ?? '';
    if (!FORMATS.has(format)) return undefined;
    // Matroska and MP4 state durations; FFmpeg estimates the others' (from a bit rate, a header a cut
    // file no longer matches): those are read from the packets.
    const states = STATED.has(format);
    const tracks: DemuxedTrack[] = [];
    const undecodable: string[] = [];
    let number = 0;
    for (const s of ctx.streams) {
      const par = s.codecpar;
      const kind = par.codecType === C.AVMEDIA_TYPE_VIDEO ? 'video' : par.codecType === C.AVMEDIA_TYPE_AUDIO ? 'audio' : undefined;
      if (kind === undefined) continue;
      number++;
      // A stream FFmpeg found no parameters for (no picture size, no sample rate) has nothing to decode.
      if (kind === 'video' ? par.width <= 0 || par.height <= 0 : par.sampleRate <= 0 || par.channels <= 0) continue;
      const decoder = av.lib.Codec.findDecoder(par.codecId);
      if (decoder === null || decoder.name === null || !DECODERS.has(decoder.name)) {
        undecodable.push(`${kind} track ${number} (codec ${String(av.lib.Codec.findDecoder(par.codecId)?.name ?? par.codecId)})`);
        continue;
      }
      const codec = `ffmpeg:${decoder.name}`;
      const description = par.extradata === null || par.extradata.length === 0 ? {} : { description: new Uint8Array(par.extradata) };
      const tb = s.timeBase;
      // Where the track ends (its start plus its duration), as mediabunny states it.
      const streamStart = s.startTime === C.AV_NOPTS_VALUE ? 0n : s.startTime;
      const duration = states && s.duration > 0n ? Number(streamStart + s.duration) * tb.num / tb.den : null;
      let info: TrackInfo;
      if (kind === 'video') {
        const rate = s.avgFrameRate.den > 0 ? s.avgFrameRate.num / s.avgFrameRate.den : s.rFrameRate.den > 0 ? s.rFrameRate.num / s.rFrameRate.den : 0;
        const fps = rate >= 1 && rate <= 240 ? Math.round(rate) : 30;
        info = { id: '', kind: 'video', width: par.width, height: par.height, fps, encoded: { codec, noCopy: NO_COPY, decoderConfig: { codec, codedWidth: par.width, codedHeight: par.height, ...description } } };
      } else {
        info = { id: '', kind: 'audio', sampleRate: par.sampleRate, channels: par.channels, encoded: { codec, noCopy: NO_COPY, decoderConfig: { codec, sampleRate: par.sampleRate, numberOfChannels: par.channels, ...description } } };
      }
      const index = s.index;
      tracks.push({
        info, number, declaredEnd: kind === 'video' ? duration : null,
        packets: (from?: PacketsFrom) => packetsOf(av, path, index, from),
      });
    }
    const start = ctx.startTime === C.AV_NOPTS_VALUE ? 0 : Number(ctx.startTime) / 1e6;
    const stated = states && ctx.duration > 0n && ctx.duration !== C.AV_NOPTS_VALUE ? Number(ctx.duration) / 1e6 : undefined;
    const reading = new Set<AsyncGenerator<DemuxedPacket, void, unknown>>();
    const demuxer: InputDemuxer = {
      firstTimestamp: start,
      // Where the input ends (not how long it is), as mediabunny gives it.
      duration: async () => (stated === undefined ? await scanEnd(av, path) : start + stated),
      tracks: async () => tracks.map((t) => ({
        ...t,
        packets: (from?: PacketsFrom) => {
          const g = t.packets(from);
          reading.add(g);
          return g;
        },
      })),
      // What is still being read is closed (its demuxer and file), not left to the garbage collector.
      dispose: () => {
        for (const g of reading) void g.return(undefined).catch(() => undefined);
        reading.clear();
      },
    };
    return { demuxer, video: tracks.filter((t) => t.info.kind === 'video').length, audio: tracks.filter((t) => t.info.kind === 'audio').length, undecodable };
  } finally {
    await ctx.closeInput();
  }
}

async function openContext(av: NodeAv, path: string): Promise<FormatContext | undefined> {
  const ctx = new av.lib.FormatContext();
  // Only local files and the trusted containers (a playlist or image sequence pointing elsewhere is not
  // followed); presentation times made up where the container leaves them out (B-frames in AVI, MPEG-PS).
  const options = av.lib.Dictionary.fromObject({ protocol_whitelist: 'file', format_whitelist: [...FORMATS].join(','), fflags: '+genpts' });
  const opened = await ctx.openInput(`file:${path}`, null, options);
  options.free();
  if (opened < 0) {
    ctx.freeContext();
    return undefined;
  }
  if ((await ctx.findStreamInfo(null)) < 0) {
    await ctx.closeInput();
    return undefined;
  }
  return ctx;
}

/** Stream `index`'s packets, from the keyframe (or packet) at or before `from` when given. */
async function* packetsOf(av: NodeAv, path: string, index: number, from?: PacketsFrom): AsyncGenerator<DemuxedPacket, void, unknown> {
  const ctx = await openContext(av, path);
  if (ctx === undefined) throw new Error('FFmpeg could not open it again');
  const C = av.constants;
  const packet = new av.lib.Packet();
  packet.alloc();
  try {
    const stream = ctx.streams.find((s) => s.index === index)!;
    const tb = stream.timeBase;
    const seconds = (t: bigint): number => Number(t) * tb.num / tb.den;
    // From a point: seek well before it (container seeks are approximate: MPEG-TS's by bytes), then
    // hold what is read from the last keyframe (or packet) at or before it until a later keyframe (or
    // packet) settles it, as the PacketsFrom contract asks.
    let held: DemuxedPacket[] | undefined;
    if (from !== undefined && from.seconds > 0) {
      held = [];
      await ctx.seekFrame(index, BigInt(Math.floor(((from.seconds - SEEK_MARGIN_S) * tb.den) / tb.num)), C.AVSEEK_FLAG_BACKWARD);
    }
    const starts = (p: DemuxedPacket): boolean => !from!.key || p.type === 'key';
    let last: number | undefined;
    for (;;) {
      const ret = await ctx.readFrame(packet);
      if (ret === C.AVERROR_EOF) break;
      if (ret < 0) throw new Error(`FFmpeg's demuxer failed (error ${ret})`);
      const out = packet.streamIndex === index ? toDemuxed(packet, seconds, C.AV_NOPTS_VALUE, last) : undefined;
      packet.unref();
      if (out === undefined) continue;
      last = out.timestamp;
      if (held !== undefined) {
        if (starts(out) && out.timestamp <= from!.seconds) held = [out];
        else if (starts(out) && out.timestamp > from!.seconds) {
          // Settled: what is held (nothing when the seek landed past the point), then this on.
          yield* held;
          held = undefined;
          yield out;
        } else if (held.length > 0) held.push(out);
        continue;
      }
      yield out;
    }
    if (held !== undefined) yield* held;
  } finally {
    packet.free();
    await ctx.closeInput();
  }
}

/** A packet in seconds (its presentation time, its decode time where it has none); undefined without data. */
function toDemuxed(p: Packet, seconds: (t: bigint) => number, nopts: bigint, last: number | undefined): DemuxedPacket | undefined {
  const data = p.data;
  if (data === null || data.length === 0) return undefined;
  const ts = p.pts !== nopts ? p.pts : p.dts;
  const duration = p.duration > 0n ? seconds(p.duration) : 0;
  const timestamp = ts !== nopts ? seconds(ts) : last !== undefined ? last + duration : 0;
  return { type: p.isKeyframe ? 'key' : 'delta', timestamp, duration, data: new Uint8Array(data) };
}

/** Where the last packet of any stream ends (seconds), for a container that states no duration. */
async function scanEnd(av: NodeAv, path: string): Promise<number> {
  const ctx = await openContext(av, path);
  if (ctx === undefined) return 0;
  const C = av.constants;
  const packet = new av.lib.Packet();
  packet.alloc();
  let end = 0;
  try {
    while ((await ctx.readFrame(packet)) >= 0) {
      const s = ctx.streams.find((x) => x.index === packet.streamIndex);
      const ts = packet.pts !== C.AV_NOPTS_VALUE ? packet.pts : packet.dts;
      if (s !== undefined && ts !== C.AV_NOPTS_VALUE) end = Math.max(end, (Number(ts + (packet.duration > 0n ? packet.duration : 0n)) * s.timeBase.num) / s.timeBase.den);
      packet.unref();
    }
  } finally {
    packet.free();
    await ctx.closeInput();
  }
  return end;
}
