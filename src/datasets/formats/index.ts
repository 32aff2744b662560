// The table of file formats, looked up by explicit name or by file extension.

import path from 'node:path';
import { fail } from '../../errors.js';
import { ARROW_FILE_FORMAT, ARROW_STREAM_FORMAT } from './arrow.js';
import { JSON_ARRAY_FORMAT } from './json-array.js';
import { JSONL_FORMAT } from './jsonl.js';
import { PARQUET_FORMAT } from './parquet.js';
import type { FileFormat } from './types.js';

export const FILE_FORMATS: readonly FileFormat[] = [JSONL_FORMAT, JSON_ARRAY_FORMAT, ARROW_FILE_FORMAT, ARROW_STREAM_FORMAT, PARQUET_FORMAT];

export type FormatName = 'jsonl' | 'json' | 'arrow' | 'arrows' | 'parquet';

/** The explicit format when given, else the one its extension names; an error lists what is known. */
export function formatFor(file: string, explicit?: string): FileFormat {
  if (explicit !== undefined) {
    const byName = FILE_FORMATS.find((f) => f.name === explicit);
    if (!byName) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `unknown dataset format "${explicit}"; known: ${FILE_FORMATS.map((f) => f.name).join(', ')}`, { parameter: 'format', file });
    return byName;
  }
  const ext = path.extname(file).toLowerCase();
  const byExt = FILE_FORMATS.find((f) => f.extensions.includes(ext));
  if (!byExt) {
    const known = FILE_FORMATS.flatMap((f) => f.extensions).join(', ');
    throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${file}: cannot tell the dataset format from extension "${ext}"; use one of ${known} or pass a format`, { file });
  }
  return byExt;
}

export type { FileFormat, IndexedRow, ReadOptions, WriteOptions } from './types.js';
