// The binary feature matrix for a pool of pairs: the paper's 90 (lexical scores cut into bins, plus
// the metadata tags a tagger assigns, the layout of allenai/hybrid-preferences get_all_features),
// then the numeric columns beside them (judge reliability, declared extra columns; numeric.ts).

import { fail } from '../../errors.js';
import { BINS, FEATURE_NAMES, LEXICAL_SCORES, TAG_FEATURES, type TagRecord } from './catalog.js';
import { binnedValues, computeLexicalScores, DEFAULT_LEXICAL_CONFIG, inBin, type LexicalConfig, type LexicalScores } from './lexical.js';
import { fillNumericFeatures, inferKind, numericCell, numericFeatureNames, type NumericColumn } from './numeric.js';
import { RELIABILITY_FEATURES } from '../verdicts/reliability.js';
import type { Tagger } from '../taggers/types.js';
import type { RoutingPair } from '../types.js';

/** Row-major binary matrix [n, F] (F = 90 + the numeric columns' features) with what it came from. */
export interface FeatureTable {
  ids: string[];
  names: string[];
  /** active[i * names.length + j] = 1 when pair i carries feature j.  // [N, F] */
  active: Uint8Array;
  scores: LexicalScores;
  tags: TagRecord[];
  /** Raw numeric columns, binned within this pool (absent = none). */
  numeric?: NumericColumn[];
}

export interface ExtractOptions {
  tagger: Tagger;
  lexical?: LexicalConfig;
}

/** Binarise precomputed scores, tags and numeric columns (pure; the expensive parts are computed by the caller). */
export function buildFeatureTable(ids: string[], scores: LexicalScores, tags: TagRecord[], numeric: NumericColumn[] = []): FeatureTable {
  const n = ids.length;
  const names = [...FEATURE_NAMES, ...numeric.flatMap(numericFeatureNames)];
  const f = names.length;
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
  for (const c of numeric) {
    if (c.values.length !== n) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `feature column '${c.name}' has ${c.values.length} values for ${n} pairs`, { field: c.name });
    fillNumericFeatures(c, active, f, col);
    col += numericFeatureNames(c).length;
  }
  return { ids, names, active, scores, tags, numeric };
}

export async function extractFeatures(pairs: RoutingPair[], options: ExtractOptions, numeric: NumericColumn[] = []): Promise<FeatureTable> {
  const scores = await computeLexicalScores(pairs, options.lexical ?? DEFAULT_LEXICAL_CONFIG);
  const tags = await options.tagger.tag(pairs);
  return buildFeatureTable(pairs.map((p) => p.id), scores, tags, numeric);
}

/** The same pool with other numeric columns (e.g. none: the paper's 90 alone). */
export function withNumeric(table: FeatureTable, numeric: NumericColumn[]): FeatureTable {
  return buildFeatureTable(table.ids, table.scores, table.tags, numeric);
}

/** The table of a subset of pairs, percentile ranks and bins recomputed within it (a pool of its own). */
export function subsetTable(table: FeatureTable, rows: readonly number[]): FeatureTable {
  const scores = Object.fromEntries(LEXICAL_SCORES.map((s) => [s, Float64Array.from(rows, (r) => table.scores[s][r]!)])) as LexicalScores;
  const numeric = (table.numeric ?? []).map((c) => ({ ...c, values: Float64Array.from(rows, (r) => c.values[r]!) }));
  return buildFeatureTable(rows.map((r) => table.ids[r]!), scores, rows.map((r) => table.tags[r]!), numeric);
}

/** Rows of the table as they are (bins of the whole pool kept): what a PPM fitted on part of a pool reads. */
export function rowsOf(table: FeatureTable, rows: readonly number[]): FeatureTable {
  const f = table.names.length;
  const active = new Uint8Array(rows.length * f);
  rows.forEach((r, i) => active.set(table.active.subarray(r * f, (r + 1) * f), i * f));
  const scores = Object.fromEntries(LEXICAL_SCORES.map((s) => [s, Float64Array.from(rows, (r) => table.scores[s][r]!)])) as LexicalScores;
  const numeric = (table.numeric ?? []).map((c) => ({ ...c, values: Float64Array.from(rows, (r) => c.values[r]!) }));
  return { ids: rows.map((r) => table.ids[r]!), names: table.names, active, scores, tags: rows.map((r) => table.tags[r]!), numeric };
}

/** The same pool reading only some of its features (e.g. the reliability signals alone). */
export function projectFeatures(table: FeatureTable, keep: (name: string) => boolean): FeatureTable {
  const cols = table.names.flatMap((name, j) => (keep(name) ? [j] : []));
  const f = table.names.length;
  const g = cols.length;
  const active = new Uint8Array(table.ids.length * g);
  for (let i = 0; i < table.ids.length; i++) cols.forEach((j, k) => (active[i * g + k] = table.active[i * f + j]!));
  return { ...table, names: cols.map((j) => table.names[j]!), active };
}

/** Names of the features pair i carries. */
export function activeFeatures(table: FeatureTable, i: number): string[] {
  const f = table.names.length;
  const out: string[] = [];
  for (let j = 0; j < f; j++) if (table.active[i * f + j]) out.push(table.names[j]);
  return out;
}

/**
 * One row per pair: what `alignkit route features` writes and `select` reads back. `features` lists
 * the paper's features the pair carries; numeric columns are kept raw (reliability signals in
 * `reliability`, declared extra columns at the top level) so bins are recomputed within whatever
 * pool the file is read as.
 */
export interface FeatureRow {
  id: string;
  features: string[];
  scores: Record<string, number>;
  tags: TagRecord;
  reliability?: Record<string, number | null>;
  /** The AI label of the pair (the declared aggregate of its verdicts), when it has verdicts. */
  ai_label?: string | null;
  [extra: string]: unknown;
}

const PAPER_FEATURES = new Set(FEATURE_NAMES);
const cell = (v: number) => (Number.isFinite(v) ? v : null);

export function featureRows(table: FeatureTable, aiLabels?: readonly (string | null)[]): FeatureRow[] {
  const numeric = table.numeric ?? [];
  return table.ids.map((id, i) => {
    const reliability = numeric.filter((c) => c.source === 'reliability');
    return {
      id,
      features: activeFeatures(table, i).filter((name) => PAPER_FEATURES.has(name)),
      scores: Object.fromEntries(LEXICAL_SCORES.map((s) => [s, table.scores[s][i]])),
      tags: table.tags[i],
      ...(reliability.length > 0 ? { reliability: Object.fromEntries(reliability.map((c) => [c.name, cell(c.values[i]!)])) } : {}),
      ...(aiLabels ? { ai_label: aiLabels[i] ?? null } : {}),
      ...Object.fromEntries(numeric.filter((c) => c.source === 'extra').map((c) => [c.name, cell(c.values[i]!)])),
    };
  });
}

/** The columns a features file holds besides declared extra columns. */
export const FEATURE_FILE_COLUMNS = ['id', 'features', 'scores', 'tags', 'reliability', 'ai_label'] as const;

export interface FeatureFileOptions {
  /** Top-level numeric columns to use as features (`--extra-features`); any other column is refused. */
  extraFeatures?: readonly string[];
  /** File name for errors. */
  file?: string;
}

/**
 * Rebuild the table from feature rows. Nothing is silently ignored: a feature name outside the
 * paper's 90, a reliability signal alignkit does not know, or a column that is neither a features
 * file column nor declared in `extraFeatures` is refused, naming the file, row and column.
 */
export function tableFromRows(rows: FeatureRow[], options: FeatureFileOptions = {}): FeatureTable {
  const file = options.file;
  const declared = new Set(options.extraFeatures ?? []);
  const at = (row: number) => `${file ? `${file}: ` : ''}row ${row}`;
  const known = new Set<string>(FEATURE_FILE_COLUMNS);
  for (const name of declared) if (known.has(name)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--extra-features names '${name}', a features file column, not an extra column`, { parameter: 'extra-features', field: name });
  const f = FEATURE_NAMES.length;
  const index = new Map(FEATURE_NAMES.map((n, j) => [n, j]));
  const active = new Uint8Array(rows.length * f);
  const reliabilityNames: string[] = [];
  rows.forEach((r, i) => {
    for (const column of Object.keys(r)) {
      if (known.has(column) || declared.has(column)) continue;
      const numeric = typeof r[column] === 'number';
      throw fail(
        'ALIGNKIT_ERR_DATASET_ROW',
        numeric
          ? `${at(i + 1)}: numeric column '${column}' is not declared; to route with it pass --extra-features ${column} (extra columns are never used silently), or remove it`
          : `${at(i + 1)}: column '${column}' is not a features file column (${FEATURE_FILE_COLUMNS.join(', ')}) nor a declared --extra-features column`,
        { file, row: i + 1, field: column },
      );
    }
    for (const name of r.features ?? []) {
      const j = index.get(name);
      if (j === undefined) throw fail('ALIGNKIT_ERR_DATASET_ROW', `${at(i + 1)}: feature '${name}' is not one of the paper's ${f} features (numeric columns go in 'reliability' or are declared with --extra-features)`, { file, row: i + 1, field: 'features' });
      active[i * f + j] = 1;
    }
    for (const name of Object.keys(r.reliability ?? {})) {
      if (!RELIABILITY_FEATURES[name]) throw fail('ALIGNKIT_ERR_DATASET_ROW', `${at(i + 1)}: reliability signal '${name}' is unknown; known: ${Object.keys(RELIABILITY_FEATURES).join(', ')}`, { file, row: i + 1, field: `reliability.${name}` });
      if (!reliabilityNames.includes(name)) reliabilityNames.push(name);
    }
  });
  for (const name of declared) {
    if (!rows.some((r) => name in r)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--extra-features names '${name}', but ${file ?? 'the features file'} has no such column`, { parameter: 'extra-features', field: name });
  }
  const reliability = Object.keys(RELIABILITY_FEATURES)
    .filter((name) => reliabilityNames.includes(name))
    .map((name): NumericColumn => ({ name, kind: RELIABILITY_FEATURES[name]!.kind, source: 'reliability', values: Float64Array.from(rows, (r, i) => numericCell(r.reliability?.[name], { file, row: i + 1, field: `reliability.${name}` })) }));
  const extra = [...declared].map((name): NumericColumn => {
    const values = Float64Array.from(rows, (r, i) => numericCell(r[name], { file, row: i + 1, field: name }));
    return { name, kind: inferKind(values), source: 'extra', values };
  });
  const scores = Object.fromEntries(LEXICAL_SCORES.map((s) => [s, Float64Array.from(rows, (r) => r.scores?.[s] ?? 0)])) as LexicalScores;
  const paper = { ids: rows.map((r) => String(r.id)), scores, tags: rows.map((r) => r.tags) };
  const table = buildFeatureTable(paper.ids, paper.scores, paper.tags, [...reliability, ...extra]);
  // The paper's 90 as the file lists them (its bins were computed over the pool it was written for).
  const g = table.names.length;
  for (let i = 0; i < rows.length; i++) for (let j = 0; j < f; j++) table.active[i * g + j] = active[i * f + j]!;
  return table;
}
