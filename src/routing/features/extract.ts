// The 90-feature binary matrix for a pool of pairs: lexical scores cut into bins, plus the metadata
// tags a tagger assigns (the layout of allenai/hybrid-preferences get_all_features).

import { BINS, FEATURE_NAMES, LEXICAL_SCORES, TAG_FEATURES, type TagRecord } from './catalog.js';
import { binnedValues, computeLexicalScores, DEFAULT_LEXICAL_CONFIG, inBin, type LexicalConfig, type LexicalScores } from './lexical.js';
import type { Tagger } from '../taggers/types.js';
import type { RoutingPair } from '../types.js';

/** Row-major binary matrix [n, 90] with the scores and tags it came from. */
export interface FeatureTable {
  ids: string[];
  names: string[];
  /** active[i * names.length + j] = 1 when pair i carries feature j.  // [N, F] */
  active: Uint8Array;
  scores: LexicalScores;
  tags: TagRecord[];
}

export interface ExtractOptions {
  tagger: Tagger;
  lexical?: LexicalConfig;
}

/** Binarise precomputed scores and tags (pure; the expensive parts are computed by the caller). */
export function buildFeatureTable(ids: string[], scores: LexicalScores, tags: TagRecord[]): FeatureTable {
  const n = ids.length;
  const f = FEATURE_NAMES.length;
  const active = new Uint8Array(n * f);
  const values = binnedValues(scores);
  let col = 0;
  for (const s of LEXICAL_SCORES) {
    for (const bin of BINS) {
      for (let i = 0; i < n; i++) if (inBin(values[s][i], bin)) active[i * f + col] = 1;
      col++;
    }
  }
  for (const feature of TAG_FEATURES) {
    for (let i = 0; i < n; i++) if (feature.active(tags[i])) active[i * f + col] = 1;
    col++;
  }
  return { ids, names: FEATURE_NAMES, active, scores, tags };
}

export async function extractFeatures(pairs: RoutingPair[], options: ExtractOptions): Promise<FeatureTable> {
  const scores = await computeLexicalScores(pairs, options.lexical ?? DEFAULT_LEXICAL_CONFIG);
  const tags = await options.tagger.tag(pairs);
  return buildFeatureTable(pairs.map((p) => p.id), scores, tags);
}

/** Names of the features pair i carries. */
export function activeFeatures(table: FeatureTable, i: number): string[] {
  const f = table.names.length;
  const out: string[] = [];
  for (let j = 0; j < f; j++) if (table.active[i * f + j]) out.push(table.names[j]);
  return out;
}

/** One JSONL row per pair: what `alignkit route features` writes and `select` reads back. */
export interface FeatureRow {
  id: string;
  features: string[];
  scores: Record<string, number>;
  tags: TagRecord;
}

export function featureRows(table: FeatureTable): FeatureRow[] {
  return table.ids.map((id, i) => ({
    id,
    features: activeFeatures(table, i),
    scores: Object.fromEntries(LEXICAL_SCORES.map((s) => [s, table.scores[s][i]])),
    tags: table.tags[i],
  }));
}

/** Rebuild the binary matrix from feature rows (unknown names are ignored). */
export function tableFromRows(rows: FeatureRow[]): FeatureTable {
  const f = FEATURE_NAMES.length;
  const index = new Map(FEATURE_NAMES.map((n, j) => [n, j]));
  const active = new Uint8Array(rows.length * f);
  rows.forEach((r, i) => {
    for (const name of r.features) {
      const j = index.get(name);
      if (j !== undefined) active[i * f + j] = 1;
    }
  });
  const scores = Object.fromEntries(LEXICAL_SCORES.map((s) => [s, Float64Array.from(rows, (r) => r.scores?.[s] ?? 0)])) as LexicalScores;
  return { ids: rows.map((r) => r.id), names: FEATURE_NAMES, active, scores, tags: rows.map((r) => r.tags) };
}
