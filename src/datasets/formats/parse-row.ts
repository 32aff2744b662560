// Parsing one row's JSON text, shared by the JSONL and JSON-array readers: a row that is not a JSON
// object is either thrown (naming file and row) or reported and skipped, as the caller chose.

import { fail } from '../../errors.js';
import type { Row } from '../types.js';
import type { ReadOptions } from './types.js';

/** Returns the parsed row, or undefined when it was malformed and the caller asked to skip such rows. */
export function parseRowText(file: string, text: string, index: number, options: ReadOptions): Row | undefined {
  let message: string;
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Row;
    message = `is not a JSON object, got ${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value}`;
  } catch (e) {
    message = `is not valid JSON (${(e as Error).message})`;
  }
  const problem = { file, row: index + 1, field: '(row)', message: `${file} row ${index + 1}: ${message}` };
  if (!options.onMalformed) throw fail('ALIGNKIT_ERR_DATASET_ROW', problem.message, { file, row: problem.row, field: problem.field });
  options.onMalformed(problem);
  return undefined;
}
