// SRPO ("Self-Improving Robust Preference Optimization", Choi et al. 2024), offline form.
//
// The min-max objective pairs a generative policy pi(y|x) with a self-improvement policy
// pi+(y'|y,x) that revises a draft y. Its inner optimum gives, for any pair,
//   beta [h+(y2|y1) - h+(y1|y1)] = p(y2 > y1) - 1/2                 (h+ = log pi+/pi_ref under the revision prompt)
// and the outer optimum ties the generative policy to the same quantity,
//   beta h+(y|y) = beta h(y) + const.
// The paper's offline loss L_alpha regresses one squared residual that mixes the two baselines:
//   ( p(y2 > y1) - 1/2 - beta h+(y2|y1) + alpha beta h(y1) + (1 - alpha) beta h+(y1|y1) )^2.
// Offline, with y1 the rejected draft and y2 the chosen revision, p(y2 > y1) is the label (1 for
// hard preferences, a soft probability when given). In practice pi and pi+ are one model run on
// two prompt layouts (with and without the draft in context); the forward graph provides both.

import { lengths, mean, pairedInputs, pairedMetrics, pairedPrelude, reduceReference, reduceTokens, type PairedHp } from './prelude.js';
import type { LossDefinition, LossInputSpec } from './types.js';
import { check, checkKnownKeys } from './validate.js';

export const SrpoInputs = {
  revision: 'policy_revision_logps', // [B,T] log pi+(y_w | x, draft y_l) per token
  refRevision: 'ref_revision_logps', // [B] summed
  revisionMask: 'revision_mask', // [B,T]
  selfRevision: 'policy_self_revision_logps', // [B,T] log pi+(y_l | x, draft y_l)
  refSelfRevision: 'ref_self_revision_logps', // [B]
  selfRevisionMask: 'self_revision_mask', // [B,T]
} as const;

export interface SrpoHp extends PairedHp {
  /** Mix between the generative baseline h(y_l) (alpha = 1) and the self-revision baseline h+(y_l|y_l) (alpha = 0). */
  alpha: number;
  /** p(y_w > y_l) for hard labels; 1 by default. */
  preference: number;
}

export const srpo: LossDefinition<SrpoHp> = {
  name: 'srpo',
  summary: 'SRPO offline loss (Choi et al. 2024): joint squared loss of a generative and a self-improvement policy',
  defaults: { beta: 0.1, reduction: 'sum', alpha: 0.5, preference: 1 },
  validate(hp) {
    checkKnownKeys('srpo', hp, this.defaults, ['dynamicBeta']);
    check.positive('srpo', 'beta', hp.beta);
    check.oneOf('srpo', 'reduction', hp.reduction, ['sum', 'mean']);
    check.range('srpo', 'alpha', hp.alpha, 0, 1, true);
    check.range('srpo', 'preference', hp.preference, 0, 1, true);
    check.dynamicBeta('srpo', hp.dynamicBeta);
  },
  inputs(hp) {
    const tok = (name: string, side: 'policy' | 'data', doc: string): LossInputSpec => ({ name, dims: ['B', 'T'], side, doc });
    return [
      ...pairedInputs({ reference: true, dynamicBeta: hp.dynamicBeta }),
      tok(SrpoInputs.revision, 'policy', 'per-token log-probs of the chosen response as a revision of the rejected draft'),
      { name: SrpoInputs.refRevision, dims: ['B'], side: 'reference', doc: 'reference log-probs of that revision, summed' },
      tok(SrpoInputs.revisionMask, 'data', 'token mask of the revision'),
      tok(SrpoInputs.selfRevision, 'policy', 'per-token log-probs of the rejected response as a revision of itself'),
      { name: SrpoInputs.refSelfRevision, dims: ['B'], side: 'reference', doc: 'reference log-probs of the self-revision, summed' },
      tok(SrpoInputs.selfRevisionMask, 'data', 'token mask of the self-revision'),
    ];
  },
  build(g, x, hp) {
    const t = pairedPrelude(g, x, hp);
    const ratio = (lp: string, ref: string, mask: string) =>
      g.sub(reduceTokens(g, x[lp]!, x[mask]!, hp.reduction), reduceReference(g, x[ref]!, x[mask]!, hp.reduction));
    const revise = ratio(SrpoInputs.revision, SrpoInputs.refRevision, SrpoInputs.revisionMask); // h+(y_w | y_l)
    const selfRevise = ratio(SrpoInputs.selfRevision, SrpoInputs.refSelfRevision, SrpoInputs.selfRevisionMask); // h+(y_l | y_l)
    const baseline = g.add(g.mul(g.scalar(hp.alpha), t.rejectedRatio), g.mul(g.scalar(1 - hp.alpha), selfRevise));
    const residual = g.add(g.sub(g.scalar(hp.preference - 0.5), g.mul(t.beta, revise)), g.mul(t.beta, baseline));
    const metrics = pairedMetrics(g, t);
    metrics['revision/reward'] = mean(g, g.mul(t.beta, revise));
    metrics['revision/self_reward'] = mean(g, g.mul(t.beta, selfRevise));
    metrics['lengths/revision'] = mean(g, lengths(g, x[SrpoInputs.revisionMask]!));
    return { loss: mean(g, g.mul(residual, residual)), metrics };
  },
};

