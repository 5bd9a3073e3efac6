#!/usr/bin/env node
// W5: W1 (60 s 1280x720@30 test source, H.264 x264 veryfast 3 Mb/s main, keyframe every 2 s) written to
// an MP4 file, HLS (MPEG-TS, 4 s segments) and JPEG thumbnails (every 10 s, 320x180) at once, non-live;
// against ffmpeg doing the same in one process (one encode, its tee muxer for MP4 + HLS, a split for the
// thumbnails) on the same frames, and against avpipe writing the MP4 alone (W1). Audio is AAC 128 kb/s
// on every side (HLS needs it). Same run, rotating order, wall time including process start.
// `npm run bench:w5` (needs Debian's ffmpeg and GNU time; reuses W1's raw frames in bench/work).
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, compare, have, machine, timed, work, writeResult } from './lib.mjs';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '3' } } });
const REPS = Number(values.reps);
const SECS = 60;
const W = 1280, H = 720, FPS = 30, RATE = 48000;
if (!have('ffmpeg')) throw new Error('Debian ffmpeg is needed: apt-get install ffmpeg');
const yuv = join(work, `src-${SECS}s.yuv`);
const pcm = join(work, `src-${SECS}s.f32`);

const fresh = (name) => {
  const d = join(work, name);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(join(d, 'hls'), { recursive: true });
  mkdirSync(join(d, 'thumbs'), { recursive: true });
  return d;
};
const enc = ['--size', `${W}x${H}`, '--fps', String(FPS), '--video-codec', 'h264', '--h264-profile', 'main', '--video-bitrate', '3000',
  '--keyframe-interval', '2', '--speed-preset', 'veryfast', '--audio-codec', 'aac', '--audio-bitrate', '128', '--no-live', '--json'];

const contenders = {
  'avpipe-w5': () => {
    const d = fresh('w5-avpipe');
    return timed(process.execPath, [CLI, 'record', '--source', 'test', '--duration', String(SECS), ...enc,
      '--output', join(d, 'out.mp4'), '--output', join(d, 'hls', 'index.m3u8'), '--segment-duration', '4',
      '--output', join(d, 'thumbs', 'img_%05d.jpg'), '--thumbnail-interval', '10', '--thumbnail-size', '320x180']);
  },
  'ffmpeg-w5': () => {
    const d = fresh('w5-ffmpeg');
    return timed('ffmpeg', ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${W}x${H}`, '-r', String(FPS), '-i', yuv,
      '-f', 'f32le', '-ar', String(RATE), '-ac', '2', '-i', pcm,
      '-filter_complex', '[0:v]split=2[v][t0];[t0]fps=1/10,scale=320:180[t]',
      '-map', '[v]', '-map', '1:a', '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-b:v', '3M', '-g', String(2 * FPS),
      '-c:a', 'aac', '-b:a', '128k', '-flags', '+global_header',
      '-f', 'tee', `[f=mp4]${join(d, 'out.mp4')}|[f=hls:hls_time=4:hls_playlist_type=event:hls_segment_filename=${join(d, 'hls', 'index_%05d.ts').replace(/:/g, '\\:')}]${join(d, 'hls', 'index.m3u8')}`,
      '-map', '[t]', '-q:v', '3', join(d, 'thumbs', 'img_%05d.jpg')]);
  },
  'avpipe-w1': () => {
    const d = fresh('w5-avpipe-w1');
    return timed(process.execPath, [CLI, 'record', '--source', 'test', '--duration', String(SECS), ...enc, '--output', join(d, 'out.mp4')]);
  },
};

const result = compare(contenders, REPS, 'avpipe-w5');
const out = writeResult('w5', { date: new Date().toISOString(), machine: machine(), reps: REPS, seconds: SECS, ...result });
console.log('| | wall | peak RSS |\n|---|---|---|');
for (const [n, s] of Object.entries(result.summary)) console.log(`| ${n} | ${s.wallS.toFixed(2)} s | ${s.peakRssMiB.toFixed(0)} MiB |`);
console.log(Object.entries(result.ratios).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', '));
console.log(`written ${out}`);
