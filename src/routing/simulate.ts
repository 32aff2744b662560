// alignkit's own mixes for fitting a PPM, as the paper makes them (scripts/get_count_feats.py
// generate_instances): draw distinct random budgets in [1, N], fill each with the randomized
// knapsack, label the routed part with human labels and the rest with AI labels, score the mix
// with `evaluateMix`, and record (feature shares, score) as one row of a PPM training table.

import { fail } from '../errors.js';
import type { FeatureTable } from './features/extract.js';
import type { PpmData } from './ppm/model.js';
import { createRng, type Rng } from './rng.js';
import { sharesOf } from './select/gain.js';
import { featureInstances, runKnapsack } from './select/knapsack.js';
import { agreement } from './labels.js';
import type { Preference } from './types.js';

/** One mix: which pool indices got human labels. */
export interface Mix {
  budget: number;
  human: number[];
  isHuman: Uint8Array;
}

/**
 * Scores a mix. The paper trains a reward model on the mix and takes its RewardBench score; in
 * alignkit that evaluator is an extension point (train a reward model on `mixLabels(...)` with the
 * training path of `alignkit/train` and return its held-out accuracy) until that path exists. The
 * agreement-with-human-majority evaluator below is shipped now.
 */
export type EvaluateMix = (mix: Mix) => number | Promise<number>;

export interface SimulateOptions {
  /** Number of mixes (random budgets) to draw: n_train_instances in the script. */
  mixes: number;
  seed: number;
}

export const DEFAULT_SIMULATE: SimulateOptions = { mixes: 200, seed: 42 };

/** random.sample(range(1, n + 1), k): k distinct budgets. */
function sampleBudgets(n: number, k: number, rng: Rng): number[] {
  if (k > n) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `cannot draw ${k} distinct budgets from a pool of ${n}`, { parameter: 'mixes' });
  const chosen = new Set<number>();
  while (chosen.size < k) chosen.add(1 + Math.floor(rng.next() * n));
  return [...chosen];
}

export async function simulateMixes(table: FeatureTable, evaluateMix: EvaluateMix, partial: Partial<SimulateOptions> = {}): Promise<{ data: PpmData; mixes: Mix[] }> {
  const options = { ...DEFAULT_SIMULATE, ...partial };
  const rng = createRng(options.seed);
  const n = table.ids.length;
  const p = table.names.length;
  const items = featureInstances(table);
  const budgets = sampleBudgets(n, options.mixes, rng);
  const x = new Float64Array(budgets.length * p);
  const y = new Float64Array(budgets.length);
  const mixes: Mix[] = [];
  for (const [row, budget] of budgets.entries()) {
    const human = runKnapsack(budget, items, rng);
    const isHuman = new Uint8Array(n);
    for (const i of human) isHuman[i] = 1;
    const mix = { budget, human, isHuman };
    x.set(sharesOf(table, human), row * p);
    y[row] = await evaluateMix(mix);
    mixes.push(mix);
  }
  return { data: { features: table.names, x, y, n: budgets.length }, mixes };
}

/** Labels of a mix: the human label where routed to humans, the AI label elsewhere. */
export function mixLabels(isHuman: Uint8Array, human: readonly (Preference | null)[], ai: readonly (Preference | null)[]): (Preference | null)[] {
  return Array.from(isHuman, (h, i) => (h ? human[i] : ai[i]));
}

/** The shipped evaluator: agreement of the mix's labels with a reference (the human majority). */
export function agreementEvaluator(human: readonly (Preference | null)[], ai: readonly (Preference | null)[], reference: readonly (Preference | null)[]): EvaluateMix {
  return (mix) => agreement(mixLabels(mix.isHuman, human, ai), reference).agreement;
}
