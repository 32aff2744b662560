// Shared inputs and metrics of the unpaired (thumbs up / thumbs down) losses, KTO and BCO: one
// response per row and a label saying whether it was desirable.

import type { GraphBuilder, Value } from '../graph/index.js';
import { mean, reduceTokens, weightedMean, type PairedHp } from './prelude.js';
import type { LossInputSpec, Reduction } from './types.js';

export const UnpairedInputs = {
  policy: 'policy_logps', // [B,T]
  mask: 'mask', // [B,T]
  ref: 'ref_logps', // [B] summed over response tokens
  labels: 'labels', // [B] 1 desirable, 0 undesirable
} as const;

export function unpairedInputs(): LossInputSpec[] {
  return [
    { name: UnpairedInputs.policy, dims: ['B', 'T'], side: 'policy', doc: 'per-token log-probs of the response under the policy' },
    { name: UnpairedInputs.mask, dims: ['B', 'T'], side: 'data', doc: 'response token mask (float 0/1)' },
    { name: UnpairedInputs.ref, dims: ['B'], side: 'reference', doc: 'reference log-probs of the response, summed over its tokens' },
    { name: UnpairedInputs.labels, dims: ['B'], side: 'data', doc: '1 for a desirable (thumbs-up) response, 0 for undesirable' },
  ];
}

export type UnpairedHp = Pick<PairedHp, 'beta'> & { reduction: Reduction };

/** Per-row log-ratio h = lp - rp [B] and the reduced policy log-probs. */
export function unpairedRatio(g: GraphBuilder, x: Record<string, Value>, hp: UnpairedHp): { logps: Value; ratio: Value } {
  const mask = x[UnpairedInputs.mask]!;
  const logps = reduceTokens(g, x[UnpairedInputs.policy]!, mask, hp.reduction);
  const ref = hp.reduction === 'sum' ? x[UnpairedInputs.ref]! : g.div(x[UnpairedInputs.ref]!, g.max(g.reduceSum(mask, [1], false), g.scalar(1)));
  return { logps, ratio: g.sub(logps, ref) };
}

/** TRL-style metrics split by label: rewards and log-probs of each class, their counts and margin. */
export function unpairedMetrics(g: GraphBuilder, rewards: Value, logps: Value, labels: Value): Record<string, Value> {
  const undesirable = g.sub(g.scalar(1), labels);
  const chosen = weightedMean(g, rewards, labels);
  const rejected = weightedMean(g, rewards, undesirable);
  return {
    'rewards/chosen': chosen,
    'rewards/rejected': rejected,
    'rewards/margins': g.sub(chosen, rejected),
    'logps/chosen': weightedMean(g, logps, labels),
    'logps/rejected': weightedMean(g, logps, undesirable),
    'count/chosen': g.reduceSum(labels, undefined, false),
    'count/rejected': g.reduceSum(undesirable, undefined, false),
    'rewards/mean': mean(g, rewards),
  };
}
