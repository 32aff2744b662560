// The budgeted protocol as one loop (the `active` strategy): spend a declared share of the human
// budget on a pilot, fit the PPM on the pilot's human labels, and spend the rest with a PPM strategy,
// in rounds if asked, refitting on all human labels gathered before each round. Human labels are
// asked for only for pairs routed to humans; the caller's oracle answers from annotators, a labels
// file or held-out gold labels, or answers `undefined` (not labelled yet), which stops the loop with
// the pairs waiting for labels, to be resumed with the same seed once they are labelled.

import { fail } from '../../errors.js';
import { rowsOf, type FeatureTable } from '../features/extract.js';
import type { PpmModel } from '../ppm/model.js';
import { createRng, shuffleInPlace } from '../rng.js';
import { STRATEGIES } from '../select/strategies.js';
import type { Preference } from '../types.js';
import { DEFAULT_LABEL_PPM, fitPpmOnLabels, type LabelPpmSpec } from './fit.js';
import { samplePilot } from './pilot.js';

/** Human labels of the asked pool rows, in order; undefined when they are not available yet. */
export type LabelOracle = (rows: number[]) => (Preference | null)[] | undefined | Promise<(Preference | null)[] | undefined>;

export interface ActiveOptions {
  /** The PPM strategy that spends the budget after the pilot (topk, simulated, optimal_pos, optimal_grad). */
  strategy: string;
  /** Share of the budget spent on the pilot. */
  pilotFraction: number;
  /** `random` or `stratified` (pilot.ts). */
  pilotSampling: string;
  /** Rounds after the pilot; the PPM is refitted on every label gathered before each round. */
  rounds: number;
  ppm: LabelPpmSpec;
  seed: number;
  /** Knapsack draws of the `simulated` strategy. */
  simulations: number;
  epsilon?: number;
}

/**
 * The recommended configuration, chosen on the development half of PandaLM only (bench/route/tune.mjs;
 * the README states the grid and the rule): half the budget on a stratified pilot, a linear PPM
 * (ridge 0.1) on 200 knapsack mixes of the labelled pairs, topk for the rest in one round; route
 * select and route eval read the reliability signals alone by default (`--feature-set`).
 */
export const DEFAULT_ACTIVE: ActiveOptions = { strategy: 'topk', pilotFraction: 0.5, pilotSampling: 'stratified', rounds: 1, ppm: DEFAULT_LABEL_PPM, seed: 42, simulations: 200 };

export interface ActiveStep {
  kind: 'pilot' | 'round';
  rows: number[];
  /** The PPM that chose a round (fitted on the labels of every earlier step). */
  model?: PpmModel;
}

export interface ActiveResult {
  /** Pool rows routed to humans so far (all steps, in order). */
  human: number[];
  steps: ActiveStep[];
  /** True when the whole budget is allocated; false when `pending` rows wait for labels. */
  complete: boolean;
  pending: number[];
  /** Human labels received, by pool row. */
  labels: Map<number, Preference | null>;
}

export function validateActive(options: ActiveOptions): void {
  const s = STRATEGIES[options.strategy];
  if (!s?.needsModel) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `active: '${options.strategy}' is not a PPM strategy; known: ${Object.keys(STRATEGIES).filter((k) => STRATEGIES[k]!.needsModel).join(', ')}`, { parameter: 'after-pilot' });
  if (!(options.pilotFraction > 0 && options.pilotFraction <= 1)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `the pilot share of the budget must be in (0, 1], got ${options.pilotFraction}`, { parameter: 'pilot' });
  if (!(Number.isInteger(options.rounds) && options.rounds >= 1)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `rounds must be an integer >= 1, got ${options.rounds}`, { parameter: 'rounds' });
}

/** Round sizes: the remaining budget split as evenly as possible, larger rounds first. */
function roundSizes(remaining: number, rounds: number): number[] {
  return Array.from({ length: rounds }, (_, r) => Math.floor(remaining / rounds) + (r < remaining % rounds ? 1 : 0));
}

export async function activeSelect(table: FeatureTable, ai: readonly (Preference | null)[], budget: number, oracle: LabelOracle, partial: Partial<ActiveOptions> = {}): Promise<ActiveResult> {
  const options = { ...DEFAULT_ACTIVE, ...partial };
  validateActive(options);
  const n = table.ids.length;
  if (ai.length !== n) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `${ai.length} AI labels for ${n} pairs`, { parameter: 'ai' });
  const rng = createRng(options.seed);
  // At least two pilot labels when anything is left to spend, so a PPM can be fitted.
  const pilotCount = Math.min(budget, Math.max(2, Math.round(budget * options.pilotFraction)));
  const result: ActiveResult = { human: [], steps: [], complete: false, pending: [], labels: new Map() };
  const ask = async (rows: number[]): Promise<boolean> => {
    const got = rows.length === 0 ? [] : await oracle(rows);
    if (got === undefined) {
      result.pending = rows;
      return false;
    }
    rows.forEach((r, k) => result.labels.set(r, got[k] ?? null));
    return true;
  };
  const take = (step: ActiveStep) => {
    result.steps.push(step);
    result.human.push(...step.rows);
  };

  const pilot = samplePilot(options.pilotSampling, table, pilotCount, rng);
  take({ kind: 'pilot', rows: pilot });
  const sizes = roundSizes(budget - pilotCount, options.rounds).filter((s) => s > 0);
  if (sizes.length === 0) return { ...result, complete: true };
  if (!(await ask(pilot))) return result;
  for (const [r, size] of sizes.entries()) {
    const labelled = [...result.labels.keys()];
    const human = Array.from({ length: n }, (_, i) => result.labels.get(i) ?? null);
    const model = await fitPpmOnLabels(table, labelled, human, ai, options.ppm, options.seed + r);
    const taken = new Set(result.human);
    // Unlabelled rows in a seeded random order, so pairs of equal gain are drawn at random.
    const rest = shuffleInPlace(Array.from(table.ids.keys()).filter((i) => !taken.has(i)), rng);
    const selection = STRATEGIES[options.strategy]!.select({ table: rowsOf(table, rest), budget: size, model, rng, simulations: options.simulations, epsilon: options.epsilon });
    const rows = selection.human.map((k) => rest[k]!);
    take({ kind: 'round', rows, model });
    if (r === sizes.length - 1) return { ...result, complete: true };
    if (!(await ask(rows))) return result;
  }
  return { ...result, complete: true };
}
