import { spawn, type ChildProcess } from 'node:child_process';
import { missingTools, type Missing } from './peers.js';
import { freePort } from './ports.js';

/** A real redis-server (Debian's package) on a loopback port. */
export interface RedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Kills the server (SIGKILL: no save on the way out) and starts it again on the same port and files. */
  crashAndRestart(): Promise<void>;
}

/** Why the Redis tests cannot run here (Debian's `redis-server` not on the PATH), or null. */
export const REDIS_MISSING: Missing = missingTools([{ command: 'redis-server', apt: 'redis-server' }]);

/**
 * Starts Debian's `redis-server` on a free loopback port and waits until it accepts connections:
 * in memory only, or with `persistDir` as the README asks of a fleet's Redis (an append-only file
 * written on every change, no eviction).
 */
export async function startRedis(options: { persistDir?: string } = {}): Promise<RedisServer> {
  const port = await freePort();
  const persist = options.persistDir === undefined
    ? ['--save', '', '--appendonly', 'no']
    : ['--dir', options.persistDir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction'];
  const args = ['--port', String(port), '--bind', '127.0.0.1', ...persist];
  const start = async (): Promise<ChildProcess> => {
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-500)}`)));
    });
    return child;
  };
  let child = await start();
  const stop = (signal: NodeJS.Signals): Promise<void> => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => stop('SIGTERM'),
    crashAndRestart: async () => {
      await stop('SIGKILL');
      child = await start();
    },
  };
}
