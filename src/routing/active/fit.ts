// The PPM fitted on the human labels gathered so far (the pilot, then each round): mixes of the
// labelled pairs are scored by the agreement of their hybrid labels with the human labels (the only
// reference the strict protocol has), and the paper's linear PPM is fitted on their feature shares.
// `mixes: 'instances'` uses one mix per labelled pair (that pair alone routed to humans): with the
// agreement evaluator a mix's score is additive over its pairs, so these single-pair mixes carry
// the same coefficients as random knapsack mixes with less noise.

import { fail } from '../../errors.js';
import { rowsOf, type FeatureTable } from '../features/extract.js';
import { fitPpm, type PpmKind, type PpmModel } from '../ppm/model.js';
import { agreementEvaluator, simulateMixes } from '../simulate.js';
import type { Preference } from '../types.js';

export interface LabelPpmSpec {
  kind: PpmKind;
  ridge: number;
  /** Knapsack mixes to simulate (capped at the labelled count), or 'instances'. */
  mixes: number | 'instances';
}

export const DEFAULT_LABEL_PPM: LabelPpmSpec = { kind: 'linear', ridge: 0.1, mixes: 200 };

/** Single-pair mixes: shares = the pair's features / m, score = agreement with pair i alone human. */
function instanceMixes(table: FeatureTable, human: readonly (Preference | null)[], ai: readonly (Preference | null)[]) {
  const m = table.ids.length;
  const f = table.names.length;
  const counted = human.filter((h) => h !== null).length || 1;
  const base = ai.filter((a, i) => human[i] !== null && a === human[i]).length / counted;
  const x = new Float64Array(m * f);
  const y = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < f; j++) x[i * f + j] = table.active[i * f + j]! / m;
    y[i] = base + (human[i] !== null && ai[i] !== human[i] ? 1 / counted : 0);
  }
  return { features: table.names, x, y, n: m };
}

/** Fit the PPM on the labelled pool rows `labelled` with their human labels. */
export async function fitPpmOnLabels(table: FeatureTable, labelled: readonly number[], human: readonly (Preference | null)[], ai: readonly (Preference | null)[], spec: LabelPpmSpec, seed: number): Promise<PpmModel> {
  if (labelled.length < 2) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `fitting a PPM on human labels needs at least 2 labelled pairs, got ${labelled.length}`, { parameter: 'pilot' });
  const sub = rowsOf(table, labelled);
  const h = labelled.map((i) => human[i] ?? null);
  const a = labelled.map((i) => ai[i] ?? null);
  const data =
    spec.mixes === 'instances'
      ? instanceMixes(sub, h, a)
      : (await simulateMixes(sub, agreementEvaluator(h, a, h), { mixes: Math.min(spec.mixes, labelled.length), seed })).data;
  return fitPpm(data, { kind: spec.kind, ridge: spec.ridge });
}
