// Glue used by the CLI and the server: route a feature table with a strategy and turn the
// selection into per-pair decisions.

import type { FeatureTable } from './features/extract.js';
import type { PpmModel } from './ppm/model.js';
import { createRng } from './rng.js';
import { resolveBudget, type Budget } from './select/budget.js';
import { selectForHumans, strategyNeedsBudget, type Selection } from './select/strategies.js';
import type { Preference, Route, RoutingPair } from './types.js';
import { fail } from '../errors.js';

export interface RouteOptions {
  strategy: string;
  /** `{fraction}` or `{count}` (a bare number: a fraction when <= 1); a cap for optimal_pos / optimal_grad, which may be given none. */
  budget?: number | Budget;
  model?: PpmModel;
  seed: number;
  simulations: number;
  epsilon?: number;
}

export const DEFAULT_ROUTE_OPTIONS: Omit<RouteOptions, 'strategy'> = { seed: 42, simulations: 500 };

export interface RouteDecision {
  pairId: string;
  route: Route;
  gain: number | null;
}

export function routeTable(table: FeatureTable, partial: Partial<RouteOptions> & Pick<RouteOptions, 'strategy'>): { selection: Selection; decisions: RouteDecision[] } {
  // An option given as undefined (an absent request field) keeps its default.
  const given = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as typeof partial;
  const options = { ...DEFAULT_ROUTE_OPTIONS, ...given };
  if (strategyNeedsBudget(options.strategy) && options.budget === undefined) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `strategy '${options.strategy}' needs a budget (a fraction in [0, 1] or a count)`, { parameter: 'budget' });
  const budget = options.budget === undefined ? table.ids.length : resolveBudget(options.budget, table.ids.length);
  const selection = selectForHumans(options.strategy, { table, budget, model: options.model, rng: createRng(options.seed), simulations: options.simulations, epsilon: options.epsilon });
  const human = new Set(selection.human);
  const decisions = table.ids.map((pairId, i) => ({ pairId, route: (human.has(i) ? 'human' : 'ai') as Route, gain: selection.gains ? selection.gains[i] : null }));
  return { selection, decisions };
}

/** An AI labeller for the store: a judge model, an LM endpoint, or a reward-model scorer. */
export interface AiJudge {
  name: string;
  judge(pairs: RoutingPair[]): Promise<{ preference: Preference | null; scoreA?: number; scoreB?: number }[]>;
}

/**
 * Wraps a reward-model scorer (prompt, response) -> reward as a judge: the higher reward wins, and
 * |rA - rB| <= tieMargin is a tie. This is where a reward model from `alignkit/rewards` plugs in.
 */
export function rewardScorerJudge(name: string, score: (prompt: string, response: string) => Promise<number>, tieMargin = 0): AiJudge {
  return {
    name,
    async judge(pairs) {
      const out = [];
      for (const p of pairs) {
        const scoreA = await score(p.prompt, p.responseA);
        const scoreB = await score(p.prompt, p.responseB);
        const preference: Preference = Math.abs(scoreA - scoreB) <= tieMargin ? 'tie' : scoreA > scoreB ? 'A' : 'B';
        out.push({ preference, scoreA, scoreB });
      }
      return out;
    },
  };
}
