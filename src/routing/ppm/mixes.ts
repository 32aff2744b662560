// Tables of mixes with measured scores: the 26 released mixes of allenai/hybrid-preferences
// (notebooks/2024-08-30-classifier/validation_set.jsonl) and alignkit's own simulated mixes.

import fs from 'node:fs';
import { routingDataPath } from '../data-path.js';
import { canonicalFeatureName, FEATURE_INDEX, FEATURE_NAMES } from '../features/catalog.js';
import { fail } from '../../errors.js';
import { readRows } from '../../datasets/index.js';
import type { PpmData } from './model.js';

/** RewardBench's four category columns; "Overall" is their mean in the released file. */
export const REWARDBENCH_CATEGORIES = ['Chat', 'Chat Hard', 'Safety', 'Reasoning'] as const;

/** Which score is the regression target. */
export const TARGETS: Record<string, (row: Record<string, unknown>) => number> = {
  // scripts/train_regressor.py: y = results_df["Overall"]
  Overall: (row) => Number(row.Overall),
  // The paper's text: the mean of the four RewardBench categories.
  // Mixes written by `alignkit route simulate` (their evaluateMix score).
  score: (row) => Number(row.score),
  mean4: (row) => REWARDBENCH_CATEGORIES.reduce((s, c) => s + Number(row[c]), 0) / REWARDBENCH_CATEGORIES.length,
};

export const VALIDATION_SET_FILE = routingDataPath('hybrid_preferences', 'validation_set.jsonl');

export interface MixTable {
  data: PpmData;
  /** Result columns that named a catalog feature (after aliasing), in file order. */
  mappedColumns: string[];
  /** Catalog features the file has no column for (their share is 0 in every mix). */
  missingFeatures: string[];
  /** Feature columns beyond the paper's 90 (reliability signals, extra columns), after them in `data.features`. */
  extraFeatures: string[];
}

/**
 * A column named like a feature (`name=value`, `name__min_val=...`) that is not one of the paper's 90:
 * a reliability signal or a declared extra column of the pool the mixes were simulated on.
 */
const isExtraFeatureColumn = (col: string) => col.includes('=') && canonicalFeatureName(col) === undefined;

/**
 * Mix rows (feature-share columns and target columns) as a PPM training table: the paper's 90, then
 * any other feature columns (reliability signals, extra columns) in order of first appearance, so a
 * PPM fitted on simulated mixes learns their weights too.
 */
export function mixTableFromRows(records: readonly Record<string, unknown>[], file: string, target = 'Overall'): MixTable {
  const targetFn = TARGETS[target];
  if (!targetFn) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `unknown target '${target}'; known: ${Object.keys(TARGETS).join(', ')}`, { parameter: 'target' });
  const extra = [...new Set(records.flatMap((rec) => Object.keys(rec).filter(isExtraFeatureColumn)))];
  const features = [...FEATURE_NAMES, ...extra];
  const index = new Map<string, number>([...FEATURE_INDEX, ...extra.map((name, k) => [name, FEATURE_NAMES.length + k] as const)]);
  const p = features.length;
  const x = new Float64Array(records.length * p);
  const y = new Float64Array(records.length);
  const mapped = new Set<string>();
  records.forEach((rec, row) => {
    for (const [col, v] of Object.entries(rec)) {
      const name = canonicalFeatureName(col) ?? (isExtraFeatureColumn(col) ? col : undefined);
      if (name === undefined) continue;
      mapped.add(col);
      x[row * p + index.get(name)!] = Number(v);
    }
    const t = targetFn(rec);
    if (!Number.isFinite(t)) throw fail('ALIGNKIT_ERR_DATASET_ROW', `${file}: row ${row} has no numeric target '${target}'`, { file, row, field: target });
    y[row] = t;
  });
  const present = new Set([...mapped].map((c) => canonicalFeatureName(c) ?? c));
  return {
    data: { features, x, y, n: records.length },
    mappedColumns: [...mapped],
    missingFeatures: FEATURE_NAMES.filter((n) => !present.has(n)),
    extraFeatures: extra,
  };
}

/**
 * Read a JSONL table of mixes synchronously. Each row holds, per feature, the share of the pool that
 * was human-routed and carries the feature (`"rouge__min_val=0.0|max_val=0.33": 0.28`, as in
 * validation_set.jsonl) and the target score column(s). `loadMixTable` reads any dataset format.
 */
export function readMixTable(file: string, target = 'Overall'): MixTable {
  if (!fs.existsSync(file)) throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `mix table not found: ${file}`, { file });
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  const records = lines.map((line, row) => {
    try {
      return JSON.parse(line) as Record<string, unknown>;
    } catch (e) {
      throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${file}: row ${row} is not JSON (readMixTable reads JSONL; loadMixTable reads any dataset format)`, { file, row }, e);
    }
  });
  return mixTableFromRows(records, file, target);
}

/** A mix table in any format alignkit/datasets reads (JSONL, JSON, Arrow, Parquet), by extension. */
export async function loadMixTable(file: string, target = 'Overall'): Promise<MixTable> {
  if (!fs.existsSync(file)) throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `mix table not found: ${file}`, { file });
  const records: Record<string, unknown>[] = [];
  for await (const { row } of readRows(file)) records.push(row);
  return mixTableFromRows(records, file, target);
}
