// Evaluation on the user's own gold labels under the strict protocol: for every strategy and
// budget, pairs are routed with human labels revealed ONLY for pairs routed to humans (the oracle
// checks it), the hybrid labels (human where routed, AI label elsewhere) are compared with the gold
// labels, and each strategy is set against the mean and spread of many random selections and the
// oracle bound (humans get exactly the pairs whose AI label is wrong, as many as the budget allows).
//
// The human label of a routed pair is one of its `humans` labels, drawn per pair and selection (the
// same draw for every strategy, so they are compared on the same humans), so a human budget of
// 100% is as good as one annotator, not as the gold label itself.

import { fail } from '../../errors.js';
import { activeSelect, DEFAULT_ACTIVE, type ActiveOptions, type LabelOracle } from '../active/protocol.js';
import type { FeatureTable } from '../features/extract.js';
import { FEATURE_SETS } from '../features/sets.js';
import { agreement } from '../labels.js';
import type { PpmModel } from '../ppm/model.js';
import { createRng, shuffleInPlace } from '../rng.js';
import { resolveBudget, type Budget } from '../select/budget.js';
import { selectForHumans } from '../select/strategies.js';
import { mixLabels } from '../simulate.js';
import type { Preference } from '../types.js';

export interface EvalPool {
  /** Every feature column: the paper's 90, reliability signals, declared extras. */
  table: FeatureTable;
  /** The AI label (declared aggregate) per pair. */
  ai: (Preference | null)[];
  gold: (Preference | null)[];
  humans: Preference[][];
}

interface RunContext {
  table: FeatureTable;
  ai: (Preference | null)[];
  gold: (Preference | null)[];
  count: number;
  seed: number;
  oracle: LabelOracle;
  active: ActiveOptions;
  released?: PpmModel;
}

type EvalStrategy = { summary: string; usesFeatures: boolean; select(ctx: RunContext): Promise<number[]> };

const activeWith = (strategy: string): EvalStrategy => ({
  summary: `pilot, PPM fitted on the pilot's human labels, ${strategy} for the rest`,
  usesFeatures: true,
  select: async (ctx) => (await activeSelect(ctx.table, ctx.ai, ctx.count, ctx.oracle, { ...ctx.active, strategy, seed: ctx.seed })).human,
});

export const EVAL_STRATEGIES: Record<string, EvalStrategy> = {
  'active:topk': activeWith('topk'),
  'active:simulated': activeWith('simulated'),
  'active:optimal_pos': activeWith('optimal_pos'),
  'active:optimal_grad': activeWith('optimal_grad'),
  'released:topk': {
    summary: "topk with the PPM fitted on the paper's 26 released mixes (no labels of this pool)",
    usesFeatures: false,
    select: async (ctx) => selectForHumans('topk', { table: ctx.table, budget: ctx.count, model: ctx.released, rng: createRng(ctx.seed), simulations: 1 }).human,
  },
  random: { summary: 'uniform random selections', usesFeatures: false, select: async (ctx) => selectForHumans('random', { table: ctx.table, budget: ctx.count, rng: createRng(ctx.seed), simulations: 1 }).human },
  oracle: {
    summary: 'upper bound: the pairs whose AI label disagrees with gold first',
    usesFeatures: false,
    select: async (ctx) => {
      const order = shuffleInPlace(Array.from(ctx.ai.keys()), createRng(ctx.seed));
      const wrong = (i: number) => (ctx.gold[i] !== null && ctx.ai[i] !== ctx.gold[i] ? 0 : 1);
      return order.sort((a, b) => wrong(a) - wrong(b)).slice(0, ctx.count);
    },
  },
};

export interface BudgetedEvalOptions {
  budgets: (number | Budget)[];
  /** `strategy` or `strategy@featureSet` entries; PPM strategies default to both feature sets. */
  strategies: string[];
  /** Feature sets a feature-reading strategy runs with when its entry names none. */
  featureSets: string[];
  /** Selections (seeds) per strategy and budget, the same number for random and every other strategy. */
  selections: number;
  active: ActiveOptions;
  released?: PpmModel;
}

export const DEFAULT_BUDGETED_EVAL: BudgetedEvalOptions = {
  budgets: [{ fraction: 0.1 }, { fraction: 0.25 }, { fraction: 0.5 }, { fraction: 0.75 }],
  strategies: ['active:topk', 'active:simulated', 'active:optimal_pos', 'active:optimal_grad', 'released:topk', 'random', 'oracle'],
  featureSets: Object.keys(FEATURE_SETS),
  selections: 20,
  active: DEFAULT_ACTIVE,
};

export type Stat = { mean: number; sd: number; min: number; max: number; n: number };

export interface BudgetedEvalRow {
  budget: number | Budget;
  count: number;
  /** Row name (`active:topk [90 + reliability]`) -> agreement with gold over the selections. */
  results: Record<string, Stat>;
}

export function stat(xs: number[]): Stat {
  const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(xs.length - 1, 1));
  return { mean, sd, min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

export interface EvalRun {
  name: string;
  strategy: string;
  featureSet?: string;
}

/** Expand `--strategies` into rows: a feature-reading strategy runs once per feature set unless one is named (`active:topk@paper`). */
export function evalRuns(strategies: string[], featureSets: string[] = Object.keys(FEATURE_SETS)): EvalRun[] {
  return strategies.flatMap((entry) => {
    const [strategy, set] = entry.split('@') as [string, string | undefined];
    const s = EVAL_STRATEGIES[strategy];
    if (!s) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `unknown evaluation strategy '${strategy}'; known: ${Object.keys(EVAL_STRATEGIES).join(', ')}`, { parameter: 'strategies' });
    if (set !== undefined && !FEATURE_SETS[set]) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `unknown feature set '${set}'; known: ${Object.keys(FEATURE_SETS).join(', ')}`, { parameter: 'strategies' });
    if (!s.usesFeatures) return [{ name: strategy, strategy }];
    return (set ? [set] : featureSets).map((fs) => ({ name: `${strategy} [${FEATURE_SETS[fs]!.label}]`, strategy, featureSet: fs }));
  });
}

/** A human-label oracle that records what it revealed, for the strict-protocol check. */
function strictOracle(human: readonly (Preference | null)[]): { oracle: LabelOracle; revealed: Set<number> } {
  const revealed = new Set<number>();
  return { revealed, oracle: (rows) => rows.map((r) => (revealed.add(r), human[r] ?? null)) };
}

/** Per budget and selection seed, every run's agreement with gold. `onSelection` sees each routed set (e.g. to train a reward model on it). */
export async function budgetedEvaluation(
  pool: EvalPool,
  partial: Partial<BudgetedEvalOptions> = {},
  onSelection?: (info: { run: string; budget: number | Budget; seed: number; labels: (Preference | null)[] }) => Promise<void> | void,
): Promise<BudgetedEvalRow[]> {
  const options = { ...DEFAULT_BUDGETED_EVAL, ...partial };
  const n = pool.table.ids.length;
  if (pool.ai.length !== n || pool.gold.length !== n || pool.humans.length !== n) {
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `labels (${pool.ai.length} AI, ${pool.gold.length} gold, ${pool.humans.length} human) do not match the ${n} pairs`, { parameter: 'labels' });
  }
  const runs = evalRuns(options.strategies, options.featureSets);
  if (runs.some((r) => r.strategy === 'released:topk') && !options.released) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', "strategy 'released:topk' needs the released-mix PPM", { parameter: 'strategies' });
  const tables = Object.fromEntries(Object.entries(FEATURE_SETS).map(([k, s]) => [k, s.table(pool.table)]));
  const rows: BudgetedEvalRow[] = [];
  for (const budget of options.budgets) {
    const count = resolveBudget(budget, n);
    const scores: Record<string, number[]> = Object.fromEntries(runs.map((r) => [r.name, []]));
    for (let seed = 0; seed < options.selections; seed++) {
      const draw = createRng(1000 + seed);
      const human = pool.humans.map((h) => (h.length === 0 ? null : h[draw.int(h.length)]!));
      for (const run of runs) {
        const { oracle, revealed } = strictOracle(human);
        const table = tables[run.featureSet ?? 'paper']!;
        const selected = await EVAL_STRATEGIES[run.strategy]!.select({ table, ai: pool.ai, gold: pool.gold, count, seed, oracle, active: options.active, released: options.released });
        const isHuman = new Uint8Array(n);
        for (const i of selected) isHuman[i] = 1;
        for (const r of revealed) if (!isHuman[r]) throw fail('ALIGNKIT_ERR_STATE', `strategy ${run.name} saw the human label of pair ${pool.table.ids[r]} without routing it to humans`, { field: run.name });
        if (selected.length > count) throw fail('ALIGNKIT_ERR_STATE', `strategy ${run.name} routed ${selected.length} pairs over a budget of ${count}`, { field: run.name });
        const labels = mixLabels(isHuman, human, pool.ai);
        scores[run.name]!.push(agreement(labels, pool.gold).agreement);
        await onSelection?.({ run: run.name, budget, seed, labels });
      }
    }
    rows.push({ budget, count, results: Object.fromEntries(Object.entries(scores).map(([k, xs]) => [k, stat(xs)])) });
  }
  return rows;
}
