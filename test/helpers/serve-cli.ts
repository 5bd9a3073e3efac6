import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { PipelineResult, WebRtcSourceStats } from '../../src/index.js';

const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const RSS = fileURLToPath(new URL('../fixtures/max-rss/report.mjs', import.meta.url));

/** One session's line of `serve --json`. */
export type SessionResult = PipelineResult & { name: string; source: WebRtcSourceStats };

/** A running `avpipe serve --whip`. */
export interface ServeCli {
  base: string;
  /** The sessions that ended so far. */
  results(): SessionResult[];
  /** SIGTERM, as a container runtime or systemd sends it: every session finalized; the exit code. */
  stop(): Promise<number | null>;
  /** The process's peak RSS in MB, known once it has exited (Infinity before). */
  peakRssMb(): number;
}

/** A free loopback port. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * `avpipe serve --whip` (the built CLI, sessions on 2 worker threads) recording each session to
 * `{name}.<ext>` in `outDir`, its peak RSS reported as it exits.
 */
export async function serveCli(outDir: string, ext: string): Promise<ServeCli> {
  const port = await freePort();
  const cli = spawn(process.execPath, ['--import', RSS, CLI, 'serve', '--whip', '--listen', `127.0.0.1:${port}`, '--output-dir', outDir, '--output', `{name}.${ext}`, '--json', '--workers', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  cli.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  cli.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)));
  for (let i = 0; i < 100 && !stderr.includes('WHIP endpoint at'); i++) await new Promise((r) => setTimeout(r, 100));
  return {
    base: `http://127.0.0.1:${port}`,
    results: () => stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as SessionResult),
    stop: async () => {
      cli.kill('SIGTERM');
      const timer = setTimeout(() => cli.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    peakRssMb: () => {
      const m = /AVPIPE_MAX_RSS_KB=(\d+)/.exec(stderr);
      return m === null ? Infinity : Number(m[1]) / 1024;
    },
  };
}
