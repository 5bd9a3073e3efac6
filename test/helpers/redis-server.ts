import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { freePort } from './ports.js';

/** A real redis-server (Debian's package) on a loopback port, in memory only. */
export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Whether Debian's `redis-server` is on the PATH (`.ci/run` installs it). */
export const HAVE_REDIS: boolean = spawnSync('redis-server', ['--version']).error === undefined;

/**
 * Starts Debian's `redis-server` on a free loopback port with no persistence, and waits until it
 * accepts connections.
 */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-500)}`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
