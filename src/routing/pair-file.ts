// Pair files and gold files, read with alignkit/datasets (JSONL, JSON, Arrow, Parquet by extension).
// A pair file row: id, prompt, the two responses, and the pair's AI verdicts (verdicts/verdict.ts);
// other columns are kept in `extra` (the `column` tagger reads tags there). A gold file row: id,
// the gold label, and optionally `annotators`, the labels a human routed the pair would give (one
// is drawn per pair and selection in evaluations; without it the human label is the gold label).

import { fail } from '../errors.js';
import { readRows } from '../datasets/index.js';
import { majority, parsePreference } from './labels.js';
import type { Preference, RoutingPair } from './types.js';
import { VERDICT_COLUMN_PREFIX, verdictsFromRow, type Verdict } from './verdicts/verdict.js';

export async function collectRows(file: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for await (const { row } of readRows(file)) rows.push(row);
  return rows;
}

export interface PairColumns {
  id: string;
  prompt: string;
  a: string;
  b: string;
}

export const DEFAULT_PAIR_COLUMNS: PairColumns = { id: 'id', prompt: 'prompt', a: 'response_a', b: 'response_b' };

export interface PairFile {
  pairs: RoutingPair[];
  /** Per pair, its verdicts (empty when it has none). */
  verdicts: Verdict[][];
}

export async function readPairFile(file: string, columns: Partial<PairColumns> = {}): Promise<PairFile> {
  const cols = { ...DEFAULT_PAIR_COLUMNS, ...columns };
  const pairs: RoutingPair[] = [];
  const verdicts: Verdict[][] = [];
  const seen = new Set<string>();
  (await collectRows(file)).forEach((row, i) => {
    for (const c of [cols.prompt, cols.a, cols.b]) {
      if (typeof row[c] !== 'string') throw fail('ALIGNKIT_ERR_DATASET_ROW', `${file}: row ${i + 1} has no string column '${c}'`, { file, row: i + 1, field: c });
    }
    const id = String(row[cols.id] ?? i);
    if (seen.has(id)) throw fail('ALIGNKIT_ERR_DATASET_ROW', `${file}: row ${i + 1} repeats pair id '${id}'`, { file, row: i + 1, field: cols.id });
    seen.add(id);
    const extra = Object.fromEntries(Object.entries(row).filter(([k]) => k !== 'verdicts' && !k.startsWith(VERDICT_COLUMN_PREFIX)));
    pairs.push({ id, prompt: row[cols.prompt] as string, responseA: row[cols.a] as string, responseB: row[cols.b] as string, extra });
    verdicts.push(verdictsFromRow(row, { file, row: i + 1 }));
  });
  return { pairs, verdicts };
}

export interface GoldLabels {
  /** The reference per pair (null: none, the pair is not counted). */
  gold: (Preference | null)[];
  /** Per pair, the labels a human could give; one is drawn per selection. */
  humans: Preference[][];
}

/**
 * Gold labels for the pairs `ids`, in their order. Each id needs a row; `gold` may be absent when
 * `annotators` is given (then gold is their majority, null when there is none).
 */
export async function readGoldFile(file: string, ids: readonly string[]): Promise<GoldLabels> {
  const byId = new Map<string, { gold: Preference | null; humans: Preference[] }>();
  (await collectRows(file)).forEach((row, i) => {
    const site = { file, row: i + 1 };
    const annotators = row.annotators;
    if (annotators !== undefined && annotators !== null && !Array.isArray(annotators)) throw fail('ALIGNKIT_ERR_DATASET_ROW', `${file}: row ${i + 1} field 'annotators' is not a list of labels`, { ...site, field: 'annotators' });
    const humans = ((annotators as unknown[] | undefined) ?? []).map((v, k) => parsePreference(v, { ...site, field: `annotators[${k}]` })).filter((p): p is Preference => p !== null);
    if (!('gold' in row) && humans.length === 0) throw fail('ALIGNKIT_ERR_DATASET_ROW', `${file}: row ${i + 1} has neither a 'gold' label nor 'annotators'`, { ...site, field: 'gold' });
    const gold = 'gold' in row ? parsePreference(row.gold, { ...site, field: 'gold' }) : majority(humans);
    byId.set(String(row.id), { gold, humans: humans.length > 0 ? humans : gold ? [gold] : [] });
  });
  const gold: (Preference | null)[] = [];
  const humans: Preference[][] = [];
  ids.forEach((id, i) => {
    const g = byId.get(id);
    if (!g) throw fail('ALIGNKIT_ERR_DATASET_ROW', `${file}: no gold row for pair '${id}' (pair ${i + 1})`, { file, field: 'id', id });
    gold.push(g.gold);
    humans.push(g.humans);
  });
  return { gold, humans };
}
