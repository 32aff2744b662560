// The prompts of a dataset file, for decoding: its `prompt` column when the first row has one (a
// plain prompt list, or a dataset that keeps its prompts apart), otherwise the prompts of the
// preference dataset it holds (any known convention). Streamed with each prompt's 0-based row in the
// file, so errors can name the row and a range of rows can be read without the rest.

import { fail } from '../errors.js';
import { openPreferenceStream } from './load.js';
import { readRows } from './rows.js';
import type { Text } from './types.js';

export interface PromptRow {
  prompt: Text;
  /** 0-based position of the row in the file (messages say `row ${row + 1}`, as the loaders do). */
  row: number;
}

export interface PromptRange {
  /** First row (0-based) to yield. */
  from?: number;
  /** Row (0-based) to stop before. */
  to?: number;
}

const isPrompt = (v: unknown): v is Text => typeof v === 'string' || Array.isArray(v);

export async function* streamPrompts(file: string, range: PromptRange = {}): AsyncGenerator<PromptRow> {
  const from = range.from ?? 0;
  const to = range.to ?? Infinity;
  const rows = readRows(file);
  const first = await rows.next();
  await rows.return(undefined);
  if (first.done) return;
  if (isPrompt(first.value.row.prompt)) {
    for await (const { row, index } of readRows(file)) {
      if (index >= to) return;
      if (index < from) continue;
      if (!isPrompt(row.prompt))
        throw fail('ALIGNKIT_ERR_DATASET_ROW', `${file} row ${index + 1}: field "prompt" must be a string or a list of messages (the first row has one), got ${row.prompt === null ? 'null' : typeof row.prompt}`, { file, row: index + 1, field: 'prompt' });
      yield { prompt: row.prompt, row: index };
    }
    return;
  }
  // A preference dataset loaded with bad rows as errors yields one example per row, in row order.
  const stream = await openPreferenceStream(file, { limit: to });
  let index = 0;
  for await (const example of stream) {
    if (index >= from) yield { prompt: example.prompt, row: index };
    index++;
  }
}

export async function readPrompts(file: string, limit = Infinity): Promise<Text[]> {
  const prompts: Text[] = [];
  for await (const { prompt } of streamPrompts(file, { to: limit })) prompts.push(prompt);
  return prompts;
}
