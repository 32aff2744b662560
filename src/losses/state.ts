// Running statistics a loss carries across steps, as graph inputs and outputs (the training loop
// feeds each step's outputs back as the next step's inputs).

import type { GraphBuilder, Value } from '../graph/index.js';
import type { LossInputSpec } from './types.js';

export const RunningMeanInputs = { mean: 'running_reward_mean', count: 'running_reward_count' } as const;

/** TRL's RunningMoments starts at mean 0 with a count of 1e-24, so the first update takes the batch mean. */
export function runningMeanInputs(prefix: string): LossInputSpec[] {
  return [
    { name: `${prefix}${RunningMeanInputs.mean}`, dims: [], side: 'state', doc: 'running mean of the implicit rewards', initial: 0 },
    { name: `${prefix}${RunningMeanInputs.count}`, dims: [], side: 'state', doc: 'number of values in the running mean', initial: 1e-24 },
  ];
}

/**
 * One update of TRL's RunningMoments (itself from stable-baselines3's RunningMeanStd) with
 * `batchCount` new values of mean `batchMean`: mean += (batchMean - mean) * n / (count + n).
 * Inputs must already be detached; returns the new mean and count.
 */
export function updateRunningMean(g: GraphBuilder, mean: Value, count: Value, batchMean: Value, batchCount: Value): { mean: Value; count: Value } {
  const total = g.add(count, batchCount);
  const next = g.add(mean, g.div(g.mul(g.sub(batchMean, mean), batchCount), total));
  return { mean: next, count: total };
}
