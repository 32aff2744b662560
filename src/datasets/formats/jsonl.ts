// JSON Lines: one JSON object per line. Read line by line from fixed-size chunks, so memory is
// bounded by the longest line, not the file.

import type { Row } from '../types.js';
import { BYTE_ORDER_MARK, openTextSink, readTextChunks, splitLines } from './text-lines.js';
import type { FileFormat, IndexedRow, ReadOptions } from './types.js';
import { parseRowText } from './parse-row.js';

async function* readJsonl(file: string, options: ReadOptions): AsyncGenerator<IndexedRow> {
  let index = 0;
  let first = true;
  for await (const rawLine of splitLines(readTextChunks(file, options.chunkSize))) {
    const line = first && rawLine.startsWith(BYTE_ORDER_MARK) ? rawLine.slice(1) : rawLine;
    first = false;
    // Blank lines (a trailing newline, separators) are not rows and do not take a row number.
    if (line.trim().length === 0) continue;
    const row = parseRowText(file, line, index, options);
    if (row !== undefined) yield { row, index };
    index++;
  }
}

async function writeJsonl(file: string, rows: AsyncIterable<Row> | Iterable<Row>): Promise<number> {
  const sink = openTextSink(file);
  let count = 0;
  try {
    for await (const row of rows) {
      await sink.write(JSON.stringify(row) + '\n');
      count++;
    }
  } finally {
    await sink.close();
  }
  return count;
}

export const JSONL_FORMAT: FileFormat = {
  name: 'jsonl',
  extensions: ['.jsonl', '.ndjson'],
  read: readJsonl,
  write: (file, rows) => writeJsonl(file, rows),
};
