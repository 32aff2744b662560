// Routing features over a pool in chunks: the per-pair part (lexical scores, tags) chunk by chunk
// with progress, then the binarisation once over the whole pool (its length scores are percentile
// ranks, so bins depend on every pair). The work `alignkit route features` does and that `jobs`
// splits: workers compute the per-pair part of a chunk, the assembly binarises.

import {
  buildFeatureTable, computeLexicalScores, DEFAULT_LEXICAL_CONFIG, LEXICAL_SCORES,
  type FeatureTable, type LexicalConfig, type LexicalScore, type LexicalScores, type RoutingPair, type TagRecord, type Tagger,
} from '../../routing/index.js';
import { fail } from '../../errors.js';

/** What extractFeatures takes (routing's ExtractOptions). */
export interface FeatureOptions {
  tagger: Tagger;
  lexical?: LexicalConfig;
}

/** Which columns of a row hold the pair (route features' --id-col, --prompt-col, --a-col, --b-col). */
export interface PairColumns {
  id: string;
  prompt: string;
  a: string;
  b: string;
}

export const DEFAULT_PAIR_COLUMNS: PairColumns = { id: 'id', prompt: 'prompt', a: 'response_a', b: 'response_b' };

/** A row as a routing pair; `index` is its 0-based row in the whole input (the id when the row has none). */
export function routingPairFromRow(row: Record<string, unknown>, index: number, cols: PairColumns, file: string): RoutingPair {
  for (const c of [cols.prompt, cols.a, cols.b])
    if (typeof row[c] !== 'string') throw fail('ALIGNKIT_ERR_DATASET_ROW', `${file}: row ${index + 1} has no string column '${c}'`, { file, row: index + 1, field: c });
  return { id: String(row[cols.id] ?? index), prompt: row[cols.prompt] as string, responseA: row[cols.a] as string, responseB: row[cols.b] as string, extra: row };
}

/** The per-pair part of the features of one pair: what a chunk job writes, one record per pair. */
export interface PairFeatureParts {
  id: string;
  scores: Record<LexicalScore, number>;
  tags: TagRecord;
}

/** Lexical scores and tags of some pairs (independent per pair, so any chunking gives the same values). */
export async function featureParts(pairs: RoutingPair[], options: FeatureOptions): Promise<PairFeatureParts[]> {
  const scores = await computeLexicalScores(pairs, options.lexical ?? DEFAULT_LEXICAL_CONFIG);
  const tags = await options.tagger.tag(pairs);
  return pairs.map((p, i) => ({ id: p.id, scores: Object.fromEntries(LEXICAL_SCORES.map((s) => [s, scores[s][i]!])) as Record<LexicalScore, number>, tags: tags[i]! }));
}

/** The feature table of a pool from the parts of all its pairs, in pool order. */
export function tableFromParts(parts: readonly PairFeatureParts[]): FeatureTable {
  const scores = Object.fromEntries(LEXICAL_SCORES.map((s) => [s, Float64Array.from(parts, (p) => p.scores[s])])) as LexicalScores;
  return buildFeatureTable(parts.map((p) => p.id), scores, parts.map((p) => p.tags));
}

/** extractFeatures, chunk by chunk with a progress callback (pairs done so far). */
export async function extractFeaturesInChunks(pairs: RoutingPair[], options: FeatureOptions, chunk: number, onProgress?: (done: number) => void): Promise<FeatureTable> {
  const parts: PairFeatureParts[] = [];
  for (let at = 0; at < pairs.length; at += chunk) {
    parts.push(...(await featureParts(pairs.slice(at, at + chunk), options)));
    onProgress?.(parts.length);
  }
  return tableFromParts(parts);
}
