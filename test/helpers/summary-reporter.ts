import type { Reporter, TestModule } from 'vitest/node';
import { IN_CI } from './ci.js';

/** Ends the run with the plain line CI reads: `N passed, N failed` (and skipped, when any). */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const state = t.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped++;
      }
    }
    const line = `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`;
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
