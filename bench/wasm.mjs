#!/usr/bin/env node
// Issue #6: W1 (test source -> H.264 x264 main, keyframe every 2 s + Opus 128 kb/s -> MP4, non-live) at
// 640x360 and 1280x720, avpipe on the wasm provider against avpipe native and the ffmpeg CLI, in the
// same run, rotating order, wall time including process start. avpipe makes its frames itself; ffmpeg
// generates `testsrc2` + `sine` (its own cost, small at these sizes). Presets: x264's `veryfast` (W1's)
// and `ultrafast`.
// `npm run bench:wasm -- [--reps 3] [--seconds 20] [--presets veryfast,ultrafast]` (Debian's ffmpeg, GNU time).
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, compare, have, machine, timed, work, writeResult } from './lib.mjs';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '3' }, seconds: { type: 'string', default: '20' }, presets: { type: 'string', default: 'veryfast,ultrafast' } } });
const REPS = Number(values.reps);
const SECS = Number(values.seconds);
if (!have('ffmpeg')) throw new Error('Debian ffmpeg is needed: apt-get install ffmpeg');

const report = { machine: machine(), seconds: SECS, reps: REPS, runs: [] };
for (const preset of values.presets.split(',')) {
  for (const [w, h, kbps] of [[640, 360, 1000], [1280, 720, 3000]]) {
    const avpipe = (provider) => () => timed(process.execPath, [CLI, 'record', '--source', 'test', '--duration', String(SECS), '--size', `${w}x${h}`, '--fps', '30',
      '--video-codec', 'h264', '--h264-profile', 'main', '--video-bitrate', String(kbps), '--keyframe-interval', '2', '--speed-preset', preset,
      '--audio-codec', 'opus', '--audio-bitrate', '128', '--no-live', '--codec-provider', provider, '--json', '--output', join(work, `wasm-bench-${provider}.mp4`)]);
    const contenders = {
      'avpipe-wasm': avpipe('wasm'),
      'avpipe-native': avpipe('native'),
      ffmpeg: () => timed('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${w}x${h}:rate=30:duration=${SECS}`, '-f', 'lavfi', '-i', `sine=frequency=1000:sample_rate=48000:duration=${SECS}`,
        '-c:v', 'libx264', '-preset', preset, '-profile:v', 'main', '-b:v', `${kbps}k`, '-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'libopus', '-b:a', '128k', '-ac', '2', join(work, 'wasm-bench-ffmpeg.mp4')]),
    };
    process.stderr.write(`-- ${w}x${h} ${preset}\n`);
    const { summary, ratios } = compare(contenders, REPS, 'avpipe-wasm');
    const realtime = Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, +(SECS / v.wallS).toFixed(2)]));
    report.runs.push({ size: `${w}x${h}`, preset, summary, ratios, realtime });
    process.stderr.write(`   x realtime: ${JSON.stringify(realtime)}; ratios: ${JSON.stringify(ratios)}\n`);
  }
}
process.stderr.write(`written ${writeResult('wasm', report)}\n`);
