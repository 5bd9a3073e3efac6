import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { LoadMonitor } from '../../src/jobs/load-monitor.js';

describe('LoadMonitor', () => {
  it.runIf(process.platform === 'linux')('counts the CPU of the processes jobs run in (its children), not only its own', async () => {
    const samples: number[] = [];
    let monitor: LoadMonitor | undefined;
    const sampled = new Promise<void>((resolve) => {
      monitor = new LoadMonitor(2, () => {
        samples.push(monitor!.sample().cpuCores);
        if (samples.length === 3) resolve();
      });
    });
    // A child that spins for 4 s: this process itself stays idle, waiting.
    const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 4000; while (Date.now() < end);'], { stdio: 'ignore' });
    try {
      await sampled;
    } finally {
      monitor!.close();
      child.kill();
      await once(child, 'exit');
    }
    // Samples 2 and 3 fall wholly inside the spin: about one core each, however busy the machine is
    // (the bound leaves room for a shared 2-core machine; without the children it reads near 0).
    expect(Math.max(samples[1]!, samples[2]!)).toBeGreaterThan(0.4);
  });
});
