// The prompts of a dataset file, for decoding: its `prompt` column when every row has one (a plain
// prompt list), otherwise the prompts of the preference dataset it holds (any known convention).

import { loadPreferenceData } from './load.js';
import { readRows } from './rows.js';
import type { Text } from './types.js';

export async function readPrompts(file: string, limit = Infinity): Promise<Text[]> {
  const rows: Record<string, unknown>[] = [];
  for await (const { row } of readRows(file)) {
    rows.push(row);
    if (rows.length >= limit) break;
  }
  if (rows.every((r) => typeof r.prompt === 'string' || Array.isArray(r.prompt))) return rows.map((r) => r.prompt as Text);
  const data = await loadPreferenceData(file, { limit });
  return data.examples.map((e) => e.prompt);
}
