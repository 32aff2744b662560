// Training text from files: a `.jsonl` file is one document per line (its `text` field, the
// Hugging Face `datasets` text convention), any other file is one UTF-8 text whose documents are
// separated by special tokens such as `<|endoftext|>` (the TinyStories layout).

import fs from 'node:fs';
import { fail } from '../errors.js';

function jsonlDocuments(file: string, content: string): string[] {
  const docs: string[] = [];
  content.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${file} row ${i + 1} is not valid JSON: ${(e as Error).message}`, { file, row: i + 1 }, e);
    }
    const text = (row as Record<string, unknown> | null)?.text;
    if (typeof text !== 'string') throw fail('ALIGNKIT_ERR_DATASET_ROW', `${file} row ${i + 1}: field "text" must be a string`, { file, row: i + 1, field: 'text' });
    docs.push(text);
  });
  return docs;
}

/** The documents of each file, in order. */
export function readCorpus(files: readonly string[]): string[] {
  return files.flatMap((file) => {
    if (!fs.existsSync(file)) throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `corpus file ${file} does not exist`, { file });
    const content = fs.readFileSync(file, 'utf8');
    return file.endsWith('.jsonl') ? jsonlDocuments(file, content) : [content];
  });
}
