// Selection strategies: which pairs go to humans under a budget. A registry keyed by the names
// scripts/sample_best_subset.py uses for `--sampling_method`, plus `random`, the baseline.

import { fail } from '../../errors.js';
import type { FeatureTable } from '../features/extract.js';
import type { PpmModel } from '../ppm/model.js';
import type { Rng } from '../rng.js';
import { instanceGains, predictMix, rankByGain } from './gain.js';
import { featureInstances, runKnapsack } from './knapsack.js';

export interface SelectionContext {
  table: FeatureTable;
  /** Human budget as a count (already resolved from a fraction); the optimal_* strategies read it as a cap. */
  budget: number;
  model?: PpmModel;
  rng: Rng;
  /** `simulated`: knapsack draws per budget (n_simulations, 500 in the paper's script). */
  simulations: number;
  /** `optimal_grad`: minimal gain to keep an instance (1e-4 linear, 1e-5 quadratic in the script). */
  epsilon?: number;
}

export interface Selection {
  /** Pool indices routed to humans. */
  human: number[];
  /** PPM gain per pool index, when a model was used. */
  gains?: Float64Array;
  /** PPM prediction for the chosen mix, when a model was used. */
  predicted?: number;
}

type Strategy = {
  needsModel: boolean;
  /**
   * Whether a budget must be given. optimal_* pick their own size, as in the paper's code, but never
   * more than a budget when one is given (the paper's code may send the whole pool to humans).
   */
  budgetRequired: boolean;
  select(ctx: SelectionContext & { model: PpmModel }): Selection;
};

function requireModel(name: string, ctx: SelectionContext): PpmModel {
  if (!ctx.model) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `strategy '${name}' needs a fitted PPM (pass a model)`, { parameter: 'model' });
  return ctx.model;
}

function withPrediction(ctx: SelectionContext, human: number[], gains?: Float64Array): Selection {
  return { human, gains, predicted: ctx.model ? predictMix(ctx.model, ctx.table, human) : undefined };
}

function thresholdSelect(ctx: SelectionContext & { model: PpmModel }, threshold: number): Selection {
  const gains = instanceGains(ctx.model, ctx.table);
  return withPrediction(ctx, rankByGain(gains).filter((i) => gains[i] > threshold).slice(0, ctx.budget), gains);
}

export const STRATEGIES: Record<string, Strategy> = {
  /** The b instances with the highest gain (sample_best_subset.py topk_sampling). */
  topk: {
    needsModel: true,
    budgetRequired: true,
    select: (ctx) => {
      const gains = instanceGains(ctx.model, ctx.table);
      return withPrediction(ctx, rankByGain(gains).slice(0, ctx.budget), gains);
    },
  },
  /** Many random knapsack subsets of size b; keep the one the PPM predicts best (simulated_sampling). */
  simulated: {
    needsModel: true,
    budgetRequired: true,
    select: (ctx) => {
      const items = featureInstances(ctx.table);
      let best: Selection = { human: [], predicted: -Infinity };
      for (let s = 0; s < ctx.simulations; s++) {
        const human = runKnapsack(ctx.budget, items, ctx.rng);
        const predicted = predictMix(ctx.model, ctx.table, human);
        if (predicted > best.predicted!) best = { human, predicted };
      }
      return best;
    },
  },
  /** Every instance with a positive gain (get_optimal_subset method="optimal_pos"). */
  optimal_pos: { needsModel: true, budgetRequired: false, select: (ctx) => thresholdSelect(ctx, 0) },
  /**
   * get_optimal_subset method="optimal_grad": walk instances by descending gain, keep one while it
   * raises the cumulative gain by more than epsilon; that test reduces to gain > epsilon.
   */
  optimal_grad: {
    needsModel: true,
    budgetRequired: false,
    select: (ctx) => thresholdSelect(ctx, ctx.epsilon ?? (ctx.model.kind === 'linear' ? 1e-4 : 1e-5)),
  },
  /** b instances uniformly at random: the baseline. */
  random: {
    needsModel: false,
    budgetRequired: true,
    select: (ctx) => {
      const idx = Array.from(ctx.table.ids.keys());
      for (let i = 0; i < ctx.budget; i++) {
        const j = i + Math.floor(ctx.rng.next() * (idx.length - i));
        [idx[i], idx[j]] = [idx[j], idx[i]];
      }
      return withPrediction(ctx, idx.slice(0, ctx.budget));
    },
  },
};

export type StrategyName = keyof typeof STRATEGIES;

export function selectForHumans(name: string, ctx: SelectionContext): Selection {
  const strategy = STRATEGIES[name];
  if (!strategy) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `unknown selection strategy '${name}'; known: ${Object.keys(STRATEGIES).join(', ')}`, { parameter: 'strategy', name });
  if (strategy.needsModel) requireModel(name, ctx);
  return strategy.select(ctx as SelectionContext & { model: PpmModel });
}

export function strategyNeedsBudget(name: string): boolean {
  return STRATEGIES[name]?.budgetRequired ?? true;
}
