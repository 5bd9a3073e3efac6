#!/usr/bin/env node
// The benchmark table, made from the result files: for each workload, the newest file under
// bench/results/ that measured it (a W2 from the newest export run that ran W2, and so on). Prints the
// table; `--write` puts it between its markers in README.md and docs/benchmarks.md. A test checks both
// hold what this prints.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { root } from './paths.mjs';
import { pairedRatio } from './stats.mjs';

const dir = join(root, 'bench', 'results');
const START = '<!-- bench:table (made by `node bench/table.mjs --write` from bench/results) -->';
const END = '<!-- /bench:table -->';

/** Result files of one kind, newest first (their names carry the time). */
const files = (kind) => readdirSync(dir).filter((f) => f.startsWith(`${kind}-`) && f.endsWith('.json')).sort().reverse();
const read = (f) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
const s = (x) => (x === undefined ? '' : `${x.toFixed(2)} s`);
const mib = (x) => (x === undefined ? '' : `${Math.round(x)} MiB`);
const ratio = (x) => (x === undefined ? '' : x.toFixed(3));

/** One row: the workload, avpipe's and the peers' median walls, the paired ratio, avpipe's CPU and peak RSS, the file. */
function row(name, file, summary, ratios, a = 'avpipe') {
  const me = summary[a];
  return `| ${name} | ${s(me.wallS)} | ${s(me.cpuS)} | ${s(summary.ffmpeg?.wallS)} | ${s(summary.gstreamer?.wallS)} | ${ratio(ratios[`${a}/ffmpeg`])} | ${mib(me.peakRssMiB)} | \`${file}\` |`;
}

export function table() {
  const rows = [];
  const w1 = files('w1')[0];
  if (w1 !== undefined) {
    const r = read(w1);
    rows.push(row('W1 test source -> H.264 + Opus MP4, 60 s 720p (`--parallel auto`)', w1, r.summary, r.ratios));
    if (r.summary['avpipe-p1'] !== undefined) rows.push(row('W1, `--parallel 1`', w1, r.summary, r.ratios, 'avpipe-p1'));
  }
  const exportNames = {
    W2: 'W2 transcode 60 s 720p H.264 + AAC -> H.264 + Opus (`--parallel auto`)', 'W2:avpipe-p1': 'W2, `--parallel 1`', W3: 'W3 copy, 60 s (a remux)',
    'W3-long': 'W3-long copy, 30 min (a remux)', W4: 'W4 Opus + AAC mixed, H.264 copied',
  };
  for (const [key, name] of Object.entries(exportNames)) {
    const [w, contender] = key.split(':');
    const f = files('export').find((x) => read(x).results?.[w] !== undefined && (contender === undefined || read(x).results[w].summary[contender] !== undefined));
    if (f === undefined) continue;
    const r = read(f).results[w];
    // A second avpipe contender's ratio to ffmpeg, paired rep by rep from its walls.
    const ratios = contender === undefined ? r.ratios : { [`${contender}/ffmpeg`]: pairedRatio(r.summary[contender].walls, r.summary.ffmpeg.walls) };
    // W4's length is the run's (`--w4-minutes`).
    const label = w === 'W4' ? name.replace('W4 ', `W4 ${read(f).w4Minutes}-min `) : name;
    rows.push(row(label, f, r.summary, ratios, contender ?? 'avpipe'));
  }
  const wasm = files('wasm')[0];
  if (wasm !== undefined) {
    for (const run of read(wasm).runs.filter((x) => x.workload === 'W1' && x.preset === 'veryfast')) {
      rows.push(row(`wasm provider, test source ${run.size} veryfast, ${read(wasm).seconds} s (${run.realtime['avpipe-wasm']}x realtime)`, wasm, run.summary, run.ratios, 'avpipe-wasm'));
      const p1 = run.summary['avpipe-wasm-p1'];
      if (p1 !== undefined) {
        const ratios = { 'avpipe-wasm-p1/ffmpeg': pairedRatio(p1.walls, run.summary.ffmpeg.walls) };
        rows.push(row(`wasm ${run.size}, \`--parallel 1\` (${run.realtime['avpipe-wasm-p1']}x realtime)`, wasm, run.summary, ratios, 'avpipe-wasm-p1'));
      }
    }
  }
  return [
    '| workload | avpipe wall | avpipe CPU | ffmpeg wall | GStreamer wall | avpipe / ffmpeg (paired) | avpipe peak RSS | result file |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** The pages that hold the table. */
export const PAGES = ['README.md', join('docs', 'benchmarks.md')];

/** A page's text with its table replaced. */
export function withTable(text, page = 'README.md') {
  const i = text.indexOf(START);
  const j = text.indexOf(END);
  if (i < 0 || j < i) throw new Error(`${page} has no ${START} ... ${END} section`);
  return `${text.slice(0, i + START.length)}\n${table()}\n${text.slice(j)}`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv.includes('--write')) {
    for (const page of PAGES) writeFileSync(join(root, page), withTable(readFileSync(join(root, page), 'utf8'), page));
  } else console.log(table());
}
