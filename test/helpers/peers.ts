import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { IN_CI } from './ci.js';

/** Where `name` is on the PATH, as `.ci/run`'s `command -v` finds it; undefined when it is not. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}


/** What a group of tests needs and why it may be missing: `null` when it is here. */
export type Missing = string | null;

/**
 * A `describe` for tests that need an independent peer or a capability (`missing` says which is
 * absent, or null). Present: a plain describe. Missing in CI: its tests fail, naming what is missing
 * (an independent peer skipped would let CI pass without it). Missing elsewhere: skipped, the reason in
 * the suite's name, so the report says why.
 */
export function describeNeeding(missing: Missing): (title: string, fn: () => void) => void {
  if (missing === null) return (title, fn) => describe(title, fn);
  if (IN_CI) {
    return (title, fn) => describe(title, () => {
      beforeAll(() => {
        throw missingInCi(missing);
      });
      fn();
    });
  }
  return (title, fn) => describe.skip(`${title} [skipped: ${missing}]`, fn);
}

/** What a test whose peer is missing fails with in CI. */
function missingInCi(missing: string): Error {
  return new Error(`${missing}: in CI a missing peer fails its tests rather than skipping them`);
}

/** Debian's chromium (.ci/run installs it; a test tool's own browser download cannot work here), or CHROMIUM_PATH. */
export const CHROMIUM: string | undefined = process.env['CHROMIUM_PATH'] ?? onPath('chromium');
/** Why the browser tests cannot run here, or null. */
export const CHROMIUM_MISSING: Missing = CHROMIUM === undefined ? missingTools([{ command: 'chromium', apt: 'chromium' }]) : null;

/** Each tool that is not on the PATH, with the Debian package that has it; null when all are. */
export function missingTools(tools: readonly { command: string; apt: string }[]): Missing {
  const absent = tools.filter((t) => onPath(t.command) === undefined);
  return absent.length === 0 ? null : `${absent.map((t) => t.command).join(', ')} not on the PATH (apt-get install ${absent.map((t) => t.apt).join(' ')}, as .ci/run does)`;
}

/** {@link describeNeeding} for one test. */
export function itNeeding(missing: Missing): (title: string, fn: () => Promise<void>, timeout?: number) => void {
  if (missing === null) return (title, fn, timeout) => it(title, fn, timeout);
  if (IN_CI) {
    return (title) => it(title, () => {
      throw missingInCi(missing);
    });
  }
  return (title, fn) => it.skip(`${title} [skipped: ${missing}]`, fn);
}
