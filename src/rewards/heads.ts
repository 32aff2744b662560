// Multi-head (multi-attribute) reward models, as SteerLM / HelpSteer2 attribute models: one raw score
// per head, and one scalar reward as a user-weighted sum of the heads. By default only the first
// head counts, which is exactly the single-head reward model's score.

import { fail } from '../errors.js';

/**
 * Weights over `heads` from a partial `{head: weight}` record. Unnamed heads weigh 0; no record at
 * all means `{[heads[0]]: 1}`. Unknown head names are an error naming the head and the model.
 */
export function headWeights(heads: readonly string[], weights: Record<string, number> | undefined, model: string): Float32Array {
  const w = new Float32Array(heads.length);
  if (!weights || Object.keys(weights).length === 0) {
    w[0] = 1;
    return w;
  }
  for (const [head, value] of Object.entries(weights)) {
    const i = heads.indexOf(head);
    if (i < 0)
      throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `model ${model} has no head '${head}'; its heads: ${heads.join(', ')}`, { model, field: `headWeights.${head}` });
    if (!Number.isFinite(value))
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `weight of head '${head}' of model ${model} must be a finite number, got ${value}`, { model, field: `headWeights.${head}` });
    w[i] = value;
  }
  return w;
}

/** The weighted sum of one item's head scores. */
export function weightedReward(headScores: Float32Array, weights: Float32Array): number {
  let r = 0;
  for (let i = 0; i < weights.length; i++) r += weights[i] * headScores[i];
  return r;
}
