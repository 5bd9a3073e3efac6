// Shared by the benchmarks: timing under GNU time, medians, paired ratios, result files.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

import { root } from './paths.mjs';
import { median } from './stats.mjs';

export { root };
export const CLI = join(root, 'dist', 'cli', 'main.js');
export const work = join(root, 'bench', 'work');
mkdirSync(work, { recursive: true });

export const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
if (!have('/usr/bin/time')) throw new Error('GNU time (/usr/bin/time) is needed: apt-get install time');

/** Runs a command under GNU time; returns wall seconds, CPU seconds (user + system), peak RSS in MiB and stdout. */
export function timed(cmd, args, opts = {}) {
  const r = spawnSync('/usr/bin/time', ['-f', '__TIME__ %e %M %U %S', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 26, ...opts });
  const m = /__TIME__ ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (r.status !== 0 || m === null) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr.slice(-2000)}`);
  return { wall: Number(m[1]), rssMiB: Number(m[2]) / 1024, cpu: Number(m[3]) + Number(m[4]), stdout: r.stdout };
}

export { median };

/**
 * Runs each contender `reps` times in rotating order; returns per-contender medians and the
 * median of per-rep ratios against `base`.
 */
export function compare(contenders, reps, base, onResult = () => {}) {
  const names = Object.keys(contenders);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let rep = 0; rep < reps; rep++) {
    for (const name of names.map((_, i) => names[(i + rep) % names.length])) {
      const r = contenders[name]();
      samples[name].push(r);
      onResult(name, r);
      process.stderr.write(`rep ${rep + 1} ${name.padEnd(18)} ${r.wall.toFixed(2)} s  ${r.rssMiB.toFixed(0)} MiB\n`);
    }
  }
  const summary = Object.fromEntries(names.map((n) => [n, {
    wallS: median(samples[n].map((s) => s.wall)), cpuS: median(samples[n].map((s) => s.cpu)), peakRssMiB: median(samples[n].map((s) => s.rssMiB)),
    walls: samples[n].map((s) => s.wall),
  }]));
  const others = names.filter((n) => n !== base);
  const ratios = Object.fromEntries(others.map((n) => [`${base}/${n}`, median(samples[base].map((s, i) => s.wall / samples[n][i].wall))]));
  const cpuRatios = Object.fromEntries(others.map((n) => [`${base}/${n}`, median(samples[base].map((s, i) => s.cpu / samples[n][i].cpu))]));
  return { summary, ratios, cpuRatios };
}

/** Machine and tool versions for a result file. */
export function machine() {
  return { cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
}

/** Writes a result file under bench/results/ and returns its path. */
export function writeResult(name, report) {
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  const out = join(root, 'bench', 'results', `${name}-${new Date().toISOString().slice(0, 19).replace(/:/g, '')}.json`);
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  return out;
}
