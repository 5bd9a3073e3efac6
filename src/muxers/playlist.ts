import type { Microseconds } from '../time.js';

/** A segment as a playlist lists it. */
export interface PlaylistSegment {
  uri: string;
  startUs: Microseconds;
  durationUs: Microseconds;
}

/** What a media playlist is written from. */
export interface PlaylistInit {
  segments: readonly PlaylistSegment[];
  /** The nominal segment length; EXT-X-TARGETDURATION is at least this. */
  targetUs: Microseconds;
  /** EVENT (grows, then ENDLIST) or a sliding window (no type, MEDIA-SEQUENCE moves). */
  type: 'event' | 'window';
  /** The sequence number of the first listed segment (window playlists). */
  mediaSequence: number;
  /** The init segment of fMP4 segments (EXT-X-MAP). */
  mapUri?: string;
  /** Wall-clock date of media time 0: each segment's EXT-X-PROGRAM-DATE-TIME is this plus its media start. */
  startDate?: Date;
  ended: boolean;
}

/**
 * An HLS media playlist (RFC 8216). Dates come from media time, not from when a segment happened to be
 * written: an export at 10x still dates its segments 4 s apart.
 * @internal
 */
export function mediaPlaylist(p: PlaylistInit): string {
  const longest = p.segments.reduce((m, s) => Math.max(m, s.durationUs), p.targetUs);
  const lines = [
    '#EXTM3U',
    `#EXT-X-VERSION:${p.mapUri === undefined ? 3 : 7}`,
    // Must be at least every EXTINF rounded to the nearest integer.
    `#EXT-X-TARGETDURATION:${Math.max(1, Math.round(longest / 1e6))}`,
    `#EXT-X-MEDIA-SEQUENCE:${p.mediaSequence}`,
  ];
  if (p.type === 'event') lines.push('#EXT-X-PLAYLIST-TYPE:EVENT');
  lines.push('#EXT-X-INDEPENDENT-SEGMENTS');
  if (p.mapUri !== undefined) lines.push(`#EXT-X-MAP:URI="${p.mapUri}"`);
  for (const s of p.segments) {
    if (p.startDate !== undefined) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(p.startDate.getTime() + s.startUs / 1000).toISOString()}`);
    lines.push(`#EXTINF:${(s.durationUs / 1e6).toFixed(6)},`, s.uri);
  }
  if (p.ended) lines.push('#EXT-X-ENDLIST');
  return `${lines.join('\n')}\n`;
}

/** One variant of a master playlist: a media playlist and what a player chooses it by. */
export interface PlaylistVariant {
  uri: string;
  /** Peak and average bits per second of its segments. */
  bandwidth: number;
  averageBandwidth: number;
  width: number;
  height: number;
  /** RFC 6381 codec strings (`avc1.64001f`, `mp4a.40.2`). */
  codecs: readonly string[];
  fps: number;
}

/**
 * An HLS master (multivariant) playlist (RFC 8216 4.3.4.2): one EXT-X-STREAM-INF per variant, in
 * the order given (players start with the first).
 * @internal
 */
export function masterPlaylist(variants: readonly PlaylistVariant[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const v of variants) {
    lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${Math.ceil(v.bandwidth)},AVERAGE-BANDWIDTH=${Math.ceil(v.averageBandwidth)},RESOLUTION=${v.width}x${v.height},CODECS="${v.codecs.join(',')}",FRAME-RATE=${v.fps.toFixed(3)}`, v.uri);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * What closes a playlist's text: the `#EXT-X-ENDLIST` line (after a newline the text may lack), or ''
 * when it already has one (a finished recording, not a live one to poll).
 */
export function closingLines(text: string): string {
  return /^#EXT-X-ENDLIST\s*$/m.test(text) ? '' : `${text.endsWith('\n') ? '' : '\n'}#EXT-X-ENDLIST\n`;
}
