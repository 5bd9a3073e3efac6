#!/usr/bin/env node
// Finishing an hour-long live MP4. A live recording is written in fragments (what a killed recorder
// leaves plays); on stop it is finalized in place: a regular moov appended, the fragments' boxes
// turned to `free`, the media never copied. This writes an hour of 1280x720 H.264 (2 Mb/s, a keyframe
// every 2 s) + AAC through avpipe's live file writer (the fragmented FileOutput, packets of a 60 s
// ffmpeg-made clip looped), stops short of finalizing (as a kill would), then times, in fresh
// processes on copies of that file: `avpipe repair` (the same in-place finalize a normal stop runs)
// against ffmpeg remuxing it to a regular MP4 (`-c copy`), which is what finishing by a copy costs.
// `npm run bench:finalize [-- --minutes 60 --reps 3]`
import { copyFileSync, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, compare, have, machine, root, timed, work, writeResult } from './lib.mjs';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '3' }, minutes: { type: 'string', default: '60' } } });
const REPS = Number(values.reps);
const MINUTES = Number(values.minutes);
if (!have('ffmpeg')) throw new Error('Debian ffmpeg is needed: apt-get install ffmpeg');

const { createPipelineConfig, FileSource } = await import(join(root, 'dist', 'index.js'));
const { FileOutput } = await import(join(root, 'dist', 'sinks', 'file-output.js'));

const clip = join(work, 'finalize-clip-60s.mp4');
if (!existsSync(clip)) {
  timed('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30:duration=60', '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000:duration=60',
    '-c:v', 'libx264', '-preset', 'veryfast', '-b:v', '2M', '-g', '60', '-bf', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k', '-ac', '2', clip]);
}

/** Every packet of the clip, per kind, with its decoder config (read by avpipe's file source). */
async function readClip() {
  const source = new FileSource([{ path: clip }]);
  const tracks = await source.prepare(createPipelineConfig({ live: false, outputs: [{ path: join(work, 'unused.mp4') }] }));
  const out = {};
  await source.start?.();
  await Promise.all(tracks.map(async (t) => {
    const chunks = [];
    const reader = source.readable(t.id).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
    out[t.kind] = { config: t.encoded.decoderConfig, chunks };
  }));
  await source.close();
  process.stderr.write(`clip: ${out.video.chunks.length} video, ${out.audio.chunks.length} audio packets\n`);
  return out;
}

/** An hour (MINUTES) of the clip looped into a live (fragmented) MP4, left unfinalized as a kill leaves it. */
async function writeFragmented(path) {
  const clipData = await readClip();
  const { EncodedChunk } = await import(join(root, 'dist', 'index.js'));
  const output = new FileOutput({ kind: 'file', path, container: 'mp4' }, { video: { codec: 'h264' }, audio: { codec: 'aac' }, fragmented: 1 });
  await output.start();
  const writer = output.writable.getWriter();
  // One loop's span: from the first packet (AAC priming starts before 0) to the end of the last.
  const all = [...clipData.video.chunks, ...clipData.audio.chunks];
  const loopUs = Math.max(...all.map((c) => c.timestamp + (c.duration ?? 0))) - Math.min(...all.map((c) => c.timestamp));
  const sent = { video: false, audio: false };
  for (let k = 0; k < MINUTES; k++) {
    // Both tracks' packets of this loop, in time order, shifted by the loop's start.
    const items = ['video', 'audio'].flatMap((kind) => clipData[kind].chunks.map((c) => ({ kind, c })));
    items.sort((a, b) => a.c.timestamp - b.c.timestamp);
    for (const { kind, c } of items) {
      const chunk = new EncodedChunk({ type: c.type, timestamp: c.timestamp + k * loopUs, duration: c.duration ?? undefined, data: c.data });
      await writer.write({ kind, chunk, metadata: sent[kind] ? {} : { decoderConfig: clipData[kind].config } });
      sent[kind] = true;
    }
  }
  // What a kill leaves: every fragment written, the file not finalized.
  await output.muxer.finalize();
  await output.sink.close();
}

const fragmented = join(work, `finalize-${MINUTES}m-fragmented.mp4`);
if (!existsSync(fragmented)) {
  const t0 = performance.now();
  // Written aside and renamed: a run that fails midway leaves nothing a later run would take as whole.
  await writeFragmented(`${fragmented}.partial`);
  renameSync(`${fragmented}.partial`, fragmented);
  process.stderr.write(`wrote ${fragmented}: ${(statSync(fragmented).size / 2 ** 20).toFixed(0)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

const copy = (name) => {
  const p = join(work, name);
  rmSync(p, { force: true });
  copyFileSync(fragmented, p);
  return p;
};
const results = compare({
  avpipe: () => {
    const p = copy('finalize-avpipe.mp4');
    return timed(process.execPath, [CLI, 'repair', p, '--json']);
  },
  ffmpeg: () => {
    const p = copy('finalize-ffmpeg-in.mp4');
    return timed('ffmpeg', ['-v', 'error', '-y', '-i', p, '-c', 'copy', join(work, 'finalize-ffmpeg.mp4')]);
  },
}, REPS, 'avpipe');

const out = writeResult('finalize', { date: new Date().toISOString(), machine: machine(), reps: REPS, minutes: MINUTES, fileMiB: statSync(fragmented).size / 2 ** 20, results });
console.log(`\nfinalizing ${MINUTES} min of live MP4 (${(statSync(fragmented).size / 2 ** 20).toFixed(0)} MiB)\n| | wall | peak RSS |\n|---|---|---|`);
for (const [n, s] of Object.entries(results.summary)) console.log(`| ${n} | ${s.wallS.toFixed(2)} s | ${s.peakRssMiB.toFixed(0)} MiB |`);
console.log(Object.entries(results.ratios).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', '));
console.log(`\nwritten ${out}`);
