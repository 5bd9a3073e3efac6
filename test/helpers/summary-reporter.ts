import type { Reporter, TestModule } from 'vitest/node';
import { IN_CI } from './ci.js';

/**
 * Ends the run with the plain line CI reads: `N passed, N failed` (and skipped, when any), and names
 * every test that passed only on a retry (the load-sensitive ones may retry once: never silently).
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const retried: string[] = [];
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        const retries = t.diagnostic()?.retryCount ?? 0;
        if (retries > 0) retried.push(`${t.fullName} (${state} after ${retries} ${retries === 1 ? 'retry' : 'retries'})`);
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
    }
    const line = `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}${retried.length > 0 ? `, ${retried.length} retried` : ''}`;
    if (retried.length > 0) process.once('exit', () => process.stdout.write(`\nretried:\n${retried.map((r) => `  ${r}`).join('\n')}\n`));
    // In CI every test runs: a skip there (a filter, a condition) fails the run, so CI cannot pass
    // without the independent peers (test/helpers/peers.ts fails a test whose peer is missing).
    if (IN_CI && skipped > 0) {
      process.exitCode = 1;
      process.once('exit', () => process.stdout.write(`CI: ${skipped} test(s) skipped; every test must run here\n`));
    }
    // Printed at exit, after vitest's own summary, so that it is the run's last line.
    process.once('exit', () => process.stdout.write(`\n${line}\n`));
  }
}
