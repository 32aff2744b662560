// Export of the labelled dataset in the formats of alignkit/datasets: rows are written with its
// `writeRows` to a temporary file (the Arrow and Parquet writers work on files) and sent as bytes.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeRows } from '../../datasets/index.js';
import type { ExportRow } from '../store/label-store.js';

export const EXPORT_FORMATS = {
  jsonl: { extension: 'jsonl', contentType: 'application/x-ndjson; charset=utf-8' },
  arrow: { extension: 'arrow', contentType: 'application/vnd.apache.arrow.file' },
  parquet: { extension: 'parquet', contentType: 'application/vnd.apache.parquet' },
} as const;

export type ExportFormat = keyof typeof EXPORT_FORMATS;

export async function exportBytes(rows: ExportRow[], format: ExportFormat): Promise<Buffer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-export-'));
  try {
    const file = path.join(dir, `labelled.${EXPORT_FORMATS[format].extension}`);
    await writeRows(file, rows as unknown as Record<string, unknown>[]);
    return fs.readFileSync(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
