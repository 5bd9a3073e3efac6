import { readFileSync } from 'node:fs';
import { USAGE } from './args.js';

/** The CLI's commands, as `avpipe help` lists them. */
export const COMMANDS = ['record', 'export', 'serve', 'repair', 'worker', 'submit'] as const;

/** The commands whose options include the shared ones ("options of all"). */
const SHARED = new Set(['record', 'export', 'serve', 'submit']);

/** `avpipe VERSION`, from the package's own package.json (beside dist/ or src/). */
export function versionText(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `avpipe ${pkg.version}\n`;
}

/**
 * One command's help, cut from the usage text (one source for both): its usage lines, its own
 * section and, for the commands that take them, the options shared by all. Undefined for an unknown command.
 */
export function commandHelp(command: string): string | undefined {
  if (!(COMMANDS as readonly string[]).includes(command)) return undefined;
  const [usage = '', ...sections] = USAGE.split('\n\n');
  const lines = usage.split('\n');
  const own: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/^usage: /, '       ');
    if (line.trimStart().startsWith(`avpipe ${command} `)) {
      own.push(line);
      // Its continuation lines (deeper indented, no command of their own).
      while (i + 1 < lines.length && !lines[i + 1]!.trimStart().startsWith('avpipe ')) own.push(lines[++i]!);
    }
  }
  const section = sections.find((s) => s.startsWith(`${command}:`));
  const shared = SHARED.has(command) ? sections.find((s) => s.startsWith('options of all')) : undefined;
  const logs = sections.find((s) => s.startsWith('logs (every command'))?.trimEnd();
  return [`usage: ${own.join('\n').trimStart()}`, section, shared, logs].filter((s) => s !== undefined).join('\n\n') + '\n';
}

/** The options a command's help names (`--name`), for suggestions. */
export function optionsOf(command: string): string[] {
  return [...new Set((commandHelp(command) ?? '').match(/--[a-z][a-z0-9-]*/g) ?? [])];
}

/** The candidate closest to `word` when it is close enough to be a slip (a typo, two letters swapped). */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** Optimal string alignment distance: edits, a swap of two neighbours counting one. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
