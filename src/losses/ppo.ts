// PPO for RLHF as InstructGPT trained it and TRL's PPOTrainer / OpenRLHF implement it, and RTO,
// which is PPO on a denser reward. The loss is the clipped surrogate on GAE advantages plus the
// clipped value loss of a value head sharing the policy's backbone:
//   L = agg_t max(-A_t r_t, -A_t clip(r_t, 1-eps, 1+eps))
//       + vfCoef * 0.5 * agg_t max((V_t - R_t)^2, (V_old,t + clip(V_t - V_old,t, -epsV, epsV) - R_t)^2)
// (Schulman et al. 2017, Eq. 7 and 9; value clipping as in OpenAI baselines, TRL and OpenRLHF).
// The KL penalty is in the reward (k1 or k3 per token, "Fine-Tuning Language Models from Human
// Preferences", Ziegler et al. 2019), and GAE(gamma, lambda) with advantage whitening happens when
// the rollout is scored (src/train/rl/advantages.ts): both are data here.
// Conventions: TRL averages tokens over the batch (`aggregation: token`, the default); OpenRLHF
// averages per response first (`sequence`). TRL's vf_coef is 0.1 (OpenRLHF trains a separate
// critic with its own optimizer, which a shared head cannot).

import type { GraphBuilder, Value } from '../graph/index.js';
import { mean, weightedMean } from './prelude.js';
import { aggregateTokens, checkClip, clippedSurrogate, largerOf, oldLogpsInput, RlInputs, rlMaskInput, rlPolicyInput, surrogateMetrics, type ClipHp, type TokenAggregation } from './policy-gradient.js';
import type { LossDefinition, LossGraph, LossInputSpec } from './types.js';
import { check, checkKnownKeys } from './validate.js';

export interface PpoHp extends ClipHp {
  /** Value clipping range around the rollout-time values (TRL cliprange_value 0.2; OpenRLHF value_clip 0.2). */
  valueClipRange: number;
  /** Weight of the value loss (TRL vf_coef 0.1). */
  valueCoef: number;
  aggregation: TokenAggregation;
}

export interface RtoHp extends PpoHp {
  /** RTO's beta_1: scale of the DPO token reward (official code's dpo_reward_scale; its script uses 0.05). */
  dpoRewardScale: number;
  /** |token reward| clip, 0 for none (official code's dpo_reward_clip; its script uses 0.05). */
  dpoRewardClip: number;
}

const PPO_DEFAULTS: PpoHp = { clipRange: 0.2, valueClipRange: 0.2, valueCoef: 0.1, aggregation: 'token' };

function ppoInputs(): LossInputSpec[] {
  return [
    rlPolicyInput(),
    { name: RlInputs.values, dims: ['B', 'T'], side: 'policy', doc: 'value head estimates V(s_t) on the same rows (the value loss trains the head)' },
    rlMaskInput(),
    oldLogpsInput(),
    { name: RlInputs.oldValues, dims: ['B', 'T'], side: 'data', doc: 'value estimates recorded at rollout time' },
    { name: RlInputs.tokenAdvantages, dims: ['B', 'T'], side: 'data', doc: 'GAE advantages (whitened over the rollout batch)' },
    { name: RlInputs.returns, dims: ['B', 'T'], side: 'data', doc: 'GAE returns A_t + V_old,t, the value target' },
  ];
}

function checkPpo(loss: string, hp: PpoHp): void {
  checkClip(loss, hp);
  check.positive(loss, 'valueClipRange', hp.valueClipRange);
  check.nonNegative(loss, 'valueCoef', hp.valueCoef);
  check.oneOf(loss, 'aggregation', hp.aggregation, ['token', 'sequence']);
}

function buildPpo(g: GraphBuilder, x: Record<string, Value>, hp: PpoHp): LossGraph {
  const mask = x[RlInputs.mask]!;
  const logRatio = g.sub(x[RlInputs.policy]!, x[RlInputs.oldLogps]!);
  const s = clippedSurrogate(g, logRatio, x[RlInputs.tokenAdvantages]!, hp.clipRange);
  const policyLoss = aggregateTokens(g, s.loss, mask, hp.aggregation);
  const values = x[RlInputs.values]!;
  const oldValues = x[RlInputs.oldValues]!;
  const returns = x[RlInputs.returns]!;
  const clippedValues = g.add(oldValues, g.clip(g.sub(values, oldValues), g.scalar(-hp.valueClipRange), g.scalar(hp.valueClipRange)));
  const sq = (v: Value) => {
    const d = g.sub(v, returns);
    return g.mul(d, d);
  };
  const unclippedLoss = sq(values);
  const clippedLoss = sq(clippedValues);
  const clippedWins = g.greater(clippedLoss, unclippedLoss);
  const valueLoss = g.mul(aggregateTokens(g, largerOf(g, clippedWins, clippedLoss, unclippedLoss), mask, hp.aggregation), g.scalar(0.5));
  return {
    loss: g.add(policyLoss, g.mul(valueLoss, g.scalar(hp.valueCoef))),
    metrics: {
      'loss/policy': policyLoss,
      'loss/value': valueLoss,
      ...surrogateMetrics(g, s, logRatio, mask),
      'val/clipfrac': weightedMean(g, g.cast(clippedWins, 'float32'), mask),
      'val/mean': weightedMean(g, values, mask),
      'val/advantage': weightedMean(g, x[RlInputs.tokenAdvantages]!, mask),
      'lengths/response': mean(g, g.reduceSum(mask, [1], false)),
    },
  };
}

/** PPO (Schulman et al. 2017) as RLHF uses it (Ouyang et al. 2022; TRL PPOTrainer, OpenRLHF). */
export const ppo: LossDefinition<PpoHp> = {
  name: 'ppo',
  summary: 'PPO (Schulman et al. 2017; InstructGPT): clipped surrogate on GAE advantages + clipped value loss',
  defaults: PPO_DEFAULTS,
  validate(hp) {
    checkKnownKeys('ppo', hp, this.defaults);
    checkPpo('ppo', hp);
  },
  inputs: ppoInputs,
  build: (g, x, hp) => buildPpo(g, x, hp),
};

/**
 * RTO ("DPO Meets PPO: Reinforced Token Optimization for RLHF", Zhong et al. 2024): PPO whose
 * reward adds, at every token, beta_1 * (log pi_dpo(y_t|...) - log pi_ref(y_t|...)) (clipped to
 * +-dpoRewardClip) to the sentence reward at the end. The loss is PPO's; the two hyperparameters
 * here are read where the reward is built (src/train/rl), defaults from the official script.
 */
export const rto: LossDefinition<RtoHp> = {
  name: 'rto',
  summary: 'RTO (Zhong et al. 2024): PPO on the DPO token-wise reward plus the sentence reward',
  defaults: { ...PPO_DEFAULTS, dpoRewardScale: 0.05, dpoRewardClip: 0.05 },
  validate(hp) {
    checkKnownKeys('rto', hp, this.defaults);
    checkPpo('rto', hp);
    check.positive('rto', 'dpoRewardScale', hp.dpoRewardScale);
    check.nonNegative('rto', 'dpoRewardClip', hp.dpoRewardClip);
  },
  // The dense reward enters through the advantages; the loss reads it to report it beside them.
  inputs: () => [...ppoInputs(), { name: RlInputs.dpoTokenRewards, dims: ['B', 'T'], side: 'data', doc: "RTO's per-token DPO reward, as added to the rollout's rewards" }],
  build(g, x, hp) {
    const built = buildPpo(g, x, hp);
    built.metrics['rewards/dpo_token'] = weightedMean(g, x[RlInputs.dpoTokenRewards]!, x[RlInputs.mask]!);
    return built;
  },
};
