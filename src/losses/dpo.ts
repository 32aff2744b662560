// The DPO family with a reference model, each loss one equation over the prelude's log-ratios
// h_w, h_l (d = h_w - h_l). Conventions follow TRL's DPOTrainer.dpo_loss: log-probs summed over
// response tokens, except IPO which averages them; the batch loss is the mean over pairs.

import type { GraphBuilder, Value } from '../graph/index.js';
import { pairedLoss } from './paired-loss.js';
import { LossInputs, lengths, negLogSigmoid, reduceTokens, scale, type PairedHp, type PairedTerms } from './prelude.js';
import { check } from './validate.js';

/** beta * (h_w - h_l): the DPO logit. */
function logit(g: GraphBuilder, t: PairedTerms): Value {
  return g.mul(t.beta, g.sub(t.chosenRatio, t.rejectedRatio));
}

/** DPO ("Direct Preference Optimization", Rafailov et al. 2023, Eq. 7): -log sigma(beta d). */
export const dpo = pairedLoss<PairedHp>({
  name: 'dpo',
  summary: 'DPO (Rafailov et al. 2023): -log sigmoid(beta (h_w - h_l))',
  defaults: { beta: 0.1, reduction: 'sum' },
  perPair: (g, t) => negLogSigmoid(g, logit(g, t)),
});

export interface SmoothedHp extends PairedHp {
  labelSmoothing: number;
}

/**
 * Conservative DPO (Mitchell, "A note on DPO with noisy preferences", Eq. 3), TRL's sigmoid loss
 * with label_smoothing: -(1-eps) log sigma(beta d) - eps log sigma(-beta d). eps = 0 is DPO.
 */
export const cdpo = pairedLoss<SmoothedHp>({
  name: 'cdpo',
  summary: 'conservative DPO (Mitchell 2023): DPO with label smoothing eps',
  defaults: { beta: 0.1, reduction: 'sum', labelSmoothing: 0.1 },
  check: (hp) => check.range('cdpo', 'labelSmoothing', hp.labelSmoothing, 0, 0.5, true),
  perPair: (g, t, hp) => {
    const z = logit(g, t);
    return g.add(scale(g, negLogSigmoid(g, z), 1 - hp.labelSmoothing), scale(g, negLogSigmoid(g, g.neg(z)), hp.labelSmoothing));
  },
});

/**
 * Robust DPO ("Provably Robust DPO", Chowdhury et al. 2024, Eq. 5), as TRL's `robust` loss: the
 * unbiased estimate under a label-flip rate eps,
 * ((1-eps) * -log sigma(beta d) + eps * log sigma(-beta d)) / (1 - 2 eps).
 */
export const robustDpo = pairedLoss<SmoothedHp>({
  name: 'robust_dpo',
  summary: 'robust DPO (Chowdhury et al. 2024): unbiased DPO under label-flip rate eps',
  defaults: { beta: 0.1, reduction: 'sum', labelSmoothing: 0.1 },
  check: (hp) => check.range('robust_dpo', 'labelSmoothing', hp.labelSmoothing, 0, 0.5),
  perPair: (g, t, hp) => {
    const z = logit(g, t);
    const eps = hp.labelSmoothing;
    const clean = scale(g, negLogSigmoid(g, z), 1 - eps);
    const flipped = scale(g, negLogSigmoid(g, g.neg(z)), eps); // = -eps log sigma(-z)
    return scale(g, g.sub(clean, flipped), 1 / (1 - 2 * eps));
  },
});

/**
 * IPO ("A General Theoretical Paradigm to Understand Learning from Human Preferences", Azar et
 * al. 2023, Eq. 17): (d - 1/(2 tau))^2 with tau = beta. TRL averages log-probs over tokens for IPO.
 */
export const ipo = pairedLoss<PairedHp>({
  name: 'ipo',
  summary: 'IPO (Azar et al. 2023): (h_w - h_l - 1/(2 tau))^2, tau = beta, token-averaged log-probs',
  defaults: { beta: 0.1, reduction: 'mean' },
  perPair: (g, t) => {
    // 1/(2 tau) per pair, so dynamic beta moves each pair's target margin.
    const r = g.sub(g.sub(t.chosenRatio, t.rejectedRatio), g.div(g.scalar(0.5), t.beta));
    return g.mul(r, r);
  },
});

/** Hinge loss of SLiC ("SLiC-HF", Zhao et al. 2023) on the normalised likelihood, as TRL: max(0, 1 - beta d). */
export const hinge = pairedLoss<PairedHp>({
  name: 'hinge',
  summary: 'hinge / SLiC (Zhao et al. 2023): max(0, 1 - beta (h_w - h_l))',
  defaults: { beta: 0.1, reduction: 'sum' },
  perPair: (g, t) => g.relu(g.sub(g.scalar(1), logit(g, t))),
});

/**
 * LN-DPO ("The Hitchhiker's Guide to Human Alignment with *PO", Ahrabian et al. 2024, arXiv 2407.15229): DPO on
 * length-normalised log-ratios h/|y|. With both responses of length L this is DPO with beta/L.
 */
export const lnDpo = pairedLoss<PairedHp>({
  name: 'ln_dpo',
  summary: "LN-DPO (Hitchhiker's Guide to *PO): DPO on length-normalised log-ratios h/|y|",
  defaults: { beta: 0.1, reduction: 'mean' },
  check: (hp) => check.oneOf('ln_dpo', 'reduction', hp.reduction, ['mean']),
  perPair: (g, t) => negLogSigmoid(g, logit(g, t)),
});

export interface RpoHp extends PairedHp {
  /** Weight of the NLL term (TRL rpo_alpha; the paper recommends 1.0). */
  alpha: number;
  /** `token`: NLL averaged over all chosen tokens of the batch (TRL's cross_entropy); `sequence`: per-response mean NLL, averaged over pairs. */
  nllReduction: 'token' | 'sequence';
}

/** Mean NLL of the chosen responses under the policy, in either convention. */
export function chosenNll(g: GraphBuilder, x: Record<string, Value>, by: 'token' | 'sequence'): Value {
  const lp = x[LossInputs.policyChosen]!;
  const mask = x[LossInputs.chosenMask]!;
  if (by === 'sequence') return g.neg(g.reduceMean(reduceTokens(g, lp, mask, 'mean'), undefined, false));
  const total = g.reduceSum(g.mul(lp, mask), undefined, false);
  return g.neg(g.div(total, g.max(g.reduceSum(lengths(g, mask), undefined, false), g.scalar(1))));
}

/**
 * RPO ("Provably Mitigating Overoptimization in RLHF", Liu et al. 2024): DPO plus alpha times the
 * SFT loss of the chosen response, as TRL adds `rpo_alpha * nll_loss`. alpha = 0 is DPO.
 */
export const rpo = pairedLoss<RpoHp>({
  name: 'rpo',
  summary: 'RPO (Liu et al. 2024): DPO + alpha * NLL(chosen)',
  defaults: { beta: 0.1, reduction: 'sum', alpha: 1, nllReduction: 'token' },
  check: (hp) => {
    check.nonNegative('rpo', 'alpha', hp.alpha);
    check.oneOf('rpo', 'nllReduction', hp.nllReduction, ['token', 'sequence']);
  },
  perPair: (g, t) => negLogSigmoid(g, logit(g, t)),
  extra: (g, _t, hp, x) => {
    const nll = chosenNll(g, x, hp.nllReduction);
    return { value: scale(g, nll, hp.alpha), metrics: { nll_loss: nll } };
  },
});
