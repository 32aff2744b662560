// Routed vs random hybrids on data with both labels: per human budget, the agreement of the
// resulting labels with the human majority, averaged over seeds.
//
// The human label of a human-routed pair is ONE annotator's label, drawn per pair and seed (the
// same draw for every strategy, so strategies are compared on the same humans): using the majority
// itself would make human labels agree by construction. The reference is the majority of all three.

import { fail } from '../../errors.js';
import type { FeatureTable } from '../features/extract.js';
import { agreement } from '../labels.js';
import type { PpmModel } from '../ppm/model.js';
import { createRng } from '../rng.js';
import { mixLabels } from '../simulate.js';
import { resolveBudget } from '../select/budget.js';
import { selectForHumans } from '../select/strategies.js';
import type { Preference } from '../types.js';

export interface RoutingEvalInput {
  table: FeatureTable;
  model: PpmModel;
  annotators: Preference[][];
  reference: (Preference | null)[];
  ai: (Preference | null)[];
}

export interface RoutingEvalOptions {
  budgets: number[];
  strategies: string[];
  seeds: number;
  simulations: number;
}

export const DEFAULT_ROUTING_EVAL: RoutingEvalOptions = { budgets: [0, 0.25, 0.5, 0.75, 1], strategies: ['topk', 'random'], seeds: 10, simulations: 50 };

export interface RoutingEvalRow {
  budget: number;
  humanCount: number;
  /** strategy -> {mean, sd} of agreement over seeds. */
  results: Record<string, { mean: number; sd: number }>;
}

const meanSd = (xs: number[]) => {
  const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(xs.length - 1, 1));
  return { mean, sd };
};

export function evaluateRouting(input: RoutingEvalInput, partial: Partial<RoutingEvalOptions> = {}): RoutingEvalRow[] {
  const options = { ...DEFAULT_ROUTING_EVAL, ...partial };
  const n = input.table.ids.length;
  if (input.annotators.length !== n || input.ai.length !== n || input.reference.length !== n) {
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `labels (${input.annotators.length}, ${input.ai.length}, ${input.reference.length}) do not match the ${n} feature rows`, { parameter: 'labels' });
  }
  return options.budgets.map((budget) => {
    const count = resolveBudget(budget, n);
    const scores: Record<string, number[]> = Object.fromEntries(options.strategies.map((s) => [s, []]));
    for (let seed = 0; seed < options.seeds; seed++) {
      const annotatorRng = createRng(1000 + seed);
      const human = input.annotators.map((a) => a[Math.floor(annotatorRng.next() * a.length)]);
      for (const strategy of options.strategies) {
        const sel = selectForHumans(strategy, { table: input.table, budget: count, model: input.model, rng: createRng(seed), simulations: options.simulations });
        const isHuman = new Uint8Array(n);
        for (const i of sel.human) isHuman[i] = 1;
        scores[strategy].push(agreement(mixLabels(isHuman, human, input.ai), input.reference).agreement);
      }
    }
    return { budget, humanCount: count, results: Object.fromEntries(Object.entries(scores).map(([s, xs]) => [s, meanSd(xs)])) };
  });
}

/** The markdown table the CLI prints: one row per budget, one column per strategy, plus the difference of the first two. */
export function routingEvalTable(rows: RoutingEvalRow[], strategies: string[]): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)}`;
  const header = ['human budget', 'pairs to humans', ...strategies.map((s) => `${s} agreement % (mean ± sd)`), ...(strategies.length >= 2 ? [`${strategies[0]} - ${strategies[1]} (pts)`] : [])];
  const lines = rows.map((r) => {
    const cells = strategies.map((s) => `${pct(r.results[s].mean)} ± ${pct(r.results[s].sd)}`);
    const diff = strategies.length >= 2 ? [`${(100 * (r.results[strategies[0]].mean - r.results[strategies[1]].mean)).toFixed(2)}`] : [];
    return [`${Math.round(r.budget * 100)}%`, String(r.humanCount), ...cells, ...diff];
  });
  return [header, header.map(() => '---'), ...lines].map((l) => `| ${l.join(' | ')} |`).join('\n');
}
