// Tables of mixes with measured scores: the 26 released mixes of allenai/hybrid-preferences
// (notebooks/2024-08-30-classifier/validation_set.jsonl) and alignkit's own simulated mixes.

import fs from 'node:fs';
import { routingDataPath } from '../data-path.js';
import { canonicalFeatureName, FEATURE_INDEX, FEATURE_NAMES } from '../features/catalog.js';
import { fail } from '../../errors.js';
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
}

/**
 * Read a JSONL table of mixes. Each row holds, per feature, the share of the pool that was
 * human-routed and carries the feature (`"rouge__min_val=0.0|max_val=0.33": 0.28`, as in
 * validation_set.jsonl) and the target score column(s).
 */
export function readMixTable(file: string, target = 'Overall'): MixTable {
  if (!fs.existsSync(file)) throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `mix table not found: ${file}`, { file });
  const targetFn = TARGETS[target];
  if (!targetFn) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `unknown target '${target}'; known: ${Object.keys(TARGETS).join(', ')}`, { parameter: 'target' });
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  const p = FEATURE_NAMES.length;
  const x = new Float64Array(lines.length * p);
  const y = new Float64Array(lines.length);
  const mapped = new Set<string>();
  lines.forEach((line, row) => {
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${file}: row ${row} is not JSON`, { file, row }, e);
    }
    for (const [col, v] of Object.entries(rec)) {
      const name = canonicalFeatureName(col);
      if (name === undefined) continue;
      mapped.add(col);
      x[row * p + FEATURE_INDEX.get(name)!] = Number(v);
    }
    const t = targetFn(rec);
    if (!Number.isFinite(t)) throw fail('ALIGNKIT_ERR_DATASET_ROW', `${file}: row ${row} has no numeric target '${target}'`, { file, row, field: target });
    y[row] = t;
  });
  const present = new Set([...mapped].map((c) => canonicalFeatureName(c)!));
  return {
    data: { features: FEATURE_NAMES, x, y, n: lines.length },
    mappedColumns: [...mapped],
    missingFeatures: FEATURE_NAMES.filter((n) => !present.has(n)),
  };
}
