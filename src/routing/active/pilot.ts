// The pilot of the budgeted protocol: the first human-labelled pairs, before any PPM exists.
// `random` is a uniform sample; `stratified` is the paper's randomized knapsack (features visited in
// a shuffled order, each feature's pairs in a shuffled order), which spreads the pilot over the
// features so each has labelled pairs for the PPM to weigh, topped up at random if it falls short.

import { fail } from '../../errors.js';
import type { FeatureTable } from '../features/extract.js';
import { shuffleInPlace, type Rng } from '../rng.js';
import { featureInstances, runKnapsack } from '../select/knapsack.js';

type PilotSampler = (table: FeatureTable, count: number, rng: Rng) => number[];

function topUp(table: FeatureTable, chosen: number[], count: number, rng: Rng): number[] {
  const taken = new Set(chosen);
  const rest = shuffleInPlace(Array.from(table.ids.keys()).filter((i) => !taken.has(i)), rng);
  return [...chosen, ...rest.slice(0, count - chosen.length)];
}

export const PILOT_SAMPLERS: Record<string, PilotSampler> = {
  random: (table, count, rng) => topUp(table, [], count, rng),
  stratified: (table, count, rng) => topUp(table, runKnapsack(count, featureInstances(table), rng), count, rng),
};

export function samplePilot(name: string, table: FeatureTable, count: number, rng: Rng): number[] {
  const sampler = PILOT_SAMPLERS[name];
  if (!sampler) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `unknown pilot sampling '${name}'; known: ${Object.keys(PILOT_SAMPLERS).join(', ')}`, { parameter: 'pilot-sampling' });
  return sampler(table, count, rng);
}
