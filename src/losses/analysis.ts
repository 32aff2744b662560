// Graph programs that are not losses but read the same forward quantities: RTO's dense token
// rewards for later RL, and the over-optimisation indicators computed on an evaluation batch.

import type { GraphBuilder, Value } from '../graph/index.js';
import { fail } from '../errors.js';
import { weightedMean } from './prelude.js';

/**
 * The DPO-implied token-wise reward of RTO ("DPO Meets PPO: Reinforced Token Optimization for
 * RLHF", Zhong et al. 2024): r_t = beta * (log pi_dpo(y_t | x, y<t) - log pi_ref(y_t | x, y<t)),
 * zero off the response mask. [B,T] -> [B,T]; summed over t it is DPO's implicit sequence reward.
 */
export function tokenRewards(g: GraphBuilder, policyLogps: Value, refLogps: Value, mask: Value, beta: number): Value {
  return g.mul(g.mul(g.scalar(beta), g.sub(policyLogps, refLogps)), mask);
}

/**
 * Early-warning indicators of likelihood over-optimisation ("Understanding Likelihood
 * Over-optimisation in Direct Alignment Algorithms", Shi et al. 2024): over the policy's next-token
 * distributions at the response positions of an evaluation batch,
 *  - top-k probability mass: sum of the k largest probabilities;
 *  - top-k entropy: entropy of the k largest probabilities renormalised to sum to 1,
 * each averaged over masked positions. Both falling during training warn of over-optimisation.
 * logits [B,T,V], mask [B,T]; returns scalar values.
 */
export function overoptimisationIndicators(g: GraphBuilder, logits: Value, mask: Value, k: number): { topkEntropy: Value; topkMass: Value } {
  if (!Number.isInteger(k) || k < 1) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `top-k indicators need an integer k >= 1, got ${k}`, { parameter: 'k' });
  const [top] = g.op('TopK', [logits, g.int64s([k])], { axis: -1, largest: 1, sorted: 1 }, { outputs: 2 }); // [B,T,k]
  const topLogp = g.sub(top!, g.reduceLogSumExp(logits, [2], true)); // log p of the k most likely tokens
  const topP = g.exp(topLogp);
  const mass = g.reduceSum(topP, [2], true); // [B,T,1]
  const logQ = g.sub(topLogp, g.log(mass)); // renormalised
  const entropy = g.neg(g.reduceSum(g.mul(g.exp(logQ), logQ), [2], false)); // [B,T]
  return { topkEntropy: weightedMean(g, entropy, mask), topkMass: weightedMean(g, g.reshape(mass, [0, 0]), mask) };
}
