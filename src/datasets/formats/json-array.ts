// A JSON file holding one array of row objects (LLaMA-Factory's demo files, PandaLM's test set).
// Read incrementally: a small scanner tracks string/nesting state across chunks and cuts out each
// top-level element, which alone is handed to JSON.parse, so memory is bounded by the largest row.

import { fail } from '../../errors.js';
import type { Row } from '../types.js';
import { parseRowText } from './parse-row.js';
import { BYTE_ORDER_MARK, openTextSink, readTextChunks } from './text-lines.js';
import type { FileFormat, IndexedRow, ReadOptions } from './types.js';

const WHITESPACE = new Set([' ', '\t', '\n', '\r', BYTE_ORDER_MARK]);

/** Splits the text of a top-level JSON array into the texts of its elements, fed chunk by chunk. */
export class JsonArraySplitter {
  private state: 'before' | 'inside' | 'after' = 'before';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private pending: string[] = [];

  constructor(private readonly file: string) {}

  /** Returns the elements completed within this chunk, in order. */
  push(chunk: string): string[] {
    const done: string[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as string;
      if (this.state !== 'inside') {
        if (WHITESPACE.has(c)) continue;
        if (this.state === 'before' && c === '[') {
          this.state = 'inside';
          start = i + 1;
          continue;
        }
        throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${this.file}: a .json dataset must be one JSON array of row objects; found '${c}' ${this.state === 'before' ? 'before the array' : 'after the array'}`, { file: this.file });
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') this.inString = true;
      else if (c === '{' || c === '[') this.depth++;
      else if ((c === ',' || c === ']') && this.depth === 0) {
        this.pending.push(chunk.slice(start, i));
        const element = this.pending.join('').trim();
        this.pending = [];
        if (element.length > 0) done.push(element);
        start = i + 1;
        if (c === ']') this.state = 'after';
      } else if (c === '}' || c === ']') this.depth--;
    }
    if (this.state === 'inside') this.pending.push(chunk.slice(start));
    return done;
  }

  /** Throws unless the array was closed. */
  finish(): void {
    if (this.state !== 'after') throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${this.file}: the JSON array is not closed (file truncated?)`, { file: this.file });
  }
}

async function* readJsonArray(file: string, options: ReadOptions): AsyncGenerator<IndexedRow> {
  const splitter = new JsonArraySplitter(file);
  let index = 0;
  for await (const chunk of readTextChunks(file, options.chunkSize)) {
    for (const text of splitter.push(chunk)) {
      const row = parseRowText(file, text, index, options);
      if (row !== undefined) yield { row, index };
      index++;
    }
  }
  splitter.finish();
}

async function writeJsonArray(file: string, rows: AsyncIterable<Row> | Iterable<Row>): Promise<number> {
  const sink = openTextSink(file);
  let count = 0;
  try {
    await sink.write('[');
    for await (const row of rows) {
      await sink.write((count === 0 ? '\n' : ',\n') + JSON.stringify(row));
      count++;
    }
    await sink.write('\n]\n');
  } finally {
    await sink.close();
  }
  return count;
}

export const JSON_ARRAY_FORMAT: FileFormat = {
  name: 'json',
  extensions: ['.json'],
  read: readJsonArray,
  write: (file, rows) => writeJsonArray(file, rows),
};
