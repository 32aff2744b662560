// A PPM learned by alignkit's own simulation instead of the 26 released mixes, evaluated without
// leakage: split the pairs in two halves; on each half simulate mixes (randomized knapsack,
// agreement-with-majority evaluator), fit the PPM, and route the OTHER half with it.

import type { FeatureTable } from '../features/extract.js';
import { buildFeatureTable } from '../features/extract.js';
import { LEXICAL_SCORES } from '../features/catalog.js';
import type { LexicalScores } from '../features/lexical.js';
import { fitPpm, type PpmModel } from '../ppm/model.js';
import { createRng, shuffleInPlace } from '../rng.js';
import { agreementEvaluator, simulateMixes } from '../simulate.js';
import type { Preference } from '../types.js';
import { evaluateRouting, type RoutingEvalOptions, type RoutingEvalRow } from './routing-eval.js';

export interface CrossFitInput {
  table: FeatureTable;
  annotators: Preference[][];
  reference: (Preference | null)[];
  ai: (Preference | null)[];
}

export interface CrossFitOptions {
  mixes: number;
  ridge: number;
  seed: number;
}

export const DEFAULT_CROSS_FIT: CrossFitOptions = { mixes: 200, ridge: 0.01, seed: 7 };

/** Rebuild the feature table of a subset (percentile ranks recomputed within it). */
function subTable(table: FeatureTable, rows: number[]): FeatureTable {
  const scores = Object.fromEntries(LEXICAL_SCORES.map((s) => [s, Float64Array.from(rows, (r) => table.scores[s][r])])) as LexicalScores;
  return buildFeatureTable(rows.map((r) => table.ids[r]), scores, rows.map((r) => table.tags[r]));
}

async function simulatedModel(input: CrossFitInput, rows: number[], options: CrossFitOptions): Promise<PpmModel> {
  const rng = createRng(options.seed);
  // The simulated "human" label is one annotator per pair, as in the evaluation.
  const human = rows.map((r) => input.annotators[r][Math.floor(rng.next() * input.annotators[r].length)]);
  const evaluate = agreementEvaluator(human, rows.map((r) => input.ai[r]), rows.map((r) => input.reference[r]));
  const { data } = await simulateMixes(subTable(input.table, rows), evaluate, { mixes: options.mixes, seed: options.seed });
  return fitPpm(data, { kind: 'linear', ridge: options.ridge });
}

/** Routed-vs-random rows, averaged over the two held-out halves. */
export async function crossFitEvaluation(input: CrossFitInput, evalOptions: Partial<RoutingEvalOptions> = {}, partial: Partial<CrossFitOptions> = {}): Promise<RoutingEvalRow[]> {
  const options = { ...DEFAULT_CROSS_FIT, ...partial };
  const order = shuffleInPlace(Array.from(input.table.ids.keys()), createRng(options.seed));
  const halves = [order.slice(0, Math.floor(order.length / 2)), order.slice(Math.floor(order.length / 2))];
  const results: RoutingEvalRow[][] = [];
  for (const [k, train] of halves.entries()) {
    const test = halves[1 - k];
    const model = await simulatedModel(input, train, options);
    results.push(
      evaluateRouting(
        { table: subTable(input.table, test), model, annotators: test.map((r) => input.annotators[r]), reference: test.map((r) => input.reference[r]), ai: test.map((r) => input.ai[r]) },
        evalOptions,
      ),
    );
  }
  return results[0].map((row, b) => ({
    budget: row.budget,
    humanCount: row.humanCount + results[1][b].humanCount,
    results: Object.fromEntries(
      Object.keys(row.results).map((s) => [s, { mean: (row.results[s].mean + results[1][b].results[s].mean) / 2, sd: Math.sqrt((row.results[s].sd ** 2 + results[1][b].results[s].sd ** 2) / 2) }]),
    ),
  }));
}
