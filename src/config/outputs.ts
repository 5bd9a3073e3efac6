import { redactUrl } from './redact.js';
import { CONTAINER_CODECS, FILE_CONTAINERS, type AudioCodecName, type FileContainer, type VideoCodecName } from './codecs.js';

/** HLS segment containers: MPEG-TS, or fragmented MP4 (CMAF). */
export type SegmentFormat = 'ts' | 'fmp4';
/** Thumbnail image formats. */
export type ImageFormat = 'jpeg' | 'png';

/** A file output: one MP4, WebM or Ogg file. */
export interface FileOutputInit {
  /** The file to write; its extension (.mp4, .webm, .ogg) names the container. A `.m3u8` path is a segments output, a .jpg/.png template with `%d` an images output. */
  path: string;
  /** The container, for a path whose extension does not name one. */
  container?: FileContainer;
  /** With `encoding.renditions`: the rendition the file takes, by name (default the first). */
  rendition?: string;
}

/** HLS: a playlist and its segments beside it. */
export interface SegmentsOutputInit {
  /** The playlist: an EVENT playlist that grows while running (live or not), closed with ENDLIST. */
  playlist: string;
  /** Target segment length in seconds (default 4). Keyframes are placed on every boundary. */
  segmentDuration?: number;
  /** `ts` (default) or `fmp4` (CMAF: one init segment, one fragment per segment). */
  segmentFormat?: SegmentFormat;
  /** Segment file names, relative to the playlist, with one printf-style `%d`/`%05d` (default `<playlist>_%05d.ts|m4s`). */
  segmentTemplate?: string;
  /** A second playlist with a sliding window of the newest segments (egress's live playlist); live runs only. */
  livePlaylist?: string;
  /** Segments the live playlist keeps (default 6). */
  liveWindow?: number;
  /** Wall-clock date of media time 0, for EXT-X-PROGRAM-DATE-TIME (default: when the run goes active). */
  startDate?: Date;
}

/** Thumbnails: a still image every `interval` seconds of media time. */
export interface ImagesOutputInit {
  /** File name template with one `%d`/`%05d`, e.g. `thumbs/img_%05d.jpg`; the extension picks the format. */
  images: string;
  /** Seconds of media time between images (default 10). */
  interval?: number;
  /** Image width, pixels, even; with `height` left out the height follows the video's aspect (default: the video's size). */
  width?: number;
  /** Image height, pixels, even; with `width` left out the width follows the video's aspect (default: the video's size). */
  height?: number;
}

/** A stream output, from the URL scheme: rtmp(s)://, srt://, ws(s)://. */
export interface StreamOutputInit {
  /** `rtmp(s)://host/app/key` or `ws(s)://...`: the scheme picks the protocol. Live pipelines only; `srt://` is not implemented. */
  url: string;
  /** For rtmps:// and wss://: certificate authorities to trust beside the system's (a private CA). */
  ca?: string | Uint8Array;
}

/** How a caller names an output. A `path` ending in .m3u8 is a segments output, one with `%d` an images output. */
export type OutputInit = FileOutputInit | SegmentsOutputInit | ImagesOutputInit | StreamOutputInit;

/** Stream protocols, from the URL scheme (egress's rules). */
export type StreamProtocol = 'rtmp' | 'srt' | 'websocket';

/** A file output, resolved. */
export interface FileOutputSpec {
  /** A file output. */
  kind: 'file';
  /** The file written. */
  path: string;
  /** Its container: the init's, or the one its extension names. */
  container: FileContainer;
  /** With `encoding.renditions`: the rendition the file takes, by name; absent: the first. */
  rendition?: string;
}
/** A segments output, resolved. */
export interface SegmentsOutputSpec {
  /** An HLS output. */
  kind: 'segments';
  /** The EVENT playlist's path; segments are written beside it. */
  playlist: string;
  /** Target segment length, seconds. */
  segmentDuration: number;
  /** `ts` (MPEG-TS) or `fmp4` (CMAF). */
  segmentFormat: SegmentFormat;
  /** Segment file names, relative to the playlist, with one `%d`/`%05d` (the default filled in). */
  segmentTemplate: string;
  /** The sliding-window live playlist's path; undefined: none. */
  livePlaylist: string | undefined;
  /** Segments the live playlist keeps. */
  liveWindow: number;
  /** Wall-clock date of media time 0 for EXT-X-PROGRAM-DATE-TIME; undefined: when the run goes active. */
  startDate: Date | undefined;
}
/** An images output, resolved. */
export interface ImagesOutputSpec {
  /** A thumbnails output. */
  kind: 'images';
  /** File name template with one `%d`/`%05d`. */
  template: string;
  /** Seconds of media time between images. */
  interval: number;
  /** Image width asked, pixels; undefined: from the video (see {@link ImagesOutputInit}). */
  width: number | undefined;
  /** Image height asked, pixels; undefined: from the video (see {@link ImagesOutputInit}). */
  height: number | undefined;
  /** The image format, from the template's extension. */
  format: ImageFormat;
}
/** A stream output, resolved. */
export interface StreamOutputSpec {
  /** A stream output. */
  kind: 'stream';
  /** Where the stream goes, as given: it may hold secrets (a stream key), which results and logs redact. */
  url: string;
  /** From the URL's scheme: rtmp(s):// is `rtmp`, ws(s):// `websocket`, srt:// `srt`. */
  protocol: StreamProtocol;
  /** For rtmps:// and wss://: certificate authorities to trust beside the system's. */
  ca?: string | Uint8Array;
}

/** An output after its type has been worked out. */
export type OutputSpec = FileOutputSpec | SegmentsOutputSpec | ImagesOutputSpec | StreamOutputSpec;

/** Defaults for segments and images outputs. */
export const SEGMENT_DEFAULTS = { segmentDuration: 4, segmentFormat: 'ts' as SegmentFormat, liveWindow: 6 };
export const IMAGE_DEFAULTS = { interval: 10 };

const STREAM_SCHEMES: Readonly<Record<string, StreamProtocol>> = {
  'rtmp:': 'rtmp',
  'rtmps:': 'rtmp',
  'srt:': 'srt',
  'ws:': 'websocket',
  'wss:': 'websocket',
};

/** The stream protocol of a URL, or undefined when its scheme is not a stream scheme. */
export function streamProtocolOf(url: string): StreamProtocol | undefined {
  const m = /^([a-z][a-z0-9+.-]*:)/i.exec(url.trim());
  return m?.[1] === undefined ? undefined : STREAM_SCHEMES[m[1].toLowerCase()];
}

/** The file container named by a path's extension, or undefined. */
export function containerOfPath(path: string): FileContainer | undefined {
  const ext = extensionOf(path);
  return (FILE_CONTAINERS as readonly string[]).includes(ext ?? '') ? (ext as FileContainer) : undefined;
}

/** The image format named by a template's extension, or undefined. @internal */
export function imageFormatOfPath(path: string): ImageFormat | undefined {
  const ext = extensionOf(path);
  return ext === 'jpg' || ext === 'jpeg' ? 'jpeg' : ext === 'png' ? 'png' : undefined;
}

/** True when a path is a numbered template (one printf-style integer field). @internal */
export function isNumberTemplate(path: string): boolean {
  return (path.match(/%0?\d*d/g) ?? []).length === 1;
}

/** Fills a `%d` / `%05d` template with `n`. @internal */
export function fillTemplate(template: string, n: number): string {
  return template.replace(/%(0?)(\d*)d/, (_, zero: string, width: string) => String(n).padStart(Number(width || 0), zero === '0' ? '0' : ' '));
}

/** What kind of output a path names: `.m3u8` segments, a `%d` image template images, else a file. */
export function outputKindOfPath(path: string): 'file' | 'segments' | 'images' {
  if (extensionOf(path) === 'm3u8') return 'segments';
  if (isNumberTemplate(path) && imageFormatOfPath(path) !== undefined) return 'images';
  return 'file';
}

/** The init's kind, before validation. @internal */
export function outputKindOf(init: OutputInit): OutputSpec['kind'] {
  if ('url' in init) return 'stream';
  if ('playlist' in init) return 'segments';
  if ('images' in init) return 'images';
  const kind = outputKindOfPath(init.path);
  return kind;
}

/** An output as results and logs name it: its name, with a stream URL's secrets redacted. @internal */
export function outputLabel(spec: OutputSpec): string {
  return spec.kind === 'stream' ? redactUrl(spec.url) : outputName(spec);
}

/** The name an output is looked up by (tee ports, removeOutput): its path, playlist, template or URL. @internal */
export function outputName(spec: OutputSpec): string {
  switch (spec.kind) {
    case 'file': return spec.path;
    case 'segments': return spec.playlist;
    case 'images': return spec.template;
    case 'stream': return spec.url;
  }
}

/** Resolves an init whose kind is known valid (see validate.ts for the checks). @internal */
export function resolveOutput(init: OutputInit): OutputSpec {
  if ('url' in init) return { kind: 'stream', url: init.url, protocol: streamProtocolOf(init.url)!, ...(init.ca === undefined ? {} : { ca: init.ca }) };
  const kind = outputKindOf(init);
  if (kind === 'segments') {
    const s: SegmentsOutputInit = 'playlist' in init ? init : { playlist: (init as FileOutputInit).path };
    const format = s.segmentFormat ?? SEGMENT_DEFAULTS.segmentFormat;
    const base = s.playlist.replace(/^.*[\\/]/, '').replace(/\.m3u8$/i, '');
    return {
      kind, playlist: s.playlist, segmentDuration: s.segmentDuration ?? SEGMENT_DEFAULTS.segmentDuration, segmentFormat: format,
      segmentTemplate: s.segmentTemplate ?? `${base}_%05d.${format === 'ts' ? 'ts' : 'm4s'}`,
      livePlaylist: s.livePlaylist, liveWindow: s.liveWindow ?? SEGMENT_DEFAULTS.liveWindow, startDate: s.startDate,
    };
  }
  if (kind === 'images') {
    const i: ImagesOutputInit = 'images' in init ? init : { images: (init as FileOutputInit).path };
    return { kind, template: i.images, interval: i.interval ?? IMAGE_DEFAULTS.interval, width: i.width, height: i.height, format: imageFormatOfPath(i.images)! };
  }
  const f = init as FileOutputInit;
  return { kind: 'file', path: f.path, container: f.container ?? containerOfPath(f.path)!, ...(f.rendition === undefined ? {} : { rendition: f.rendition }) };
}

/** The codecs an output takes; undefined for outputs that take raw media (images, websocket). @internal */
export function codecsFor(spec: OutputSpec): { video: readonly VideoCodecName[]; audio: readonly AudioCodecName[] } | undefined {
  switch (spec.kind) {
    case 'file': return CONTAINER_CODECS[spec.container];
    // What HLS players play everywhere (Safari, Chromium, hls.js): H.264 and AAC.
    case 'segments': return { video: ['h264'], audio: ['aac'] };
    case 'stream': return spec.protocol === 'websocket' ? undefined : { video: ['h264'], audio: ['aac'] };
    case 'images': return undefined;
  }
}

/** The kind of raw (decoded) media an output takes: thumbnails video frames, a websocket audio; else none. @internal */
export function rawMediaOf(spec: OutputSpec): 'video' | 'audio' | undefined {
  return spec.kind === 'images' ? 'video' : spec.kind === 'stream' && spec.protocol === 'websocket' ? 'audio' : undefined;
}

/** Whether an output takes media of `kind` at all, raw or encoded. @internal */
export function takesMedia(spec: OutputSpec, kind: 'video' | 'audio'): boolean {
  return rawMediaOf(spec) === kind || (codecsFor(spec)?.[kind].length ?? 0) > 0;
}

/**
 * The codecs every encoded output takes, in the order of the first one's preference (its first is the
 * default). Undefined when no output takes encoded media.
 */
export function allowedCodecs(specs: readonly OutputSpec[]): {
  /** Video codecs every encoded output takes: empty when there is none (an Ogg file among them). */
  video: VideoCodecName[];
  /** Audio codecs every encoded output takes: empty when there is none. */
  audio: AudioCodecName[];
} | undefined {
  let allowed: { video: VideoCodecName[]; audio: AudioCodecName[] } | undefined;
  for (const spec of specs) {
    const c = codecsFor(spec);
    if (c === undefined) continue;
    allowed = allowed === undefined
      ? { video: [...c.video], audio: [...c.audio] }
      : { video: allowed.video.filter((v) => c.video.includes(v)), audio: allowed.audio.filter((a) => c.audio.includes(a)) };
  }
  return allowed;
}

function extensionOf(path: string): string | undefined {
  return /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
}
