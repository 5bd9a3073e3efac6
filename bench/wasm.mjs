#!/usr/bin/env node
// Issue #6: the wasm codec provider against avpipe native, the ffmpeg CLI and GStreamer, in the same run,
// rotating order, wall time including process start.
// - W1 (encode): test source -> H.264 x264 main, keyframe every 2 s + Opus 128 kb/s -> MP4, non-live, at
//   640x360 and 1280x720. avpipe makes its frames itself; ffmpeg (`testsrc2` + `sine`) and GStreamer
//   (`videotestsrc` + `audiotestsrc`) generate theirs (their own cost, small at these sizes).
// - EX (export): a 1280x720 H.264 + 44.1 kHz AAC MP4 (made by ffmpeg) -> 640x360 H.264 + 48 kHz Opus MP4:
//   decode, scale, resample, encode; on wasm all four run without native code.
// Presets: x264's `veryfast` (W1's) and `ultrafast`.
// `npm run bench:wasm -- [--reps 3] [--seconds 20] [--presets veryfast,ultrafast] [--only W1,EX]`
// (Debian's ffmpeg; GStreamer with plugins base/good/ugly and gstreamer1.0-libav when there; GNU time).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, compare, have, machine, timed, work, writeResult } from './lib.mjs';

const { values } = parseArgs({ options: {
  reps: { type: 'string', default: '3' }, seconds: { type: 'string', default: '20' }, presets: { type: 'string', default: 'veryfast,ultrafast' }, only: { type: 'string', default: 'W1,EX' },
} });
const REPS = Number(values.reps);
const SECS = Number(values.seconds);
const ONLY = new Set(values.only.split(','));
if (!have('ffmpeg')) throw new Error('Debian ffmpeg is needed: apt-get install ffmpeg');
const GST = have('gst-launch-1.0');

const gst = (args) => () => timed('gst-launch-1.0', ['-q', '-e', ...args]);
const x264 = (preset, kbps) => ['x264enc', `speed-preset=${preset}`, `bitrate=${kbps}`, 'key-int-max=60', '!', 'video/x-h264,profile=main', '!', 'h264parse', '!', 'queue', '!'];
const mux = (name) => ['mp4mux', 'name=m', '!', 'filesink', `location=${join(work, name)}`, 'async=false'];
const opus = ['opusenc', 'bitrate=128000', '!', 'queue', '!', 'm.'];

const report = { machine: machine(), seconds: SECS, reps: REPS, runs: [] };
const run = (workload, size, preset, contenders) => {
  process.stderr.write(`-- ${workload} ${size} ${preset}\n`);
  const { summary, ratios } = compare(contenders, REPS, 'avpipe-wasm');
  const realtime = Object.fromEntries(Object.entries(summary).map(([k, v]) => [k, +(SECS / v.wallS).toFixed(2)]));
  report.runs.push({ workload, size, preset, summary, ratios, realtime });
  process.stderr.write(`   x realtime: ${JSON.stringify(realtime)}; ratios: ${JSON.stringify(ratios)}\n`);
};

for (const preset of values.presets.split(',')) {
  if (ONLY.has('W1')) {
    for (const [w, h, kbps] of [[640, 360, 1000], [1280, 720, 3000]]) {
      // `--parallel` auto: a 20 s run is split, each chunk's x264 an ffmpeg.wasm worker of its own; `1` encodes it whole.
      const avpipe = (provider, parallel = 'auto') => () => timed(process.execPath, [CLI, 'record', '--source', 'test', '--duration', String(SECS), '--size', `${w}x${h}`, '--fps', '30',
        '--video-codec', 'h264', '--h264-profile', 'main', '--video-bitrate', String(kbps), '--keyframe-interval', '2', '--speed-preset', preset,
        '--audio-codec', 'opus', '--audio-bitrate', '128', '--no-live', '--codec-provider', provider, '--parallel', parallel, '--json', '--output', join(work, `wasm-bench-${provider}-${parallel}.mp4`)]);
      run('W1', `${w}x${h}`, preset, {
        'avpipe-wasm': avpipe('wasm'),
        'avpipe-wasm-p1': avpipe('wasm', '1'),
        'avpipe-native': avpipe('native'),
        ffmpeg: () => timed('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=${w}x${h}:rate=30:duration=${SECS}`, '-f', 'lavfi', '-i', `sine=frequency=1000:sample_rate=48000:duration=${SECS}`,
          '-c:v', 'libx264', '-preset', preset, '-profile:v', 'main', '-b:v', `${kbps}k`, '-g', '60', '-pix_fmt', 'yuv420p', '-c:a', 'libopus', '-b:a', '128k', '-ac', '2', join(work, 'wasm-bench-ffmpeg.mp4')]),
        ...(GST ? { gstreamer: gst([
          'videotestsrc', 'is-live=false', `num-buffers=${SECS * 30}`, 'pattern=smpte', '!', `video/x-raw,format=I420,width=${w},height=${h},framerate=30/1`, '!', 'queue', '!',
          ...x264(preset, kbps), ...mux('wasm-bench-gst.mp4'),
          'audiotestsrc', 'is-live=false', `num-buffers=${Math.ceil((SECS * 48000) / 1024)}`, 'samplesperbuffer=1024', 'wave=sine', '!', 'audio/x-raw,rate=48000,channels=2', '!', 'queue', '!', ...opus,
        ]) } : {}),
      });
    }
  }
  if (ONLY.has('EX')) {
    const input = join(work, `ex-in-${SECS}s.mp4`);
    if (!existsSync(input)) {
      timed('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30:duration=${SECS}`, '-f', 'lavfi', '-i', `sine=frequency=1000:sample_rate=44100:duration=${SECS}`,
        '-c:v', 'libx264', '-preset', 'medium', '-b:v', '4M', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k', '-ac', '2', input]);
    }
    const avpipe = (provider) => () => timed(process.execPath, [CLI, 'export', input, '--transcode', '--size', '640x360',
      '--video-codec', 'h264', '--h264-profile', 'main', '--video-bitrate', '1000', '--keyframe-interval', '2', '--speed-preset', preset,
      '--audio-codec', 'opus', '--audio-bitrate', '128', '--codec-provider', provider, '--json', '--output', join(work, `wasm-ex-${provider}.mp4`)]);
    run('EX', '1280x720 -> 640x360', preset, {
      'avpipe-wasm': avpipe('wasm'),
      'avpipe-native': avpipe('native'),
      ffmpeg: () => timed('ffmpeg', ['-v', 'error', '-y', '-i', input, '-vf', 'scale=640:360', '-c:v', 'libx264', '-preset', preset, '-profile:v', 'main', '-b:v', '1000k', '-g', '60',
        '-ar', '48000', '-c:a', 'libopus', '-b:a', '128k', join(work, 'wasm-ex-ffmpeg.mp4')]),
      ...(GST ? { gstreamer: gst([
        'filesrc', `location=${input}`, '!', 'qtdemux', 'name=d',
        'd.video_0', '!', 'queue', '!', 'h264parse', '!', 'avdec_h264', '!', 'videoscale', '!', 'video/x-raw,width=640,height=360', '!', 'queue', '!', ...x264(preset, 1000), ...mux('wasm-ex-gst.mp4'),
        'd.audio_0', '!', 'queue', '!', 'aacparse', '!', 'avdec_aac', '!', 'audioconvert', '!', 'audioresample', '!', 'audio/x-raw,rate=48000,channels=2', '!', 'queue', '!', ...opus,
      ]) } : {}),
    });
  }
}
process.stderr.write(`written ${writeResult('wasm', report)}\n`);
