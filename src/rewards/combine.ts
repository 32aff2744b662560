// How several reward models' scores for one item become one reward: the three objectives of
// Coste et al., "Reward Model Ensembles Help Mitigate Overoptimization" (ICLR 2024), sec. 3:
//   mean:        R = (1/k) sum_i R_i
//   min (WCO):   R = min_i R_i                                   worst-case optimization
//   uncertainty: R = (1/k) sum_i R_i - lambda * (1/k) sum_i (R_i - mean)^2
//                (UWO: the intra-ensemble variance, population form as in the paper, penalises
//                disagreement between members)
// A registry of pure functions, so the server, the CLI and best-of-n share one name table.

import { fail } from '../errors.js';

export interface CombineConfig {
  method: CombineMethod;
  /** UWO's variance weight; ignored by `mean` and `min`. The paper finds UWO robust to its value. */
  lambda: number;
}

type Combiner = (scores: readonly number[], lambda: number) => number;

function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Population variance (divide by k, not k - 1), as UWO's intra-ensemble variance is written. */
export function ensembleVariance(xs: readonly number[]): number {
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return s / xs.length;
}

export const COMBINERS = {
  mean: (xs) => mean(xs),
  min: (xs) => Math.min(...xs),
  uncertainty: (xs, lambda) => mean(xs) - lambda * ensembleVariance(xs),
} as const satisfies Record<string, Combiner>;

export type CombineMethod = keyof typeof COMBINERS;

export const COMBINE_METHODS = Object.keys(COMBINERS) as CombineMethod[];

export const DEFAULT_COMBINE: CombineConfig = { method: 'mean', lambda: 0.5 };

/** Validates a combination config at construction; unknown names list the registry's keys. */
export function combineConfig(partial: Partial<CombineConfig> = {}, field = 'combine'): CombineConfig {
  const cfg = { ...DEFAULT_COMBINE, ...partial };
  if (!(cfg.method in COMBINERS))
    throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `${field}: unknown combination '${cfg.method}'; known: ${COMBINE_METHODS.join(', ')}`, { field });
  if (!Number.isFinite(cfg.lambda) || cfg.lambda < 0)
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `${field}.lambda must be a finite number >= 0, got ${cfg.lambda}`, { field: `${field}.lambda` });
  return cfg;
}

/** One item's reward from the members' scores for it (k >= 1). */
export function combineScores(scores: readonly number[], cfg: CombineConfig): number {
  if (scores.length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'cannot combine the scores of an empty ensemble');
  return COMBINERS[cfg.method](scores, cfg.lambda);
}
