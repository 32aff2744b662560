// Losses with no reference model: SimPO, ORPO and plain SFT (negative log-likelihood of the chosen
// response, the term other losses compose with, e.g. DPO + SFT).

import type { GraphBuilder, Value } from '../graph/index.js';
import { pairedLoss } from './paired-loss.js';
import { LossInputs, maskInput, mean, negLogSigmoid, policyInput, type PairedHp, type PairedTerms } from './prelude.js';
import { chosenNll } from './dpo.js';
import type { LossDefinition } from './types.js';
import { check, checkKnownKeys } from './validate.js';

export interface SimpoHp extends PairedHp {
  /** Target reward margin gamma (SimPO Eq. 6). */
  gamma: number;
}

/**
 * SimPO ("SimPO: Simple Preference Optimization with a Reference-Free Reward", Meng et al. 2024,
 * Eq. 6): -log sigma(beta (lp_w/|y_w| - lp_l/|y_l|) - gamma), log-probs averaged over tokens as TRL's
 * CPOTrainer does for loss_type="simpo". Defaults from the official SimPO config (beta 2.0,
 * gamma_beta_ratio 0.25, i.e. gamma 0.5). Implicit rewards are beta * lp (TRL CPOTrainer).
 */
export const simpo = pairedLoss<SimpoHp>({
  name: 'simpo',
  summary: 'SimPO (Meng et al. 2024): -log sigmoid(beta (avg lp_w - avg lp_l) - gamma), no reference',
  defaults: { beta: 2.0, gamma: 0.5, reduction: 'mean' },
  reference: false,
  check: (hp) => check.number('simpo', 'gamma', hp.gamma),
  perPair: (g, t, hp) => negLogSigmoid(g, g.sub(g.mul(t.beta, g.sub(t.chosenLogps, t.rejectedLogps)), g.scalar(hp.gamma))),
});

/** log odds(y_w) - log odds(y_l) from token-averaged log-probs (lp < 0, so 1 - exp(lp) > 0). */
function logOddsRatio(g: GraphBuilder, t: PairedTerms): Value {
  const log1mexp = (lp: Value) => g.log(g.sub(g.scalar(1), g.exp(lp)));
  return g.sub(g.sub(t.chosenLogps, t.rejectedLogps), g.sub(log1mexp(t.chosenLogps), log1mexp(t.rejectedLogps)));
}

export interface OrpoHp extends PairedHp {
  /** `token` (TRL: cross-entropy averaged over all chosen tokens) or `sequence`. */
  nllReduction: 'token' | 'sequence';
}

/**
 * ORPO ("ORPO: Monolithic Preference Optimization without Reference Model", Hong et al. 2024,
 * Eq. 6-7), as TRL's ORPOTrainer: NLL(chosen) - lambda * log sigma(log odds_w - log odds_l), with
 * odds = p / (1 - p) and p = exp(token-averaged log-prob), so
 * log odds_w - log odds_l = (lp_w - lp_l) - (log(1 - exp(lp_w)) - log(1 - exp(lp_l))).
 * lambda is `beta` (TRL's name; default 0.1). Rewards are beta * lp as TRL logs them.
 */
export const orpo = pairedLoss<OrpoHp>({
  name: 'orpo',
  summary: 'ORPO (Hong et al. 2024): NLL(chosen) - lambda log sigmoid(log odds ratio), no reference',
  defaults: { beta: 0.1, reduction: 'mean', nllReduction: 'token' },
  reference: false,
  check: (hp) => check.oneOf('orpo', 'nllReduction', hp.nllReduction, ['token', 'sequence']),
  perPair: (g, t) => g.mul(t.beta, negLogSigmoid(g, logOddsRatio(g, t))),
  extra: (g, t, hp, x) => {
    const nll = chosenNll(g, x, hp.nllReduction);
    const logOdds = logOddsRatio(g, t);
    return { value: nll, metrics: { nll_loss: nll, log_odds_ratio: mean(g, g.neg(negLogSigmoid(g, logOdds))), log_odds_chosen: mean(g, logOdds) } };
  },
});

export interface SftHp {
  /** `token`: mean NLL over every chosen token of the batch (TRL's SFT cross-entropy); `sequence`: mean over rows of each row's token mean. */
  nllReduction: 'token' | 'sequence';
}

/** Plain SFT: negative log-likelihood of the chosen response (the `chosen_*` inputs). */
export const sft: LossDefinition<SftHp> = {
  name: 'sft',
  summary: 'SFT: negative log-likelihood of the chosen response',
  defaults: { nllReduction: 'token' },
  validate(hp) {
    checkKnownKeys('sft', hp, this.defaults);
    check.oneOf('sft', 'nllReduction', hp.nllReduction, ['token', 'sequence']);
  },
  inputs: () => [
    policyInput(LossInputs.policyChosen, 'per-token log-probs of the target response under the policy'),
    maskInput(LossInputs.chosenMask, 'target response token mask (float 0/1)'),
  ],
  build(g, x, hp) {
    const nll = chosenNll(g, x, hp.nllReduction);
    const tokens = g.reduceSum(x[LossInputs.chosenMask]!, undefined, false);
    return { loss: nll, metrics: { nll_loss: nll, perplexity: g.exp(nll), tokens } };
  },
};
