// How many rows a dataset file holds, where that is cheap to know without parsing every row: from
// Parquet's footer, or by counting JSONL's non-blank lines. Progress bars use it for their total.

import fs from 'node:fs';
import { formatFor, type FormatName } from './formats/index.js';
import { checkParquetFraming } from './formats/magic.js';

const NEWLINE = 0x0a;
/** Bytes that do not make a line a row (JSONL blank lines take no row number). */
const BLANK = new Set([0x20, 0x09, 0x0d, NEWLINE]);

async function jsonlRows(file: string): Promise<number> {
  let rows = 0;
  let lineHasText = false;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === NEWLINE) {
        if (lineHasText) rows++;
        lineHasText = false;
      } else if (!lineHasText && !BLANK.has(b)) lineHasText = true;
    }
  }
  return rows + (lineHasText ? 1 : 0);
}

const COUNTERS: Partial<Record<FormatName, (file: string) => Promise<number>>> = {
  jsonl: jsonlRows,
  parquet: async (file) => {
    checkParquetFraming(file);
    const { asyncBufferFromFile, parquetMetadataAsync } = await import('hyparquet');
    return Number((await parquetMetadataAsync(await asyncBufferFromFile(file))).num_rows);
  },
};

/** The row count when cheap to tell (JSONL, Parquet), else undefined. */
export async function countRows(file: string, format?: FormatName): Promise<number | undefined> {
  const counter = COUNTERS[formatFor(file, format).name as FormatName];
  return counter && fs.existsSync(file) ? counter(file) : undefined;
}
