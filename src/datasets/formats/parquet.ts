// Parquet through hyparquet (read) and hyparquet-writer (write). Reads one row group at a time and
// writes one row group per batch, so memory is bounded by a row group, not the file. Both libraries
// are imported by the first read or write, not by every process that lists the formats.

import type { BasicType } from 'hyparquet-writer';
import { fail } from '../../errors.js';
import type { Row } from '../types.js';
import { checkRowAgainstColumns, inferColumns, toPlain, type ColumnSpec, type ColumnType } from './columns.js';
import { checkParquetFraming, namingFile } from './magic.js';
import type { FileFormat, IndexedRow, WriteOptions } from './types.js';

/**
 * Column type to Parquet type. Nested values (message lists included) are written as UTF-8 JSON with
 * the JSON converted type, which hyparquet parses back into objects; numbers as DOUBLE because a
 * column typed INT from its first rows could not hold a later 0.5.
 */
const PARQUET_TYPE: Record<ColumnType, BasicType> = {
  string: 'STRING',
  number: 'DOUBLE',
  boolean: 'BOOLEAN',
  messages: 'JSON',
  json: 'JSON',
};

async function* readParquet(file: string): AsyncGenerator<IndexedRow> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await import('hyparquet');
  const buffer = await asyncBufferFromFile(file);
  const metadata = await parquetMetadataAsync(buffer);
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    const rows = await parquetReadObjects({ file: buffer, metadata, rowStart, rowEnd });
    for (let i = 0; i < rows.length; i++) yield { row: toPlain(rows[i]) as Row, index: rowStart + i };
    rowStart = rowEnd;
  }
}

/** Holds the first batch back to infer the schema, then passes every row through a schema check. */
async function* checkedRows(file: string, firstBatch: Row[], columns: ColumnSpec[], iterator: AsyncIterator<Row> | Iterator<Row>): AsyncGenerator<Row> {
  let index = 0;
  for (const row of firstBatch) {
    checkRowAgainstColumns(file, row, index++, columns);
    yield row;
  }
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    checkRowAgainstColumns(file, next.value, index++, columns);
    yield next.value;
  }
}

async function writeParquet(file: string, rows: AsyncIterable<Row> | Iterable<Row>, options: WriteOptions): Promise<number> {
  const iterator = Symbol.asyncIterator in rows ? (rows as AsyncIterable<Row>)[Symbol.asyncIterator]() : (rows as Iterable<Row>)[Symbol.iterator]();
  const firstBatch: Row[] = [];
  while (firstBatch.length < options.batchSize) {
    const next = await iterator.next();
    if (next.done) break;
    firstBatch.push(next.value);
  }
  const columns = inferColumns(firstBatch);
  // Parquet has no schema-less file: with no rows there are no columns to declare.
  if (columns.length === 0) throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${file}: cannot write a Parquet file with no rows or no columns`, { file });
  const { fileWriter, parquetWriteRows } = await import('hyparquet-writer');
  let count = 0;
  const counted = (async function* () {
    for await (const row of checkedRows(file, firstBatch, columns, iterator)) {
      count++;
      yield row;
    }
  })();
  await parquetWriteRows({
    writer: fileWriter(file),
    rows: counted,
    columns: columns.map((c) => ({ name: c.name, type: PARQUET_TYPE[c.type] })),
    rowGroupSize: options.batchSize,
  });
  return count;
}

export const PARQUET_FORMAT: FileFormat = {
  name: 'parquet',
  extensions: ['.parquet'],
  read: (file) => {
    checkParquetFraming(file);
    return namingFile(file, 'Parquet', readParquet(file));
  },
  write: writeParquet,
};
