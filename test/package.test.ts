import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { frames, probe, streamOf } from './helpers/ffprobe.js';
import { itNeeding } from './helpers/peers.js';
import { REDIS_MISSING, startRedis } from './helpers/redis-server.js';
import { publish } from './helpers/webrtc-publisher.js';
import { tmpDir } from './helpers/tmp.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

/** The TypeScript blocks of the README and the guides (docs/), each a module of its own (the names it uses imported where it imports none). */
function readmeBlocks(): string[] {
  const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
  const text = pages.map((p) => readFileSync(join(ROOT, p), 'utf8')).join('\n');
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => {
    const code = m[1]!;
    const imports = /^import /m.test(code) ? '' : "import { createController, createPipelineConfig } from 'avpipe';\n";
    return `${imports}${code}\nexport {};\n`;
  });
}

/**
 * The package as a user gets it: `npm pack`, unpacked into a fresh project's node_modules (its
 * dependencies linked from this checkout's, as npm would have installed them), and used from there.
 */
describe('the packed package in a consumer project', () => {
  const dir = tmpDir();
  const consumer = join(dir, 'consumer');
  const modules = join(consumer, 'node_modules');
  let files: string[] = [];

  it('packs only what a user needs: the built code, its types, the CLI, the wasm workers, the README and the guides and examples it links', async () => {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, maxBuffer: 1 << 26 });
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    files = packed!.files.map((f) => f.path);
    for (const needed of ['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/jobs/index.js', 'dist/jobs/index.d.ts']) expect(files).toContain(needed);
    // What the wasm provider loads at run time, beside the code.
    expect(files.some((f) => f.startsWith('wasm/'))).toBe(true);
    // The guides and examples the README links to, so its links hold on npm too.
    for (const linked of ['docs/errors.md', 'docs/export.md', 'examples/custom-source.ts']) expect(files).toContain(linked);
    // Nor the generated API reference (`npm run docs` writes it to docs/api/).
    expect(files.filter((f) => /^(src|test|bench|\.ci|docs\/api)\//.test(f))).toEqual([]);
    mkdirSync(join(modules, 'avpipe'), { recursive: true });
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { avpipe: `file:${packed!.filename}` } }));
    await run('tar', ['xzf', join(dir, packed!.filename), '-C', join(modules, 'avpipe'), '--strip-components=1']);
    for (const dep of [...Object.keys(pkg.dependencies), '@types/node']) {
      mkdirSync(dirname(join(modules, dep)), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules', dep), join(modules, dep), 'dir');
    }
  });

  it.each([
    ['lib es2022, types node', { lib: ['es2022'], types: ['node'] }],
    ['the default lib (with the DOM)', {}],
  ])('compiles every TypeScript block of the README and the guides under strict settings (%s)', async (_, extra) => {
    const src = join(consumer, 'src');
    mkdirSync(src, { recursive: true });
    readmeBlocks().forEach((code, i) => writeFileSync(join(src, `readme-${i}.ts`), code));
    // Names a block takes from around it (the publisher's SDP offer).
    writeFileSync(join(src, 'context.d.ts'), 'declare const offerSdp: string;\n');
    const tsconfig = join(consumer, `tsconfig-${Object.keys(extra).length}.json`);
    writeFileSync(tsconfig, JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, ...extra },
      include: ['src'],
    }));
    const r = await run(process.execPath, [TSC, '-p', tsconfig], { cwd: consumer }).catch((err: { stdout: string }) => ({ stdout: err.stdout, failed: true }));
    expect(r.stdout).toBe('');
  }, 60_000);

  it('compiles the examples (examples/*.ts) against it and runs two: an export with progress, a source of one\'s own; ffprobe reads what they wrote', async () => {
    const src = join(consumer, 'examples');
    mkdirSync(src, { recursive: true });
    for (const f of readdirSync(join(ROOT, 'examples')).filter((x) => x.endsWith('.ts'))) writeFileSync(join(src, f), readFileSync(join(ROOT, 'examples', f)));
    const tsconfig = join(consumer, 'tsconfig-examples.json');
    writeFileSync(tsconfig, JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022'], types: ['node'], strict: true, skipLibCheck: true, outDir: 'examples-js' },
      include: ['examples'],
    }));
    const tsc = await run(process.execPath, [TSC, '-p', tsconfig], { cwd: consumer }).catch((err: { stdout: string }) => ({ stdout: err.stdout }));
    expect(tsc.stdout).toBe('');
    const generated = join(consumer, 'generated.webm');
    const made = await run(process.execPath, [join(consumer, 'examples-js', 'custom-source.js'), generated], { cwd: consumer });
    expect(made.stdout).toMatch(/^COMPLETE 20\d\d(\.\d+)? video transcode, audio transcode/);
    const g = await probe(generated);
    expect(streamOf(g, 'video')).toMatchObject({ codec_name: 'vp8', width: 320, height: 180 });
    expect(frames(streamOf(g, 'video'))).toBe(60);
    expect(streamOf(g, 'audio').codec_name).toBe('opus');
    // The export example takes what the other made: 2 s of it, with its progress bar on stderr.
    const exported = join(consumer, 'export.mp4');
    const ex = await run(process.execPath, [join(consumer, 'examples-js', 'export-with-progress.js'), exported, generated], { cwd: consumer });
    expect(ex.stdout).toMatch(new RegExp(`^COMPLETE: ${exported.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, \\d+ bytes`));
    expect(ex.stderr).toMatch(/\r\d+\.\d s \d+% at [\d.]+x/);
    const e = await probe(exported);
    expect(streamOf(e, 'video')).toMatchObject({ codec_name: 'h264', width: 640, height: 360 });
    expect(frames(streamOf(e, 'video'))).toBe(60);
  }, 60_000);

  it('runs a short export through the public API from the installed package', async () => {
    const script = join(consumer, 'export.mjs');
    writeFileSync(script, `
import { createController, createPipelineConfig } from 'avpipe';
const result = await createController(createPipelineConfig({
  live: false, source: { type: 'test', duration: 1 }, encoding: { width: 320, height: 240 }, outputs: [{ path: ${JSON.stringify(join(consumer, 'out.mp4'))} }],
})).start();
const file = result.outputs.find((o) => o.type === 'file');
console.log(JSON.stringify({ status: result.status, size: file?.size ?? 0 }));
`);
    const { stdout } = await run(process.execPath, [script], { cwd: consumer });
    const r = JSON.parse(stdout) as { status: string; size: number };
    expect(r.status).toBe('COMPLETE');
    expect(r.size).toBeGreaterThan(1000);
  }, 60_000);

  /** A compiled example started in the consumer project, its stdout collected; `line` waits for a line matching. */
  function startExample(name: string, args: string[]): { child: ChildProcess; out: () => string; line: (re: RegExp) => Promise<RegExpExecArray>; exited: Promise<number | null> } {
    const child = spawn(process.execPath, [join(consumer, 'examples-js', `${name}.js`), ...args], { cwd: consumer, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const line = async (re: RegExp): Promise<RegExpExecArray> => {
      for (let i = 0; i < 200; i++) {
        const m = re.exec(out);
        if (m !== null) return m;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${name}: no line matching ${String(re)} in 20 s; stdout:\n${out}\nstderr:\n${err}`);
    };
    return { child, out: () => out, line, exited };
  }

  it('runs the WHIP example: a publisher\'s 3 s (werift, VP8 + Opus) recorded to HLS and uploaded under its name and session id; SIGINT finalizes and exits 0', async () => {
    const upload = join(consumer, 'uploaded');
    const ex = startExample('whip-to-hls', ['127.0.0.1:0', upload]);
    try {
      const [, base] = await ex.line(/^WHIP endpoint: (http:\/\/[^\s]+)\/whip\/<name>$/m);
      let resource = '';
      const { report } = await publish({
        seconds: 3, width: 320, height: 240,
        signal: async (offer) => {
          const res = await fetch(`${base!}/whip/cam1`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
          expect(res.status).toBe(201);
          resource = new URL(res.headers.get('location')!, base).href;
          return res.text();
        },
      });
      expect((await fetch(resource, { method: 'DELETE' })).status).toBe(200);
      const [, files] = await ex.line(/^cam1: COMPLETE, 3\.\d s, (\d+) files uploaded$/m);
      const [, id] = await ex.line(/^cam1: publishing \(session ([0-9a-f-]+)\)$/m);
      ex.child.kill('SIGINT');
      expect(await ex.exited).toBe(0);
      const [session, ...others] = readdirSync(join(upload, 'cam1'));
      expect([session, others]).toEqual([id, []]);
      const uploaded = readdirSync(join(upload, 'cam1', session!));
      expect(uploaded).toContain('index.m3u8');
      // Each segment and the playlist (uploaded again as it grows, the same file each time).
      expect(uploaded.filter((f) => f.endsWith('.ts')).length).toBeGreaterThanOrEqual(2);
      expect(Number(files)).toBeGreaterThanOrEqual(uploaded.length);
      const hls = await probe(join(upload, 'cam1', session!, 'index.m3u8'));
      expect(frames(streamOf(hls, 'video'))).toBe(report.videoFrames);
      expect(streamOf(hls, 'audio').codec_name).toBe('aac');
    } finally {
      ex.child.kill('SIGKILL');
    }
  }, 60_000);

  itNeeding(REDIS_MISSING)('runs the jobs examples against a real Redis: the worker runs what the submitter queued, SIGTERM drains it and it exits 0', async () => {
    const redis = await startRedis();
    const worker = startExample('job-worker', [redis.url]);
    try {
      await worker.line(/^worker \S+: jobs up to [\d.]+ of \d+ cores$/m);
      const out = join(consumer, 'job.mp4');
      const { stdout } = await run(process.execPath, [join(consumer, 'examples-js', 'submit-job.js'), out, '--redis', redis.url], { cwd: consumer });
      const m = new RegExp(`^COMPLETE: ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, \\d+ bytes, job (\\S+), attempt 1$`, 'm').exec(stdout);
      expect(m, stdout).not.toBeNull();
      await worker.line(new RegExp(`^job ${m![1]!}: COMPLETE, 5\\.0 s of media`, 'm'));
      expect(frames(streamOf(await probe(out), 'video'))).toBe(150);
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(worker.out()).toContain('draining: finishing 0 running job(s)');
    } finally {
      worker.child.kill('SIGKILL');
      await redis.stop();
    }
  }, 60_000);
});
