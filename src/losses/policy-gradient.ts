// The shared prelude of the online policy-gradient losses (PPO, RTO, GRPO, RLOO): the input names
// an online run feeds from its rollouts, PPO's clipped surrogate written once, token aggregation
// and the diagnostics TRL and OpenRLHF log. Advantages, returns and the KL penalty folded into
// rewards are computed from the rollout before the update (src/train/rl/advantages.ts) and come
// in as data: the graph only differentiates what the paper's objective differentiates.

import type { GraphBuilder, Value } from '../graph/index.js';
import { mean, weightedMean } from './prelude.js';
import type { LossInputSpec } from './types.js';
import { check } from './validate.js';

/** Inputs of the online losses; the experience builder of src/train/rl fills every one by this name. */
export const RlInputs = {
  policy: 'response_logps', // [B,T] log pi_theta(y_t | x, y_<t) of the sampled response tokens
  mask: 'response_mask', // [B,T] 1 on response tokens (EOS included), 0 on prompt and padding
  oldLogps: 'old_logps', // [B,T] log pi_old(y_t | ...) recorded when the rollout was sampled
  refLogps: 'ref_logps', // [B,T] log pi_ref(y_t | ...) of the frozen reference (GRPO's in-loss KL)
  tokenAdvantages: 'token_advantages', // [B,T] GAE advantages (PPO, RTO)
  returns: 'returns', // [B,T] GAE returns, the value head's regression target
  values: 'values', // [B,T] the value head on the same rows (policy side: its gradient trains the head)
  oldValues: 'old_values', // [B,T] the value head at rollout time (value clipping)
  sequenceAdvantages: 'sequence_advantages', // [B] one advantage per response (GRPO, RLOO)
  dpoTokenRewards: 'dpo_token_rewards', // [B,T] RTO's dense reward beta_1 log(pi_dpo / pi_ref), clipped, per token
} as const;

export const rlPolicyInput = (): LossInputSpec => ({ name: RlInputs.policy, dims: ['B', 'T'], side: 'policy', doc: 'per-token log-probs of the sampled response under the policy being trained' });
export const rlMaskInput = (): LossInputSpec => ({ name: RlInputs.mask, dims: ['B', 'T'], side: 'data', doc: 'response token mask (float 0/1)' });
export const oldLogpsInput = (): LossInputSpec => ({ name: RlInputs.oldLogps, dims: ['B', 'T'], side: 'data', doc: 'per-token log-probs recorded when the response was sampled' });

/** How per-token terms become the batch loss. */
export type TokenAggregation = 'token' | 'sequence';

export interface ClipHp {
  /** PPO's epsilon: the ratio is clipped to [1 - clipRange, 1 + clipRange] (TRL cliprange 0.2, OpenRLHF eps_clip 0.2). */
  clipRange: number;
}

export function checkClip(loss: string, hp: ClipHp): void {
  check.range(loss, 'clipRange', hp.clipRange, 0, 1);
  if (hp.clipRange === 0) check.positive(loss, 'clipRange', hp.clipRange);
}

export interface Surrogate {
  /** max(-A r, -A clip(r, 1 - eps, 1 + eps)) elementwise. */
  loss: Value;
  /** 1 where the clipped branch was the larger (TRL's pg_clipfrac counts these). */
  clipped: Value;
  ratio: Value;
}

/**
 * PPO's clipped surrogate ("Proximal Policy Optimization Algorithms", Schulman et al. 2017, Eq. 7),
 * as a loss to minimise: max(-A r, -A clip(r, 1 - eps, 1 + eps)) with r = exp(log pi - log pi_old).
 * Elementwise, so it serves per-token (PPO, GRPO) and per-sequence (RLOO) ratios alike.
 */
export function clippedSurrogate(g: GraphBuilder, logRatio: Value, advantages: Value, eps: number): Surrogate {
  const ratio = g.exp(logRatio);
  const unclipped = g.neg(g.mul(advantages, ratio));
  const clipped = g.neg(g.mul(advantages, g.clip(ratio, g.scalar(1 - eps), g.scalar(1 + eps))));
  const wins = g.greater(clipped, unclipped);
  return { loss: largerOf(g, wins, clipped, unclipped), clipped: g.cast(wins, 'float32'), ratio };
}

/**
 * max(a, b) given `aWins` = a > b, written as Where so the gradient follows exactly one branch. The
 * autodiff's Max rule hands the gradient to every tied input, which doubles it where both branches
 * are the same function of the parameters (the surrogate inside the clip range: clip(r) = r).
 */
export function largerOf(g: GraphBuilder, aWins: Value, a: Value, b: Value): Value {
  return g.where(aWins, a, b);
}

/**
 * Per-token values to the batch loss: `token` averages over every response token of the batch
 * (TRL's masked_mean; GRPO's "bnpo"), `sequence` averages each response over its tokens, then the
 * responses (OpenRLHF's masked_mean(dim=-1).mean(); GRPO's original "grpo" loss).
 */
export function aggregateTokens(g: GraphBuilder, perToken: Value, mask: Value, how: TokenAggregation): Value {
  if (how === 'token') return weightedMean(g, perToken, mask);
  const perRow = g.div(g.reduceSum(g.mul(perToken, mask), [1], false), g.max(g.reduceSum(mask, [1], false), g.scalar(1)));
  return mean(g, perRow);
}

/** The diagnostics of a clipped update (TRL's PPO/GRPO logs): clip fraction, approximate KL to the rollout policy, mean ratio. */
export function surrogateMetrics(g: GraphBuilder, s: Surrogate, logRatio: Value, mask: Value): Record<string, Value> {
  return {
    'policy/clipfrac': weightedMean(g, s.clipped, mask),
    // TRL's approxkl: 0.5 * mean((log pi - log pi_old)^2), Schulman's k2 estimator.
    'policy/approxkl': g.mul(weightedMean(g, g.mul(logRatio, logRatio), mask), g.scalar(0.5)),
    'policy/ratio': weightedMean(g, s.ratio, mask),
  };
}
