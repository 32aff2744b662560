// Token-level preference losses: TDPO1/TDPO2 and SparsePO. Besides the paired inputs they read the
// per-token KL(pi_ref(.|x,y<t) || pi(.|x,y<t)) that the forward graph computes from both models'
// next-token distributions (the frozen reference runs inside the same graph), and SparsePO reads
// token weights or the logits of a mask head.

import type { GraphBuilder, Value } from '../graph/index.js';
import { pairedLoss } from './paired-loss.js';
import {
  LossInputs, detach, mean, negLogSigmoid, pairedInputs, pairedMetrics, pairedPrelude, reduceTokens, scale, weightedMean,
  type PairedHp, type PairedTerms,
} from './prelude.js';
import type { LossDefinition, LossInputSpec } from './types.js';
import { check, checkKnownKeys } from './validate.js';

export const TokenInputs = {
  chosenKl: 'policy_chosen_kl', // [B,T] KL(ref || policy) of the next-token distributions at each chosen position
  rejectedKl: 'policy_rejected_kl', // [B,T]
  chosenWeights: 'chosen_token_weights', // [B,T] SparsePO reference-activation mask in [0,1]
  rejectedWeights: 'rejected_token_weights',
  chosenMaskLogits: 'chosen_mask_logits', // [B,T] SparsePO learned mask head (reward mask, or common mask)
  rejectedMaskLogits: 'rejected_mask_logits',
  chosenKlMaskLogits: 'chosen_kl_mask_logits', // [B,T] second head when reward and KL masks are independent
  rejectedKlMaskLogits: 'rejected_kl_mask_logits',
} as const;

const klInputs = (): LossInputSpec[] => [
  { name: TokenInputs.chosenKl, dims: ['B', 'T'], side: 'policy', doc: 'per-token KL(pi_ref || pi) of next-token distributions along the chosen response' },
  { name: TokenInputs.rejectedKl, dims: ['B', 'T'], side: 'policy', doc: 'per-token KL(pi_ref || pi) along the rejected response' },
];

/** Sequential KL of TDPO: the masked token KLs under the loss's reduction, [B]. */
function sequentialKl(g: GraphBuilder, x: Record<string, Value>, hp: PairedHp): { chosen: Value; rejected: Value } {
  return {
    chosen: reduceTokens(g, x[TokenInputs.chosenKl]!, x[LossInputs.chosenMask]!, hp.reduction),
    rejected: reduceTokens(g, x[TokenInputs.rejectedKl]!, x[LossInputs.rejectedMask]!, hp.reduction),
  };
}

/** TDPO's implicit rewards, beta * (h + seqKL), as the official trainer logs them. */
function tdpoRewards(g: GraphBuilder, t: PairedTerms, kl: { chosen: Value; rejected: Value }) {
  return { chosen: g.mul(t.beta, g.add(t.chosenRatio, kl.chosen)), rejected: g.mul(t.beta, g.add(t.rejectedRatio, kl.rejected)) };
}

function tdpoMetrics(g: GraphBuilder, kl: { chosen: Value; rejected: Value }): Record<string, Value> {
  return { 'kl/chosen_seq': mean(g, kl.chosen), 'kl/rejected_seq': mean(g, kl.rejected) };
}

/**
 * TDPO1 ("Token-level Direct Preference Optimization", Zeng et al. 2024, Eq. 20), as the official
 * tdpo_loss with if_tdpo2=False: -log sigma(beta ((h_w - h_l) - (seqKL_l - seqKL_w))).
 * With zero KL it is DPO. Log-probs and KLs are summed over tokens, as in the official code.
 */
export const tdpo1 = pairedLoss<PairedHp>({
  name: 'tdpo1',
  summary: 'TDPO1 (Zeng et al. 2024): DPO minus the sequential-KL difference',
  defaults: { beta: 0.1, reduction: 'sum' },
  extraInputs: klInputs,
  perPair: (g, t, hp, x) => {
    const kl = sequentialKl(g, x, hp);
    return negLogSigmoid(g, g.mul(t.beta, g.sub(g.sub(t.chosenRatio, t.rejectedRatio), g.sub(kl.rejected, kl.chosen))));
  },
  rewards: (g, t, hp, x) => tdpoRewards(g, t, sequentialKl(g, x, hp)),
  metrics: (g, _t, hp, x) => tdpoMetrics(g, sequentialKl(g, x, hp)),
});

export interface Tdpo2Hp extends PairedHp {
  /** Weight of the KL difference (official default 0.5). */
  alpha: number;
}

/**
 * TDPO2 (Zeng et al. 2024, Eq. 23), as the official tdpo_loss with if_tdpo2=True:
 * -log sigma(beta ((h_w - h_l) - alpha (seqKL_l - sg(seqKL_w)))), the chosen KL detached so only the
 * rejected response's divergence is pushed up.
 */
export const tdpo2 = pairedLoss<Tdpo2Hp>({
  name: 'tdpo2',
  summary: 'TDPO2 (Zeng et al. 2024): TDPO with alpha and a stop-gradient on the chosen sequential KL',
  defaults: { beta: 0.1, reduction: 'sum', alpha: 0.5 },
  check: (hp) => check.nonNegative('tdpo2', 'alpha', hp.alpha),
  extraInputs: klInputs,
  perPair: (g, t, hp, x) => {
    const kl = sequentialKl(g, x, hp);
    const klTerm = scale(g, g.sub(kl.rejected, detach(g, kl.chosen)), hp.alpha);
    return negLogSigmoid(g, g.mul(t.beta, g.sub(g.sub(t.chosenRatio, t.rejectedRatio), klTerm)));
  },
  rewards: (g, t, hp, x) => tdpoRewards(g, t, sequentialKl(g, x, hp)),
  metrics: (g, _t, hp, x) => tdpoMetrics(g, sequentialKl(g, x, hp)),
});

// ------------------------------------------------------------------ SparsePO

export interface SparsePoHp extends PairedHp {
  /**
   * `reference`: token weights in [0,1] derived from the frozen reference model's activations
   * (inputs `*_token_weights`, see `activationTokenWeights`); `learned`: a mask head on the
   * policy's hidden states trains jointly (inputs `*_mask_logits`).
   */
  mask: 'reference' | 'learned';
  /** One mask for the reward and KL terms (`common`) or a second head for the KL term (`independent`, learned only). */
  sharing: 'common' | 'independent';
  /** Learned mask activation: `relu` gives exact zeros (sparse masks), `sigmoid` soft weights in (0,1). */
  activation: 'relu' | 'sigmoid';
  /** Weight of an L1 penalty on the learned mask values (mean over response tokens); 0 leaves sparsity to the ReLU. */
  sparsity: number;
}

const ACTIVATIONS = { relu: (g: GraphBuilder, x: Value) => g.relu(x), sigmoid: (g: GraphBuilder, x: Value) => g.sigmoid(x) };

function sparsePoInputs(hp: SparsePoHp): LossInputSpec[] {
  const specs = [...pairedInputs({ reference: true, referencePerToken: true, dynamicBeta: hp.dynamicBeta }), ...klInputs()];
  const tok = (name: string, side: 'policy' | 'reference', doc: string): LossInputSpec => ({ name, dims: ['B', 'T'], side, doc });
  if (hp.mask === 'reference')
    return [...specs, tok(TokenInputs.chosenWeights, 'reference', 'token weights in [0,1] from reference activations (chosen)'), tok(TokenInputs.rejectedWeights, 'reference', 'token weights (rejected)')];
  specs.push(tok(TokenInputs.chosenMaskLogits, 'policy', 'mask head output per chosen token'), tok(TokenInputs.rejectedMaskLogits, 'policy', 'mask head output per rejected token'));
  if (hp.sharing === 'independent')
    specs.push(tok(TokenInputs.chosenKlMaskLogits, 'policy', 'KL mask head output (chosen)'), tok(TokenInputs.rejectedKlMaskLogits, 'policy', 'KL mask head output (rejected)'));
  return specs;
}

/** Reward masks m_u and KL masks m_d for both responses, [B,T] each. */
function sparsePoMasks(g: GraphBuilder, x: Record<string, Value>, hp: SparsePoHp) {
  if (hp.mask === 'reference') {
    const w = x[TokenInputs.chosenWeights]!;
    const l = x[TokenInputs.rejectedWeights]!;
    return { uW: w, uL: l, dW: w, dL: l };
  }
  const act = ACTIVATIONS[hp.activation];
  const uW = act(g, x[TokenInputs.chosenMaskLogits]!);
  const uL = act(g, x[TokenInputs.rejectedMaskLogits]!);
  if (hp.sharing === 'common') return { uW, uL, dW: uW, dL: uL };
  return { uW, uL, dW: act(g, x[TokenInputs.chosenKlMaskLogits]!), dL: act(g, x[TokenInputs.rejectedKlMaskLogits]!) };
}

/**
 * SparsePO ("SparsePO: Controlling Preference Alignment of LLMs via Sparse Token Masks",
 * Christopoulou et al. 2024): the TDPO objective with each token's log-ratio weighted by a reward
 * mask m_u and each token's KL by a KL mask m_d,
 *   u = beta (sum_t m_u,w h_w,t - sum_t m_u,l h_l,t),  delta = beta (sum_t m_d,l KL_l,t - sum_t m_d,w KL_w,t),
 *   loss = -log sigma(u - delta).
 * With all masks 1 it is TDPO1; with masks 1 and zero KL it is DPO. Per-token reference log-probs are needed.
 */
export const sparsePo: LossDefinition<SparsePoHp> = {
  name: 'sparsepo',
  summary: 'SparsePO (Christopoulou et al. 2024): token-masked rewards and KL (reference-activation or learned masks)',
  defaults: { beta: 0.1, reduction: 'sum', mask: 'learned', sharing: 'common', activation: 'relu', sparsity: 0 },
  validate(hp) {
    checkKnownKeys('sparsepo', hp, this.defaults, ['dynamicBeta']);
    check.positive('sparsepo', 'beta', hp.beta);
    check.oneOf('sparsepo', 'reduction', hp.reduction, ['sum']);
    check.oneOf('sparsepo', 'mask', hp.mask, ['reference', 'learned']);
    check.oneOf('sparsepo', 'sharing', hp.sharing, hp.mask === 'learned' ? ['common', 'independent'] : ['common']);
    check.oneOf('sparsepo', 'activation', hp.activation, ['relu', 'sigmoid']);
    check.nonNegative('sparsepo', 'sparsity', hp.sparsity);
    check.dynamicBeta('sparsepo', hp.dynamicBeta);
  },
  inputs: sparsePoInputs,
  build(g, x, hp) {
    const cm = x[LossInputs.chosenMask]!;
    const rm = x[LossInputs.rejectedMask]!;
    // Per-token log-ratios; the prelude's sequence terms come from the same per-token reference.
    const hW = g.sub(x[LossInputs.policyChosen]!, x[LossInputs.refChosen]!); // [B,T]
    const hL = g.sub(x[LossInputs.policyRejected]!, x[LossInputs.refRejected]!);
    const t = pairedPrelude(g, { ...x, [LossInputs.refChosen]: reduceTokens(g, x[LossInputs.refChosen]!, cm, 'sum'), [LossInputs.refRejected]: reduceTokens(g, x[LossInputs.refRejected]!, rm, 'sum') }, hp);
    const m = sparsePoMasks(g, x, hp);
    const sumT = (v: Value, mask: Value) => reduceTokens(g, v, mask, 'sum');
    const rewardW = g.mul(t.beta, sumT(g.mul(m.uW, hW), cm));
    const rewardL = g.mul(t.beta, sumT(g.mul(m.uL, hL), rm));
    const klW = sumT(g.mul(m.dW, x[TokenInputs.chosenKl]!), cm);
    const klL = sumT(g.mul(m.dL, x[TokenInputs.rejectedKl]!), rm);
    const delta = g.mul(t.beta, g.sub(klL, klW));
    let loss = mean(g, negLogSigmoid(g, g.sub(g.sub(rewardW, rewardL), delta)));
    const tokens = g.add(g.reduceSum(cm, undefined, false), g.reduceSum(rm, undefined, false));
    const maskMass = g.add(g.reduceSum(g.mul(m.uW, cm), undefined, false), g.reduceSum(g.mul(m.uL, rm), undefined, false));
    const density = g.div(maskMass, g.max(tokens, g.scalar(1)));
    if (hp.mask === 'learned' && hp.sparsity > 0) loss = g.add(loss, scale(g, density, hp.sparsity));
    const metrics = pairedMetrics(g, t, { chosen: rewardW, rejected: rewardL });
    metrics['mask/density'] = density;
    metrics['mask/nonzero'] = g.div(
      g.add(weightedMean(g, g.cast(g.greater(m.uW, g.scalar(0)), 'float32'), cm), weightedMean(g, g.cast(g.greater(m.uL, g.scalar(0)), 'float32'), rm)),
      g.scalar(2),
    );
    return { loss, metrics };
  },
};

/** x rounded through float16, as the official mask's `torch.Tensor(...).type(torch.float16)` does to std, min and max. */
function viaFloat16(g: GraphBuilder, x: Value): Value {
  return g.cast(g.cast(x, 'float16'), 'float32');
}

/**
 * SparsePO's `zn_rescale` of one hooked activation (huawei-noah/HEBO SparsePO, MAPOTrainer
 * apply_activation_mapping): the token's mean over the hidden units ([B,T,H] -> [B,T]), z-normalised
 * with the mean and unbiased std over the response's tokens, then min-max rescaled over those
 * tokens to [0,1]; masked tokens get 0. std, min, max and max - min pass through float16 as in the code. A
 * response whose tokens all get the same z (one token) gets weight 1 everywhere, where the code
 * would divide 0 by 0.
 */
export function znRescale(g: GraphBuilder, activations: Value, mask: Value): Value {
  const r = g.reduceMean(g.stopGradient(activations), [2], false); // [B,T]
  const n = g.reduceSum(mask, [1], true); // [B,1]
  const mean = g.div(g.reduceSum(g.mul(r, mask), [1], true), g.max(n, g.scalar(1)));
  const dev = g.sub(r, mean);
  const variance = g.div(g.reduceSum(g.mul(g.mul(dev, dev), mask), [1], true), g.max(g.sub(n, g.scalar(1)), g.scalar(1)));
  const z = g.div(dev, g.add(viaFloat16(g, g.sqrt(variance)), g.scalar(1e-12)));
  const on = g.greater(mask, g.scalar(0));
  const far = g.scalar(3e38);
  const max = viaFloat16(g, g.reduceMax(g.where(on, z, g.neg(far)), [1], true));
  const min = viaFloat16(g, g.neg(g.reduceMax(g.where(on, g.neg(z), g.neg(far)), [1], true)));
  const range = viaFloat16(g, g.sub(max, min)); // float16 - float16 stays float16 in torch
  const spread = g.greater(range, g.scalar(0));
  return g.mul(g.where(spread, g.div(g.sub(z, min), g.where(spread, range, g.scalar(1))), g.scalar(1)), mask);
}

/**
 * SparsePO's reference-activation mask as a graph helper, as MAPOTrainer computes it with
 * activation_mapping "zn_rescale": each hooked activation [B,T,H] of the frozen reference is
 * `znRescale`d, the hooks of one type (e.g. every layer's MLP activation) are averaged, and the
 * types (mlp, attn, resid, logits under activation_hook "all") are averaged. `hooks` is one
 * activation, the hooks of one type, or a list of types each with its hooks.
 */
export function activationTokenWeights(g: GraphBuilder, hooks: Value | readonly Value[] | readonly (readonly Value[])[], mask: Value): Value {
  const types: (readonly Value[])[] = typeof hooks === 'string' ? [[hooks]] : typeof hooks[0] === 'string' ? [hooks as readonly Value[]] : (hooks as (readonly Value[])[]);
  const mean = (xs: Value[]) => (xs.length === 1 ? xs[0]! : g.div(xs.reduce((a, b) => g.add(a, b)), g.scalar(xs.length)));
  return mean(types.map((hs) => mean(hs.map((h) => znRescale(g, h, mask)))));
}
