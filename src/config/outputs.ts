import { FILE_CONTAINERS, type FileContainer } from './codecs.js';

/** How a caller names an output: a file path, or a stream URL. */
export type OutputInit =
  | { path: string; container?: FileContainer }
  | { url: string };

/** Stream protocols, from the URL scheme (egress's rules). */
export type StreamProtocol = 'rtmp' | 'srt' | 'websocket';

/** An output after its type has been worked out. */
export type OutputSpec =
  | { kind: 'file'; path: string; container: FileContainer }
  | { kind: 'stream'; url: string; protocol: StreamProtocol };

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
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
  return (FILE_CONTAINERS as readonly string[]).includes(ext ?? '') ? (ext as FileContainer) : undefined;
}

/** True for outputs that cannot ingest faster than 1x (rtmp, srt, websocket). */
export function isStreamOutput(output: OutputSpec): output is Extract<OutputSpec, { kind: 'stream' }> {
  return output.kind === 'stream';
}
