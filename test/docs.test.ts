import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
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
