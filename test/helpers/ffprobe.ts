import { execFile } from 'node:child_process';
import { chmodSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { FFMPEG } from './fixtures.js';

const run = promisify(execFile);
const require = createRequire(import.meta.url);

/** The ffprobe binary shipped by @ffprobe-installer (an independent reader: not the FFmpeg that encoded). */
export const FFPROBE: string = (require('@ffprobe-installer/ffprobe') as { path: string }).path;

// npm may skip the package's chmod step (install scripts need approval): make sure it can run.
if ((statSync(FFPROBE).mode & 0o100) === 0) chmodSync(FFPROBE, 0o755);

/** A stream as ffprobe reports it (the fields the tests use). */
export interface ProbeStream {
  index: number;
  codec_type: 'video' | 'audio';
  codec_name: string;
  profile?: string;
  width?: number;
  height?: number;
  sample_rate?: string;
  channels?: number;
  start_time?: string;
  duration?: string;
  nb_read_frames?: string;
  nb_read_packets?: string;
  avg_frame_rate?: string;
  bit_rate?: string;
}

/** ffprobe -show_streams -show_format -count_frames, parsed. */
export async function probe(path: string): Promise<{ streams: ProbeStream[]; format: { format_name: string; duration?: string; size: string } }> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-count_frames', '-count_packets', '-show_streams', '-show_format', '-of', 'json', path], { maxBuffer: 64 << 20 });
  return JSON.parse(stdout) as { streams: ProbeStream[]; format: { format_name: string; duration?: string; size: string } };
}

/** The stream of a kind, or a thrown error naming the file. */
export function streamOf(p: { streams: ProbeStream[] }, kind: 'video' | 'audio'): ProbeStream {
  const s = p.streams.find((x) => x.codec_type === kind);
  if (s === undefined) throw new Error(`no ${kind} stream`);
  return s;
}

/**
 * Onsets (s) of flashes: decoded frames whose mean luma is above `threshold`, a run of consecutive
 * bright frames counting once (a frame held over by rate conversion is the same flash).
 */
export async function flashTimes(path: string, threshold = 200): Promise<number[]> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-f', 'lavfi', '-i', `movie=${path},signalstats`,
    '-show_entries', 'frame=pts_time:frame_tags=lavfi.signalstats.YAVG', '-of', 'csv=p=0'], { maxBuffer: 64 << 20 });
  const onsets: number[] = [];
  let bright = false;
  for (const [t, y] of stdout.trim().split('\n').map((l) => l.split(','))) {
    const isBright = Number(y) > threshold;
    if (isBright && !bright) onsets.push(Number(t));
    bright = isBright;
  }
  return onsets;
}

/**
 * Start times (s) of beeps on the file's own timeline: 1 ms windows whose RMS rises above `thresholdDb`
 * after a quiet one. The first audio track is decoded by ffmpeg to mono PCM laid on its timestamps
 * (`-copyts`, gaps filled with silence and overlaps cut from the track's first timestamp on), and the
 * windows measured here: ffprobe's astats printing a line per window took 0.3 s per second of audio.
 */
export async function beepOnsets(path: string, sampleRate = 48000, thresholdDb = -30): Promise<number[]> {
  const { stdout: first } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'a:0', '-show_entries', 'stream=start_time', '-of', 'csv=p=0', path]);
  const start = Number.parseFloat(first) || 0;
  const fill = `aresample=async=1:min_hard_comp=0.0005:first_pts=${Math.round(start * sampleRate)}`;
  const { stdout } = await run(FFMPEG, ['-v', 'error', '-copyts', '-i', path, '-map', '0:a:0', '-af', fill, '-ac', '1', '-ar', String(sampleRate), '-f', 'f32le', '-'], { maxBuffer: 1 << 30, encoding: 'buffer' });
  const pcm = new Float32Array(stdout.buffer, stdout.byteOffset, Math.floor(stdout.length / 4));
  const win = sampleRate / 1000;
  const onsets: number[] = [];
  let loud = false;
  for (let w = 0; (w + 1) * win <= pcm.length; w++) {
    let sum = 0;
    for (let i = w * win; i < (w + 1) * win; i++) sum += pcm[i]! * pcm[i]!;
    const isLoud = 10 * Math.log10(sum / win) > thresholdDb;
    if (isLoud && !loud) onsets.push(Math.round((start + w / 1000) * 1e6) / 1e6);
    loud = isLoud;
  }
  return onsets;
}

/**
 * Every video packet and whether it is a keyframe: by presentation time (s), in presentation order, or
 * with `order: 'decode'` by decode time, in the order the file holds them.
 */
export async function videoPackets(path: string, order: 'presentation' | 'decode' = 'presentation'): Promise<{ t: number; key: boolean }[]> {
  const time = order === 'decode' ? 'dts_time' : 'pts_time';
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', 'v', '-show_entries', `packet=${time},flags`, '-of', 'csv=p=0', path], { maxBuffer: 16 << 20 });
  const packets = stdout.trim().split('\n').map((l) => ({ t: Number(l.split(',')[0]), key: l.split(',')[1]!.startsWith('K') }));
  return order === 'decode' ? packets : packets.sort((a, b) => a.t - b.t);
}

/** Each packet of a file's first stream of a kind, in file order: its size and the MD5 of its data. */
export async function packetHashes(path: string, kind: 'video' | 'audio'): Promise<string[]> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', kind === 'video' ? 'v:0' : 'a:0', '-show_entries', 'packet=size,data_hash', '-show_data_hash', 'md5', '-of', 'csv=p=0', path], { maxBuffer: 64 << 20 });
  // Side data (AAC's skip samples) adds a line of its own: packets only.
  return stdout.split('\n').filter((line) => /^\d+,MD5:/.test(line));
}

/** Frame count of a stream with a given kind, read by decoding. */
export function frames(s: ProbeStream): number {
  return Number(s.nb_read_frames);
}

/** First presentation time and end (last pts + duration) of a stream's packets, in seconds. */
export async function packetSpan(path: string, kind: 'video' | 'audio'): Promise<{ start: number; end: number; packets: number }> {
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-select_streams', kind === 'video' ? 'v:0' : 'a:0',
    '-show_entries', 'packet=pts_time,duration_time', '-of', 'csv=p=0', path], { maxBuffer: 64 << 20 });
  // A packet with side data (Opus's skip samples) is followed by a blank line: not a packet.
  const rows = stdout.trim().split('\n').filter((l) => l.trim() !== '').map((l) => l.split(',').map(Number));
  let start = Infinity;
  let end = -Infinity;
  for (const [pts, dur] of rows) {
    if (pts === undefined || Number.isNaN(pts)) continue;
    start = Math.min(start, pts);
    end = Math.max(end, pts + (dur === undefined || Number.isNaN(dur) ? 0 : dur));
  }
  return { start, end, packets: rows.length };
}

/**
 * RMS level (dB) of one channel (`c0`, `c1`, or `mono` for all) in a band around `hz`, over the
 * whole file: how much of a tone is in it.
 */
export async function bandLevel(path: string, hz: number, channel: 'c0' | 'c1' | 'mono' = 'mono'): Promise<number> {
  const pick = channel === 'mono' ? 'pan=mono|c0=0.5*c0+0.5*c1' : `pan=mono|c0=${channel}`;
  const band = `bandpass=f=${hz}:width_type=h:w=${hz / 10}`;
  const { stdout } = await run(FFPROBE, ['-v', 'error', '-f', 'lavfi', '-i', `amovie=${path},${pick},${band},${band},${band},astats=metadata=1:reset=0`,
    '-show_entries', 'frame_tags=lavfi.astats.Overall.RMS_level', '-of', 'csv=p=0'], { maxBuffer: 64 << 20 });
  const last = stdout.trim().split('\n').at(-1) ?? '-inf';
  return Number(last);
}

/** What the decoders say (at error level) while every frame of every stream is decoded: '' for a clean file. */
export async function decodeErrors(path: string): Promise<string> {
  const { stderr } = await run(FFPROBE, ['-v', 'error', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', path]);
  return stderr;
}
