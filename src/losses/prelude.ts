// The shared prelude of every preference loss, written once (STYLE.md point 3): sequence
// reductions of per-token log-probs under the response mask, log-ratios against the reference,
// a stable -log sigmoid, the (optionally dynamic) beta, and the metrics TRL logs for paired losses.
// Loss files then read like their paper's equation.

import type { GraphBuilder, Value } from '../graph/index.js';
import { dynamicBetaValue } from './dynamic-beta.js';
import type { DynamicBetaHp, LossInputSpec, Reduction } from './types.js';

// ------------------------------------------------------------------ input names (one interface)

/** The names every loss reads its inputs by; the forward graph (or a user) provides them. */
export const LossInputs = {
  policyChosen: 'policy_chosen_logps', // [B,T] log pi(y_w,t | x, y_w,<t), 0 on padding
  policyRejected: 'policy_rejected_logps', // [B,T]
  chosenMask: 'chosen_mask', // [B,T] 1 on response tokens, 0 on prompt and padding
  rejectedMask: 'rejected_mask', // [B,T]
  refChosen: 'ref_chosen_logps', // [B] summed over response tokens ([B,T] where a loss says so)
  refRejected: 'ref_rejected_logps', // [B]
  rewardMargin: 'reward_margin', // [B] reward-model margin r(y_w) - r(y_l), for dynamic beta
} as const;

export const policyInput = (name: string, doc: string): LossInputSpec => ({ name, dims: ['B', 'T'], side: 'policy', doc });
export const maskInput = (name: string, doc: string): LossInputSpec => ({ name, dims: ['B', 'T'], side: 'data', doc });

/** Inputs of a paired loss: policy log-probs and masks, the reference when it has one. */
export function pairedInputs(opts: { reference: boolean; referencePerToken?: boolean; dynamicBeta?: unknown }): LossInputSpec[] {
  const specs = [
    policyInput(LossInputs.policyChosen, 'per-token log-probs of the chosen response under the policy'),
    policyInput(LossInputs.policyRejected, 'per-token log-probs of the rejected response under the policy'),
    maskInput(LossInputs.chosenMask, 'chosen response token mask (float 0/1)'),
    maskInput(LossInputs.rejectedMask, 'rejected response token mask (float 0/1)'),
  ];
  if (opts.reference) {
    const dims = opts.referencePerToken ? ['B', 'T'] : ['B'];
    const unit = opts.referencePerToken ? 'per-token' : 'summed over response tokens';
    specs.push(
      { name: LossInputs.refChosen, dims, side: 'reference', doc: `reference log-probs of the chosen response, ${unit}` },
      { name: LossInputs.refRejected, dims, side: 'reference', doc: `reference log-probs of the rejected response, ${unit}` },
    );
  }
  if (opts.dynamicBeta !== undefined)
    specs.push({ name: LossInputs.rewardMargin, dims: ['B'], side: 'data', doc: 'reward-model margin r(x,y_w) - r(x,y_l) (MM-RLHF dynamic beta)' });
  return specs;
}

// ------------------------------------------------------------------ small graph helpers

/** Number of response tokens per row: [B,T] -> [B]. */
export function lengths(g: GraphBuilder, mask: Value): Value {
  return g.reduceSum(mask, [1], false);
}

/** Sum or mean over the masked tokens of each row: [B,T] -> [B]. Mean guards empty rows with max(len, 1). */
export function reduceTokens(g: GraphBuilder, perToken: Value, mask: Value, reduction: Reduction): Value {
  const sum = g.reduceSum(g.mul(perToken, mask), [1], false);
  if (reduction === 'sum') return sum;
  return g.div(sum, g.max(lengths(g, mask), g.scalar(1)));
}

/** A [B] reference sum turned into the same convention as the policy's reduction. */
export function reduceReference(g: GraphBuilder, refSum: Value, mask: Value, reduction: Reduction): Value {
  if (reduction === 'sum') return refSum;
  return g.div(refSum, g.max(lengths(g, mask), g.scalar(1)));
}

/** -log sigmoid(x), written Softplus(-x) so it stays finite for large |x|. */
export function negLogSigmoid(g: GraphBuilder, x: Value): Value {
  return g.softplus(g.neg(x));
}

/** Mean over every element: -> scalar. */
export function mean(g: GraphBuilder, x: Value): Value {
  return g.reduceMean(x, undefined, false);
}

/** c * x with c a number. */
export function scale(g: GraphBuilder, x: Value, c: number): Value {
  return g.mul(x, g.scalar(c));
}

/** Weighted batch mean sum(w * x) / max(sum(w), eps): the mean over the rows a 0/1 weight selects. */
export function weightedMean(g: GraphBuilder, x: Value, w: Value): Value {
  return g.div(g.reduceSum(g.mul(x, w), undefined, false), g.max(g.reduceSum(w, undefined, false), g.scalar(1e-12)));
}

/** 1.0 where a > b else 0.0 (metrics only: not differentiable, never on the loss path). */
export function greaterAsFloat(g: GraphBuilder, a: Value, b: Value): Value {
  return g.cast(g.greater(a, b), 'float32');
}

/**
 * Stop-gradient: the value passes unchanged and no gradient flows back through it. Used where a
 * paper detaches a term (KTO's reference point, BCO's running mean, TDPO2's chosen KL).
 */
export function detach(g: GraphBuilder, x: Value): Value {
  return g.stopGradient(x);
}

// ------------------------------------------------------------------ the paired prelude

export interface PairedHp extends DynamicBetaHp {
  beta: number;
  reduction: Reduction;
}

export interface PairedTerms {
  /** Reduced policy log-probs: [B]. */
  chosenLogps: Value;
  rejectedLogps: Value;
  /** Log-ratios h = lp - rp under the loss's reduction (lp when reference-free): [B]. */
  chosenRatio: Value;
  rejectedRatio: Value;
  /** beta as a scalar, or [B] under dynamic scaling. */
  beta: Value;
  chosenLength: Value;
  rejectedLength: Value;
}

/** Log-ratios computed once for every paired loss (TRL DPOTrainer.dpo_loss's opening lines). */
export function pairedPrelude(g: GraphBuilder, x: Record<string, Value>, hp: PairedHp, reference = true): PairedTerms {
  const chosenMask = x[LossInputs.chosenMask]!;
  const rejectedMask = x[LossInputs.rejectedMask]!;
  const chosenLogps = reduceTokens(g, x[LossInputs.policyChosen]!, chosenMask, hp.reduction);
  const rejectedLogps = reduceTokens(g, x[LossInputs.policyRejected]!, rejectedMask, hp.reduction);
  const chosenRatio = reference ? g.sub(chosenLogps, reduceReference(g, x[LossInputs.refChosen]!, chosenMask, hp.reduction)) : chosenLogps;
  const rejectedRatio = reference ? g.sub(rejectedLogps, reduceReference(g, x[LossInputs.refRejected]!, rejectedMask, hp.reduction)) : rejectedLogps;
  return {
    chosenLogps,
    rejectedLogps,
    chosenRatio,
    rejectedRatio,
    beta: dynamicBetaValue(g, hp.beta, hp.dynamicBeta, x[LossInputs.rewardMargin]),
    chosenLength: lengths(g, chosenMask),
    rejectedLength: lengths(g, rejectedMask),
  };
}

/**
 * The metrics every paired loss reports, named as TRL logs them: implicit rewards (beta * h by
 * default, or the loss's own), their margin and accuracy, mean log-probs, a KL estimate (the mean
 * log-ratio over both responses of the batch, an estimate on offline data rather than on policy
 * samples) and mean response lengths.
 */
export function pairedMetrics(g: GraphBuilder, t: PairedTerms, rewards?: { chosen: Value; rejected: Value }): Record<string, Value> {
  const chosen = rewards?.chosen ?? g.mul(t.beta, t.chosenRatio);
  const rejected = rewards?.rejected ?? g.mul(t.beta, t.rejectedRatio);
  return {
    'rewards/chosen': mean(g, chosen),
    'rewards/rejected': mean(g, rejected),
    'rewards/margins': mean(g, g.sub(chosen, rejected)),
    'rewards/accuracies': mean(g, greaterAsFloat(g, chosen, rejected)),
    'logps/chosen': mean(g, t.chosenLogps),
    'logps/rejected': mean(g, t.rejectedLogps),
    kl: scale(g, g.add(mean(g, t.chosenRatio), mean(g, t.rejectedRatio)), 0.5),
    'lengths/chosen': mean(g, t.chosenLength),
    'lengths/rejected': mean(g, t.rejectedLength),
  };
}
