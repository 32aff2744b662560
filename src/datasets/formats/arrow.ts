// Arrow IPC (the file format, also called Feather v2, and the stream format). Read batch by batch
// through a random-access file handle, written batch by batch with backpressure: memory holds one
// record batch, not the table. apache-arrow (~150 modules, ~0.1 s to import) is loaded on the first
// read or write, so the processes that never touch an Arrow file (a training run on JSONL) skip it.

import fs from 'node:fs';
import { once } from 'node:events';
import type { DataType, Field, RecordBatch, Schema } from 'apache-arrow';
import type { Row } from '../types.js';
import { checkRowAgainstColumns, inferColumns, toPlain, type ColumnSpec, type ColumnType } from './columns.js';
import { checkArrowFraming, namingFile } from './magic.js';
import type { FileFormat, IndexedRow, WriteOptions } from './types.js';

// Nested values other than message lists are stored as UTF-8 JSON text tagged with Arrow's canonical
// JSON extension type ("arrow.json"), which pyarrow >= 19 reads back as pa.json_().
const EXTENSION_NAME_KEY = 'ARROW:extension:name';
const EXTENSION_METADATA_KEY = 'ARROW:extension:metadata';
const JSON_EXTENSION = 'arrow.json';

type Arrow = typeof import('apache-arrow');
const loadArrow = (): Promise<Arrow> => import('apache-arrow');

function messageListType(A: Arrow): DataType {
  return new A.List(new A.Field('item', new A.Struct([new A.Field('role', new A.Utf8(), true), new A.Field('content', new A.Utf8(), true)]), true));
}

/** Column type to Arrow field: a table of small constructors, one per column type. */
const ARROW_FIELD: Record<ColumnType, (A: Arrow, name: string) => Field> = {
  string: (A, name) => new A.Field(name, new A.Utf8(), true),
  number: (A, name) => new A.Field(name, new A.Float64(), true),
  boolean: (A, name) => new A.Field(name, new A.Bool(), true),
  messages: (A, name) => new A.Field(name, messageListType(A), true),
  json: (A, name) => new A.Field(name, new A.Utf8(), true, new Map([[EXTENSION_NAME_KEY, JSON_EXTENSION], [EXTENSION_METADATA_KEY, '']])),
};

function columnValues(rows: readonly Row[], column: ColumnSpec): unknown[] {
  return rows.map((row) => {
    const value = row[column.name];
    if (value === undefined || value === null) return null;
    return column.type === 'json' ? JSON.stringify(value) : value;
  });
}

function toRecordBatch(A: Arrow, rows: readonly Row[], columns: readonly ColumnSpec[], schema: Schema): RecordBatch {
  const children = columns.map((column, i) => A.vectorFromArray(columnValues(rows, column), (schema.fields[i] as Field).type).data[0]!);
  return new A.RecordBatch(schema, A.makeData({ type: new A.Struct(schema.fields), length: rows.length, nullCount: 0, children }));
}

function readArrow(file: string): AsyncGenerator<IndexedRow> {
  checkArrowFraming(file);
  return namingFile(file, 'Arrow IPC', readArrowBatches(file));
}

async function* readArrowBatches(file: string): AsyncGenerator<IndexedRow> {
  const A = await loadArrow();
  const handle = await fs.promises.open(file, 'r');
  try {
    const reader = await A.RecordBatchReader.from(handle);
    let index = 0;
    for await (const batch of reader) {
      const fields = batch.schema.fields;
      const isJson = fields.map((f) => f.metadata.get(EXTENSION_NAME_KEY) === JSON_EXTENSION);
      const vectors = fields.map((_, i) => batch.getChildAt(i));
      for (let r = 0; r < batch.numRows; r++) {
        const row: Row = {};
        fields.forEach((field, c) => {
          const raw = vectors[c]?.get(r);
          row[field.name] = isJson[c] && typeof raw === 'string' ? JSON.parse(raw) : toPlain(raw);
        });
        yield { row, index: index++ };
      }
    }
  } finally {
    await handle.close();
  }
}

async function writeArrow(file: string, rows: AsyncIterable<Row> | Iterable<Row>, options: WriteOptions, stream: boolean): Promise<number> {
  const A = await loadArrow();
  const writer = stream ? new A.RecordBatchStreamWriter() : new A.RecordBatchFileWriter();
  const out = fs.createWriteStream(file);
  const finished = once(out, 'finish');
  writer.toNodeStream().pipe(out);
  let columns: ColumnSpec[] | undefined;
  let schema: Schema | undefined;
  let batch: Row[] = [];
  let count = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    columns ??= inferColumns(batch);
    schema ??= new A.Schema(columns.map((c) => ARROW_FIELD[c.type](A, c.name)));
    batch.forEach((row, i) => checkRowAgainstColumns(file, row, count - batch.length + i, columns!));
    writer.write(toRecordBatch(A, batch, columns, schema));
    batch = [];
    // Wait for the disk when it falls behind, so at most about one batch is buffered.
    if (out.writableNeedDrain) await once(out, 'drain');
  };
  try {
    for await (const row of rows) {
      batch.push(row);
      count++;
      if (batch.length >= options.batchSize) await flush();
    }
    await flush();
    // An empty input still gives a valid (column-less) file.
    if (!schema) writer.reset(undefined, new A.Schema([]));
  } finally {
    // Close and wait for the file even on failure, so no write is left pending behind a rejection.
    writer.close();
    await finished;
  }
  return count;
}

export const ARROW_FILE_FORMAT: FileFormat = {
  name: 'arrow',
  extensions: ['.arrow', '.feather', '.ipc'],
  read: (file) => readArrow(file),
  write: (file, rows, options) => writeArrow(file, rows, options, false),
};

export const ARROW_STREAM_FORMAT: FileFormat = {
  name: 'arrows',
  extensions: ['.arrows'],
  read: (file) => readArrow(file),
  write: (file, rows, options) => writeArrow(file, rows, options, true),
};
