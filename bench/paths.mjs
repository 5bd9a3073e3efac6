// Where the project is: shared by the benchmarks and the table made from their results (no side effects).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
