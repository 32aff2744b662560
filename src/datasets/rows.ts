// Format-independent row streaming: `readRows` and `writeRows` pick the format from the table in
// ./formats by extension (or by explicit name) and fill in defaults in one place.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fail } from '../errors.js';
import { formatFor, type FormatName, type IndexedRow } from './formats/index.js';
import type { Row, RowProblem } from './types.js';

export interface ReadRowsOptions {
  /** Overrides the extension. */
  format?: FormatName;
  /** Bytes per disk read for text formats (default 1 MiB). */
  chunkSize?: number;
  /** Report-and-skip rows that are not parseable at all, instead of throwing. */
  onMalformed?: (problem: RowProblem) => void;
}

export interface WriteRowsOptions {
  /** Overrides the extension. */
  format?: FormatName;
  /** Rows per Arrow record batch / Parquet row group (default 1000). */
  batchSize?: number;
}

export const ROW_IO_DEFAULTS = {
  // 1 MiB reads: large enough that syscalls do not dominate, small next to any machine's memory.
  chunkSize: 1 << 20,
  // 1000 rows per batch matches hyparquet-writer's first row group and keeps preference rows (a few KB each) to a few MB.
  batchSize: 1000,
} as const;

function positiveInteger(value: number, parameter: string): number {
  if (!Number.isInteger(value) || value <= 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `${parameter} must be a positive integer, got ${value}`, { parameter });
  return value;
}

/** Streams the rows of a dataset file with their 0-based positions. */
export async function* readRows(file: string, options: ReadRowsOptions = {}): AsyncGenerator<IndexedRow> {
  const format = formatFor(file, options.format);
  const chunkSize = positiveInteger(options.chunkSize ?? ROW_IO_DEFAULTS.chunkSize, 'chunkSize');
  if (!fs.existsSync(file)) throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `dataset file ${file} does not exist`, { file });
  yield* format.read(file, { chunkSize, onMalformed: options.onMalformed });
}

/**
 * A temporary path beside `file` (same directory, so the final rename stays on one file system and
 * is atomic), hidden and named after the output so a leftover from a killed process is recognisable.
 */
export function temporaryPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/** Flushes a complete temporary file to disk and renames it over `file` (atomic on one file system). */
export function commitFile(temporary: string, file: string): void {
  const fd = fs.openSync(temporary, 'r+');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temporary, file);
}

/**
 * Writes rows (an array, generator or async stream) to a jsonl/json/arrow/parquet file; resolves to
 * the count. The rows go to a temporary file in the same directory, flushed to disk and renamed over
 * `file` only when complete: a failure, or a process killed mid-write, leaves whatever was at `file`
 * before untouched, never a half-written file that reads as a shorter dataset.
 */
export async function writeRows(file: string, rows: AsyncIterable<Row> | Iterable<Row>, options: WriteRowsOptions = {}): Promise<number> {
  const format = formatFor(file, options.format);
  const batchSize = positiveInteger(options.batchSize ?? ROW_IO_DEFAULTS.batchSize, 'batchSize');
  const temporary = temporaryPathFor(file);
  try {
    const count = await format.write(temporary, rows, { batchSize });
    commitFile(temporary, file);
    return count;
  } catch (e) {
    fs.rmSync(temporary, { force: true });
    throw e;
  }
}
