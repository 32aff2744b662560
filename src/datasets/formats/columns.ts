// Column typing shared by the columnar writers (Arrow, Parquet): rows are schemaless JS objects, the
// formats need one type per column, so we infer it once from the first batch and then hold every
// later row to it (a row that breaks the schema is an error naming the row and column).

import { fail } from '../../errors.js';
import type { Row } from '../types.js';

/** The few column types a preference dataset needs; anything else nested is stored as JSON text. */
export type ColumnType = 'string' | 'number' | 'boolean' | 'messages' | 'json';

export interface ColumnSpec {
  name: string;
  type: ColumnType;
}

function isMessageList(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.every((m) => m !== null && typeof m === 'object' && typeof (m as Row).role === 'string' && typeof (m as Row).content === 'string' && Object.keys(m as Row).length === 2)
  );
}

/** The narrowest type that holds one value; `undefined` for null (nulls fit any nullable column). */
function typeOfValue(value: unknown): ColumnType | undefined {
  if (value === null || value === undefined) return undefined;
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    default:
      return isMessageList(value) ? 'messages' : 'json';
  }
}

/** Two different value types in one column widen to JSON text, which holds anything. */
function widen(a: ColumnType | undefined, b: ColumnType | undefined): ColumnType | undefined {
  if (a === undefined) return b;
  if (b === undefined || a === b) return a;
  return 'json';
}

/**
 * Column names in first-seen order and the widest type seen for each. A column that is null in every
 * row of the first batch becomes JSON text, the one type that can hold whatever later batches bring.
 */
export function inferColumns(rows: readonly Row[]): ColumnSpec[] {
  const types = new Map<string, ColumnType | undefined>();
  for (const row of rows) {
    for (const [name, value] of Object.entries(row)) types.set(name, widen(types.get(name), typeOfValue(value)));
  }
  return [...types].map(([name, type]) => ({ name, type: type ?? 'json' }));
}

/** Checks that a row fits the schema fixed by the first batch; `rowIndex` is 0-based. */
export function checkRowAgainstColumns(file: string, row: Row, rowIndex: number, columns: readonly ColumnSpec[]): void {
  const byName = new Map(columns.map((c) => [c.name, c.type]));
  for (const [name, value] of Object.entries(row)) {
    const want = byName.get(name);
    if (want === undefined) {
      throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${file} row ${rowIndex + 1}: column "${name}" is not in the schema fixed by the first rows (${columns.map((c) => c.name).join(', ')})`, { file, row: rowIndex + 1, field: name });
    }
    const got = typeOfValue(value);
    if (got !== undefined && want !== 'json' && got !== want) {
      throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${file} row ${rowIndex + 1}: column "${name}" holds ${got} but the schema fixed by the first rows says ${want}`, { file, row: rowIndex + 1, field: name });
    }
  }
}

/**
 * Turns what columnar readers hand back into plain JSON-like values: bigint to number (or to a
 * decimal string when it does not fit a double exactly), typed arrays and Arrow vectors to arrays,
 * Arrow struct rows to objects.
 */
export function toPlain(value: unknown): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value !== 'object') return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toPlain);
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number | bigint>, toPlain);
  // Arrow Vectors and StructRows both expose toJSON() (an array / an object of possibly nested Arrow values).
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return toPlain((value as { toJSON(): unknown }).toJSON());
  const out: Row = {};
  for (const [k, v] of Object.entries(value as Row)) out[k] = toPlain(v);
  return out;
}
