// Export of the labelled dataset in the formats of alignkit/datasets. JSON lines stream straight
// from the store's pages to the client; Arrow and Parquet are written with `writeRows` to a
// temporary file (their writers work on files), which is streamed back and then removed.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { writeRows } from '../../datasets/index.js';
import type { ExportRow } from '../store/records.js';

type Rows = AsyncIterable<ExportRow>;

async function* jsonLines(rows: Rows): AsyncGenerator<string> {
  for await (const row of rows) yield `${JSON.stringify(row)}\n`;
}

function throughFile(extension: string) {
  return async (rows: Rows): Promise<Readable> => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-export-'));
    const remove = () => fs.rmSync(dir, { recursive: true, force: true });
    try {
      const file = path.join(dir, `labelled.${extension}`);
      await writeRows(file, rows as AsyncIterable<unknown> as AsyncIterable<Record<string, unknown>>);
      return fs.createReadStream(file).once('close', remove);
    } catch (e) {
      remove();
      throw e;
    }
  };
}

export const EXPORT_FORMATS = {
  jsonl: { extension: 'jsonl', contentType: 'application/x-ndjson; charset=utf-8', stream: async (rows: Rows) => Readable.from(jsonLines(rows)) },
  arrow: { extension: 'arrow', contentType: 'application/vnd.apache.arrow.file', stream: throughFile('arrow') },
  parquet: { extension: 'parquet', contentType: 'application/vnd.apache.parquet', stream: throughFile('parquet') },
} as const;

export type ExportFormat = keyof typeof EXPORT_FORMATS;
