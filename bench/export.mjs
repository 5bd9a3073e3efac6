#!/usr/bin/env node
// W2 transcode, W3 copy (60 s, and W3-long: 30 min) and W4 long mix: avpipe export against native
// ffmpeg on the same inputs, in the same run, rotating order; wall and CPU time include process start
// on both sides. Inputs are made by Debian's ffmpeg. Run on an idle machine: `npm run bench:export`.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, compare, have, machine, timed, work, writeResult } from './lib.mjs';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '3' }, 'w4-minutes': { type: 'string', default: '30' }, only: { type: 'string' } } });
// `--only W3` (or `W2,W3`) runs just those workloads.
const ONLY = values.only === undefined ? undefined : new Set(values.only.split(','));
const REPS = Number(values.reps);
const W4_MIN = Number(values['w4-minutes']);
if (!have('ffmpeg')) throw new Error('Debian ffmpeg is needed: apt-get install ffmpeg');

const ff = (args) => timed('ffmpeg', ['-v', 'error', '-y', ...args]);
const make = (name, args) => {
  const path = join(work, name);
  if (!existsSync(path)) ff([...args, path]);
  return path;
};

// 60 s 1280x720@30 H.264 (x264 medium, 4 Mb/s) + AAC 128k.
const w2in = make('w2-in.mp4', ['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30:duration=60', '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000:duration=60',
  '-c:v', 'libx264', '-preset', 'medium', '-b:v', '4M', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k', '-ac', '2']);
// W3-long: the same, 30 minutes (138k packets), joined from W2's input without re-encoding.
const w3long = (() => {
  const path = join(work, 'w3-long-30m.mp4');
  if (existsSync(path) || (ONLY !== undefined && !ONLY.has('W3-long'))) return path;
  const list = join(work, 'w3-long.txt');
  writeFileSync(list, `file '${w2in}'\n`.repeat(30));
  ff(['-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', path]);
  return path;
})();
// W4: a video track and two long audio tracks (speech-like tones) in separate files.
const secs = W4_MIN * 60;
const w4v = make(`w4-video-${W4_MIN}m.mp4`, ['-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=15:duration=${secs}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-b:v', '300k', '-pix_fmt', 'yuv420p']);
const w4a1 = make(`w4-a1-${W4_MIN}m.ogg`, ['-f', 'lavfi', '-i', `sine=frequency=300:sample_rate=48000:duration=${secs}`, '-ac', '2', '-c:a', 'libopus', '-b:a', '64k']);
const w4a2 = make(`w4-a2-${W4_MIN}m.m4a`, ['-f', 'lavfi', '-i', `sine=frequency=1000:sample_rate=48000:duration=${secs}`, '-ac', '2', '-c:a', 'aac', '-b:a', '96k']);

// Every contender's output is removed before its run, outside the timing: none pays for freeing the
// last run's file (an overwrite truncates, and ext4 writes a file renamed over another out at once).
const fresh = (output, fn) => () => {
  rmSync(output, { force: true });
  return fn();
};
const avpipe = (args) => fresh(args[args.indexOf('--output') + 1], () => timed(process.execPath, [CLI, 'export', ...args, '--json']));
const ffOut = (args) => fresh(args.at(-1), () => ff(args));
const results = {};
const run = (name, contenders) => {
  if (ONLY !== undefined && !ONLY.has(name)) return;
  process.stderr.write(`\n${name}\n`);
  results[name] = compare(contenders, REPS, 'avpipe');
};

const w2args = ['--transcode', '--video-codec', 'h264', '--h264-profile', 'main', '--video-bitrate', '3000',
  '--keyframe-interval', '2', '--speed-preset', 'veryfast', '--audio-codec', 'opus', '--audio-bitrate', '128'];
run('W2', {
  // `auto` splits the file into one chunk per core (single-threaded x264 each); `--parallel 1` is one x264 with its own threads.
  avpipe: avpipe([w2in, '--output', join(work, 'w2-avpipe.mp4'), ...w2args]),
  'avpipe-p1': avpipe([w2in, '--output', join(work, 'w2-avpipe-p1.mp4'), ...w2args, '--parallel', '1']),
  ffmpeg: ffOut(['-i', w2in, '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'main', '-b:v', '3M', '-g', '60', '-c:a', 'libopus', '-b:a', '128k', join(work, 'w2-ffmpeg.mp4')]),
});
// GStreamer's remux of the same file: qtdemux -> parsers -> mp4mux.
const gstCopy = (input, output) => fresh(output, () => timed('gst-launch-1.0', ['-q', 'filesrc', `location=${input}`, '!', 'qtdemux', 'name=d', 'd.video_0', '!', 'queue', '!', 'h264parse', '!', 'mp4mux', 'name=m', '!',
  'filesink', `location=${output}`, 'd.audio_0', '!', 'queue', '!', 'aacparse', '!', 'm.']));
const gst = have('gst-launch-1.0');
run('W3', {
  avpipe: avpipe([w2in, '--output', join(work, 'w3-avpipe.mp4'), '--copy']),
  ffmpeg: ffOut(['-i', w2in, '-c', 'copy', join(work, 'w3-ffmpeg.mp4')]),
  ...(gst ? { gstreamer: gstCopy(w2in, join(work, 'w3-gst.mp4')) } : {}),
});
run('W3-long', {
  avpipe: avpipe([w3long, '--output', join(work, 'w3-long-avpipe.mp4'), '--copy']),
  ffmpeg: ffOut(['-i', w3long, '-c', 'copy', join(work, 'w3-long-ffmpeg.mp4')]),
  ...(gst ? { gstreamer: gstCopy(w3long, join(work, 'w3-long-gst.mp4')) } : {}),
});
run('W4', {
  avpipe: avpipe([w4v, w4a1, w4a2, '--output', join(work, 'w4-avpipe.mp4'), '--audio-codec', 'opus']),
  ffmpeg: ffOut(['-i', w4v, '-i', w4a1, '-i', w4a2, '-filter_complex', '[1:a][2:a]amix=inputs=2:normalize=0[a]', '-map', '0:v', '-map', '[a]',
    '-c:v', 'copy', '-c:a', 'libopus', '-b:a', '128k', join(work, 'w4-ffmpeg.mp4')]),
});

const out = writeResult('export', { date: new Date().toISOString(), machine: machine(), reps: REPS, w4Minutes: W4_MIN, results });
for (const [name, r] of Object.entries(results)) {
  console.log(`\n${name}\n| | wall | CPU | peak RSS |\n|---|---|---|---|`);
  for (const [n, s] of Object.entries(r.summary)) console.log(`| ${n} | ${s.wallS.toFixed(2)} s | ${s.cpuS.toFixed(2)} s | ${s.peakRssMiB.toFixed(0)} MiB |`);
  console.log(Object.entries(r.ratios).map(([k, v]) => `wall ${k} ${v.toFixed(3)} (CPU ${r.cpuRatios[k].toFixed(3)})`).join(', '));
}
console.log(`\nwritten ${out}`);
