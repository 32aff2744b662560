// PPO for RLHF as InstructGPT trained it and TRL's PPOTrainer / OpenRLHF implement it, and RTO,
// which is PPO on a denser reward. The loss is the clipped surrogate on GAE advantages plus the
// clipped value loss of a value function:
//   L = agg_t max(-A_t r_t, -A_t clip(r_t, 1-eps, 1+eps))
//       + vfCoef * 0.5 * agg_t max((V_t - R_t)^2, (V_old,t + clip(V_t - V_old,t, -epsV, epsV) - R_t)^2)
// (Schulman et al. 2017, Eq. 7 and 9; value clipping as in OpenAI baselines, TRL and OpenRLHF).
// The KL penalty is in the reward (k1 or k3 per token, "Fine-Tuning Language Models from Human
// Preferences", Ziegler et al. 2019), and GAE(gamma, lambda) with advantage whitening happens when
// the rollout is scored (src/train/rl/advantages.ts): both are data here.
// The value function is a head on the policy's backbone (`valueModel: head`, TRL's layout: the value
// term above trains it with the policy) or a separate critic model (`valueModel: critic`,
// OpenRLHF's layout: the policy's loss is the surrogate alone, and the critic trains on
// `valueLoss` below with its own optimizer, src/train/rl/critic.ts).
// Conventions: TRL averages tokens over the batch (`aggregation: token`, the default); OpenRLHF
// averages per response first (`sequence`). TRL's vf_coef is 0.1 (OpenRLHF's critic trains on the
// value loss alone).

import type { GraphBuilder, Value } from '../graph/index.js';
import { mean, weightedMean } from './prelude.js';
import { aggregateTokens, checkClip, clippedSurrogate, largerOf, oldLogpsInput, RlInputs, rlMaskInput, rlPolicyInput, surrogateMetrics, type ClipHp, type TokenAggregation } from './policy-gradient.js';
import type { LossDefinition, LossGraph, LossInputSpec } from './types.js';
import { check, checkKnownKeys } from './validate.js';

/** Where PPO's value function lives: a head on the policy's backbone, or a separate critic model. */
export const VALUE_MODELS = ['head', 'critic'] as const;
export type ValueModel = (typeof VALUE_MODELS)[number];

export interface ValueLossHp {
  /** Value clipping range around the rollout-time values (TRL cliprange_value 0.2; OpenRLHF value_clip 0.2). */
  valueClipRange: number;
  aggregation: TokenAggregation;
}

export interface PpoHp extends ClipHp, ValueLossHp {
  /** Weight of the value loss (TRL vf_coef 0.1); unused with a separate critic, which trains on the value loss alone. */
  valueCoef: number;
  /** `head`: a value head on the policy, trained by this loss; `critic`: a separate model (run config rl.critic, --critic DIR). */
  valueModel: ValueModel;
}

export interface RtoHp extends PpoHp {
  /** RTO's beta_1: scale of the DPO token reward (official code's dpo_reward_scale; its script uses 0.05). */
  dpoRewardScale: number;
  /** |token reward| clip, 0 for none (official code's dpo_reward_clip; its script uses 0.05). */
  dpoRewardClip: number;
}

const PPO_DEFAULTS: PpoHp = { clipRange: 0.2, valueClipRange: 0.2, valueCoef: 0.1, aggregation: 'token', valueModel: 'head' };

/** The value loss's inputs: the value function's estimates (its gradient trains it), the rollout-time ones, the GAE returns. */
function valueInputs(): LossInputSpec[] {
  return [
    { name: RlInputs.values, dims: ['B', 'T'], side: 'policy', doc: 'value estimates V(s_t) on the same rows (the value loss trains the value function)' },
    { name: RlInputs.oldValues, dims: ['B', 'T'], side: 'data', doc: 'value estimates recorded at rollout time' },
    { name: RlInputs.returns, dims: ['B', 'T'], side: 'data', doc: 'GAE returns A_t + V_old,t, the value target' },
  ];
}

function ppoInputs(hp: PpoHp): LossInputSpec[] {
  return [
    rlPolicyInput(),
    rlMaskInput(),
    oldLogpsInput(),
    { name: RlInputs.tokenAdvantages, dims: ['B', 'T'], side: 'data', doc: 'GAE advantages (whitened over the rollout batch)' },
    ...(hp.valueModel === 'head' ? valueInputs() : []),
  ];
}

function checkValueLoss(loss: string, hp: ValueLossHp): void {
  check.positive(loss, 'valueClipRange', hp.valueClipRange);
  check.oneOf(loss, 'aggregation', hp.aggregation, ['token', 'sequence']);
}

function checkPpo(loss: string, hp: PpoHp): void {
  checkClip(loss, hp);
  checkValueLoss(loss, hp);
  check.nonNegative(loss, 'valueCoef', hp.valueCoef);
  check.oneOf(loss, 'valueModel', hp.valueModel, VALUE_MODELS);
}

/**
 * The clipped value loss (Schulman et al. 2017 Eq. 9 as OpenAI baselines clip it; TRL's vf_loss,
 * OpenRLHF's ValueLoss): 0.5 * agg_t max((V - R)^2, (V_old + clip(V - V_old, -epsV, epsV) - R)^2),
 * with the value metrics TRL logs.
 */
function buildValueLoss(g: GraphBuilder, x: Record<string, Value>, hp: ValueLossHp): LossGraph {
  const mask = x[RlInputs.mask]!;
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
  const loss = g.mul(aggregateTokens(g, largerOf(g, clippedWins, clippedLoss, unclippedLoss), mask, hp.aggregation), g.scalar(0.5));
  return {
    loss,
    metrics: { 'loss/value': loss, 'val/clipfrac': weightedMean(g, g.cast(clippedWins, 'float32'), mask), 'val/mean': weightedMean(g, values, mask) },
  };
}

/**
 * PPO's value loss alone: what a separate critic model trains on (OpenRLHF's critic_loss_fn, the
 * critic's own optimizer). Not in the registry: no run kind trains it as its loss; the critic stage
 * (src/train/rl/critic.ts) splices it after the critic's forward.
 */
export const valueLoss: LossDefinition<ValueLossHp> = {
  name: 'value',
  summary: "PPO's clipped value loss (Schulman et al. 2017 Eq. 9): a separate critic's objective",
  defaults: { valueClipRange: PPO_DEFAULTS.valueClipRange, aggregation: PPO_DEFAULTS.aggregation },
  validate(hp) {
    checkKnownKeys('value', hp, this.defaults);
    checkValueLoss('value', hp);
  },
  inputs: () => [rlMaskInput(), ...valueInputs()],
  build: buildValueLoss,
};

function buildPpo(g: GraphBuilder, x: Record<string, Value>, hp: PpoHp): LossGraph {
  const mask = x[RlInputs.mask]!;
  const logRatio = g.sub(x[RlInputs.policy]!, x[RlInputs.oldLogps]!);
  const s = clippedSurrogate(g, logRatio, x[RlInputs.tokenAdvantages]!, hp.clipRange);
  const policyLoss = aggregateTokens(g, s.loss, mask, hp.aggregation);
  const metrics: Record<string, Value> = {
    'loss/policy': policyLoss,
    ...surrogateMetrics(g, s, logRatio, mask),
    'val/advantage': weightedMean(g, x[RlInputs.tokenAdvantages]!, mask),
    'lengths/response': mean(g, g.reduceSum(mask, [1], false)),
  };
  // A separate critic reports its value loss from its own update (src/train/rl/critic.ts).
  if (hp.valueModel === 'critic') return { loss: policyLoss, metrics };
  const value = buildValueLoss(g, x, hp);
  return { loss: g.add(policyLoss, g.mul(value.loss, g.scalar(hp.valueCoef))), metrics: { ...metrics, ...value.metrics } };
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
  inputs: (hp) => [...ppoInputs(hp), { name: RlInputs.dpoTokenRewards, dims: ['B', 'T'], side: 'data', doc: "RTO's per-token DPO reward, as added to the rollout's rewards" }],
  build(g, x, hp) {
    const built = buildPpo(g, x, hp);
    built.metrics['rewards/dpo_token'] = weightedMean(g, x[RlInputs.dpoTokenRewards]!, x[RlInputs.mask]!);
    return built;
  },
};
