import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tmpDir } from './helpers/tmp.js';
import { ERROR_CODES, WARNING_CODES } from '../src/index.js';

const errorsDoc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');

/** The `### CODE` headings of a part of the page. */
function headings(part: string): string[] {
  return [...part.matchAll(/^### ([A-Z_]+)$/gm)].map((m) => m[1]!);
}

describe('docs/errors.md', () => {
  const [errors = '', warnings = ''] = errorsDoc.split(/^## Warning codes$/m);

  it('documents every error code the code has, and no other', () => {
    expect(headings(errors).sort()).toEqual([...ERROR_CODES].sort());
  });

  it('documents every warning code the code has, and no other', () => {
    expect(headings(warnings).sort()).toEqual([...WARNING_CODES].sort());
  });

  it('says what to do for each', () => {
    for (const section of errorsDoc.split(/^### /m).slice(1)) expect(section, section.split('\n')[0]).toContain('**Do:**');
  });

  it('is reachable from the README', () => {
    expect(readFileSync(new URL('../README.md', import.meta.url), 'utf8')).toContain('(docs/errors.md)');
  });
});

describe('the API reference (TypeDoc, `npm run docs`)', () => {
  const ROOT = fileURLToPath(new URL('..', import.meta.url));

  it('builds from the doc comments with no warning: every public symbol documented (typedoc.json: validation.notDocumented, warnings as errors), no broken link, nothing public referring to a type left out', async () => {
    const config = JSON.parse(readFileSync(join(ROOT, 'typedoc.json'), 'utf8')) as { validation: Record<string, boolean>; treatValidationWarningsAsErrors: boolean };
    expect(config.validation).toEqual({ notExported: true, invalidLink: true, notDocumented: true });
    expect(config.treatValidationWarningsAsErrors).toBe(true);
    const model = join(tmpDir(), 'api.json');
    const r = await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules', 'typedoc', 'bin', 'typedoc'), '--json', model, '--logLevel', 'Warn'], { cwd: ROOT, maxBuffer: 1 << 24 })
      .catch((err: { stdout: string; stderr: string }) => ({ stdout: err.stdout, stderr: err.stderr }));
    expect(`${r.stdout}${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, '')).toBe('');
    // The model holds both entry points and the symbols a user starts from, each with its comment.
    interface Reflection { name: string; comment?: { summary: unknown[] }; signatures?: Reflection[]; children?: Reflection[] }
    const api = JSON.parse(readFileSync(model, 'utf8')) as Reflection;
    const entry = (name: string): Reflection => api.children!.find((c) => c.name === name)!;
    const documented = (r: Reflection | undefined): boolean => (r?.comment ?? r?.signatures?.[0]?.comment) !== undefined;
    for (const name of ['createController', 'createPipelineConfig', 'createControllerWithSource', 'WhipServer', 'PipelineResult', 'Source']) {
      expect(documented(entry('index').children!.find((c) => c.name === name)), name).toBe(true);
    }
    expect(documented(entry('jobs').children!.find((c) => c.name === 'createWorker'))).toBe(true);
  }, 60_000);
});
