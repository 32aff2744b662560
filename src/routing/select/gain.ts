// Per-instance gain and per-mix shares under a PPM (scripts/sample_best_subset.py
// compute_gain_linear / compute_gain_quadratic). A PPM reads its own features by name from a table
// that may hold more (a model fitted on the paper's 90 routes a table with reliability columns: the
// extra columns get no weight); a feature the model needs and the table lacks is an error.

import type { FeatureTable } from '../features/extract.js';
import { predict, type PpmModel } from '../ppm/model.js';
import { fail } from '../../errors.js';

/** For each model feature, its column in the table. */
function modelColumns(model: PpmModel, table: FeatureTable): Int32Array {
  const index = new Map(table.names.map((n, j) => [n, j]));
  const missing = model.features.filter((n) => !index.has(n));
  if (missing.length > 0) {
    throw fail('ALIGNKIT_ERR_STATE', `the PPM reads ${missing.length} feature(s) the feature table lacks (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''}); compute them (e.g. the same --extra-features) or fit the PPM on this table's features`, { parameter: 'model' });
  }
  return Int32Array.from(model.features, (n) => index.get(n)!);
}

/** Shares [F] of the pool that are human-routed and carry each feature: the PPM's input. */
export function sharesOf(table: FeatureTable, human: Iterable<number>): Float64Array {
  const f = table.names.length;
  const n = table.ids.length;
  const shares = new Float64Array(f);
  for (const i of human) for (let j = 0; j < f; j++) shares[j] += table.active[i * f + j];
  for (let j = 0; j < f; j++) shares[j] /= n;
  return shares;
}

/** The PPM's prediction for routing `human` of this table's pool to humans. */
export function predictMix(model: PpmModel, table: FeatureTable, human: Iterable<number>): number {
  const shares = sharesOf(table, human);
  return predict(model, Float64Array.from(modelColumns(model, table), (j) => shares[j]!));
}

/**
 * Predicted score change from routing one instance to humans. Linear: the sum of the coefficients
 * of its active features (here divided by the pool size, since the PPM reads shares). Quadratic:
 * predict(instance) - predict(nothing), as compute_gain_quadratic does.
 */
export function instanceGains(model: PpmModel, table: FeatureTable): Float64Array {
  const cols = modelColumns(model, table);
  const f = table.names.length;
  const p = cols.length;
  const n = table.ids.length;
  const gains = new Float64Array(n);
  if (model.kind === 'linear') {
    for (let i = 0; i < n; i++) {
      let g = 0;
      for (let k = 0; k < p; k++) if (table.active[i * f + cols[k]!]) g += model.coef[k]!;
      gains[i] = g / n;
    }
    return gains;
  }
  const base = predict(model, new Float64Array(p));
  const row = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < p; k++) row[k] = table.active[i * f + cols[k]!]! / n;
    gains[i] = predict(model, row) - base;
  }
  return gains;
}

/** Indices sorted by gain, highest first; ties keep pool order. */
export function rankByGain(gains: Float64Array): number[] {
  return Array.from(gains.keys()).sort((a, b) => gains[b] - gains[a] || a - b);
}
