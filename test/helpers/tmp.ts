import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** A fresh temporary directory, removed after the test file. */
export function tmpDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'avpipe-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
