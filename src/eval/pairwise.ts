// Pairwise reward-model accuracy, RewardBench-style (Lambert et al. 2024): a pair counts as correct
// when r(chosen) > r(rejected), strictly, as RewardBench's `scores_chosen > scores_rejected`. Reported
// per subset (`source`) and overall, next to two baselines that need no model:
//  - length: the longer response wins (a tie in length counts 1/2, the expected score of a coin flip);
//    reward models that merely prefer long answers score near it (Singhal et al. 2023).
//  - majority: each pair is shown in an A/B order fixed by a hash of its id and a seed, and the
//    baseline always answers the more frequent winning position. Its accuracy is max(A, B) / n, so
//    near 1/2 unless the data has a position bias; it is computed per subset and on the whole set
//    separately (a max does not recombine).

import { hashToUnit } from '../datasets/index.js';

export interface PairScores {
  id: string;
  source: string;
  chosenLength: number;
  rejectedLength: number;
  /** Per model: [r(chosen), r(rejected)]. */
  rewards: [number, number][];
}

export interface SubsetAccuracy {
  source: string;
  count: number;
  /** Per model: pairs with r(chosen) > r(rejected). */
  correct: number[];
  accuracy: number[];
  /** Sum of length-baseline credits (1, 1/2 or 0 per pair) and their mean. */
  lengthCredit: number;
  lengthAccuracy: number;
  /** Pairs whose chosen response is shown in position A. */
  chosenFirst: number;
  majorityAccuracy: number;
}

export interface PairwiseReport {
  models: string[];
  subsets: SubsetAccuracy[];
  overall: SubsetAccuracy;
  /** Unweighted mean over subsets, per model (RewardBench averages subsets within a section). */
  macroAccuracy: number[];
}

export function lengthCredit(chosenLength: number, rejectedLength: number): number {
  return chosenLength > rejectedLength ? 1 : chosenLength === rejectedLength ? 0.5 : 0;
}

/** Whether the chosen response of pair `id` is shown first in the majority baseline's A/B order. */
export function chosenShownFirst(id: string, seed: number): boolean {
  return hashToUnit(`${seed}:${id}`) < 0.5;
}

function subset(source: string, pairs: readonly PairScores[], models: number, seed: number): SubsetAccuracy {
  const correct = Array.from({ length: models }, (_, m) => pairs.filter((p) => p.rewards[m]![0] > p.rewards[m]![1]).length);
  const credit = pairs.reduce((s, p) => s + lengthCredit(p.chosenLength, p.rejectedLength), 0);
  const chosenFirst = pairs.filter((p) => chosenShownFirst(p.id, seed)).length;
  const n = pairs.length;
  return {
    source,
    count: n,
    correct,
    accuracy: correct.map((c) => c / n),
    lengthCredit: credit,
    lengthAccuracy: credit / n,
    chosenFirst,
    majorityAccuracy: Math.max(chosenFirst, n - chosenFirst) / n,
  };
}

/** Accuracy per source (sorted by name) and overall for every model, with both baselines. */
export function pairwiseReport(models: readonly string[], pairs: readonly PairScores[], opts: { seed?: number } = {}): PairwiseReport {
  const seed = opts.seed ?? 0;
  const bySource = new Map<string, PairScores[]>();
  for (const p of pairs) {
    const list = bySource.get(p.source);
    if (list) list.push(p);
    else bySource.set(p.source, [p]);
  }
  const subsets = [...bySource.keys()].sort().map((source) => subset(source, bySource.get(source)!, models.length, seed));
  return {
    models: [...models],
    subsets,
    overall: subset('overall', pairs, models.length, seed),
    macroAccuracy: models.map((_, m) => subsets.reduce((s, sub) => s + sub.accuracy[m]!, 0) / subsets.length),
  };
}
