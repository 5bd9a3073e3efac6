#!/usr/bin/env node
// `npm run bench`: every workload, one after the other (never two at once on a shared machine), then
// the README's table made from the results. W1 (test source, `--parallel` auto and 1), W2, W3, W3-long
// and W4 (exports), the wasm provider at 360p and 720p veryfast (auto, a split, and `--parallel 1`); each against the ffmpeg CLI (and
// GStreamer where it does the same job), rotating order, 3 reps, medians and paired ratios.
// Needs Debian's ffmpeg, GStreamer (base/good/bad/ugly, libav) and GNU time; takes about 15 minutes.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { root } from './paths.mjs';

const steps = [
  ['w1.mjs'],
  ['export.mjs'],
  ['wasm.mjs', '--presets', 'veryfast', '--only', 'W1'],
  ['table.mjs', '--write'],
];
for (const [script, ...args] of steps) {
  process.stderr.write(`\n== bench/${script} ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [join(root, 'bench', script), ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
