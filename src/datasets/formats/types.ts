// The contract every file format implements: stream rows in, stream rows out. Formats are entries
// in the table in ./index.ts, looked up by name or file extension.

import type { Row, RowProblem } from '../types.js';

/** One row with its 0-based position in the file (malformed rows keep their position, so numbers stay true). */
export interface IndexedRow {
  row: Row;
  index: number;
}

export interface ReadOptions {
  /** Bytes per read from disk for text formats; small values are for tests of chunk boundaries. */
  chunkSize: number;
  /**
   * When given, a row that cannot be parsed at all (broken JSON line) is reported here and skipped;
   * when absent it is thrown as ALIGNKIT_ERR_DATASET_ROW.
   */
  onMalformed?: (problem: RowProblem) => void;
}

export interface WriteOptions {
  /** Rows per Arrow record batch / Parquet row group: bounds the memory a write holds at once. */
  batchSize: number;
}

export interface FileFormat {
  name: string;
  /** Lower-case extensions, with the dot, that select this format. */
  extensions: readonly string[];
  read(file: string, options: ReadOptions): AsyncIterable<IndexedRow>;
  /** Writes all rows and resolves to how many were written. */
  write(file: string, rows: AsyncIterable<Row> | Iterable<Row>, options: WriteOptions): Promise<number>;
}
