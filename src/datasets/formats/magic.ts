// Checks of a binary dataset file's framing before a third-party reader sees it: an empty, cut-off
// or foreign file otherwise ends in that reader's internals (`Offset is outside the bounds of the
// DataView`, `Cannot read properties of null (reading 'fieldsLength')`) or, worse, reads as a
// shorter dataset. The errors name the file and what is wrong with it.

import fs from 'node:fs';
import { fail, isAlignkitError } from '../../errors.js';

function edges(file: string, n: number): { size: number; head: Buffer; tail: Buffer } {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const head = Buffer.alloc(Math.min(n, size));
    const tail = Buffer.alloc(Math.min(n, size));
    fs.readSync(fd, head, 0, head.length, 0);
    fs.readSync(fd, tail, 0, tail.length, size - tail.length);
    return { size, head, tail };
  } finally {
    fs.closeSync(fd);
  }
}

const bad = (file: string, format: string, what: string) => fail('ALIGNKIT_ERR_BAD_FORMAT', `${file}: not a readable ${format} file: ${what}`, { file, format });

/** Parquet files start and end with the magic `PAR1`, the footer length between them (spec: "File Format"). */
export function checkParquetFraming(file: string): void {
  const { size, head, tail } = edges(file, 4);
  if (size === 0) throw bad(file, 'Parquet', 'it is empty (0 bytes)');
  if (size < 12) throw bad(file, 'Parquet', `it has ${size} bytes, fewer than the 12 of the smallest Parquet file`);
  if (head.toString('latin1') !== 'PAR1') throw bad(file, 'Parquet', 'it does not start with the Parquet magic PAR1');
  if (tail.toString('latin1') !== 'PAR1') throw bad(file, 'Parquet', 'it does not end with the Parquet magic PAR1: the footer is missing (file truncated or overwritten?)');
}

const ARROW_MAGIC = 'ARROW1';

/**
 * Arrow IPC: the file format is framed by `ARROW1` at both ends; the stream format has no magic and
 * starts with a message (the 0xFFFFFFFF continuation marker, or an old-style length). `.arrow` files
 * come in both (Hugging Face datasets caches are streams), so the framing decides which.
 */
export function checkArrowFraming(file: string): void {
  const { size, head, tail } = edges(file, 8);
  if (size === 0) throw bad(file, 'Arrow IPC', 'it is empty (0 bytes)');
  if (head.subarray(0, 6).toString('latin1') === ARROW_MAGIC) {
    if (tail.subarray(tail.length - 6).toString('latin1') !== ARROW_MAGIC || size < 14)
      throw bad(file, 'Arrow IPC', 'it starts like an Arrow IPC file (ARROW1) but does not end with ARROW1: the footer is missing (file truncated?)');
    return;
  }
  if (size < 8) throw bad(file, 'Arrow IPC', `it has ${size} bytes, too few for an Arrow IPC stream message`);
}

/** Runs a reader, turning a third-party failure into an error naming the file (the original as its cause). */
export async function* namingFile<T>(file: string, format: string, rows: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* rows;
  } catch (e) {
    if (isAlignkitError(e)) throw e;
    throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${file}: not a readable ${format} file: ${(e as Error).message ?? String(e)} (file truncated or corrupt?)`, { file, format }, e);
  }
}
