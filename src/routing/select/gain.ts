// Per-instance gain and per-mix shares under a PPM (scripts/sample_best_subset.py
// compute_gain_linear / compute_gain_quadratic).

import type { FeatureTable } from '../features/extract.js';
import { predict, type PpmModel } from '../ppm/model.js';
import { fail } from '../../errors.js';

function checkFeatures(model: PpmModel, table: FeatureTable): void {
  if (model.features.length !== table.names.length || model.features.some((n, j) => n !== table.names[j])) {
    throw fail('ALIGNKIT_ERR_STATE', `the PPM's ${model.features.length} input features do not match the feature table's ${table.names.length} columns`, { parameter: 'model' });
  }
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

/**
 * Predicted score change from routing one instance to humans. Linear: the sum of the coefficients
 * of its active features (here divided by the pool size, since the PPM reads shares). Quadratic:
 * predict(instance) - predict(nothing), as compute_gain_quadratic does.
 */
export function instanceGains(model: PpmModel, table: FeatureTable): Float64Array {
  checkFeatures(model, table);
  const f = table.names.length;
  const n = table.ids.length;
  const gains = new Float64Array(n);
  if (model.kind === 'linear') {
    for (let i = 0; i < n; i++) {
      let g = 0;
      for (let j = 0; j < f; j++) if (table.active[i * f + j]) g += model.coef[j];
      gains[i] = g / n;
    }
    return gains;
  }
  const base = predict(model, new Float64Array(f));
  const row = new Float64Array(f);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < f; j++) row[j] = table.active[i * f + j] / n;
    gains[i] = predict(model, row) - base;
  }
  return gains;
}

/** Indices sorted by gain, highest first; ties keep pool order. */
export function rankByGain(gains: Float64Array): number[] {
  return Array.from(gains.keys()).sort((a, b) => gains[b] - gains[a] || a - b);
}
