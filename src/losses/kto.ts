// KTO ("KTO: Model Alignment as Prospect Theoretic Optimization", Ethayarajh et al. 2024, Eq. 8),
// as TRL's KTOTrainer.kto_loss computes it:
//   z0 = max(0, mean over the batch of (lp - rp) on mismatched (x, y') pairs), detached,
//   desirable:   lambda_D (1 - sigma(beta (h - z0))),
//   undesirable: lambda_U (1 - sigma(beta (z0 - h))),
// and the loss is the mean over every row. The mismatched pairs (each prompt with another row's
// response) are a second forward pass whose policy log-probs enter only through the detached z0.

import { detach, reduceTokens } from './prelude.js';
import type { LossDefinition } from './types.js';
import { UnpairedInputs, unpairedInputs, unpairedMetrics, unpairedRatio, type UnpairedHp } from './unpaired.js';
import { check, checkKnownKeys } from './validate.js';

export const KtoInputs = {
  policyKl: 'policy_kl_logps', // [B,T] policy log-probs of mismatched responses
  klMask: 'kl_mask', // [B,T]
  refKl: 'ref_kl_logps', // [B] summed
} as const;

export interface KtoHp extends UnpairedHp {
  desirableWeight: number;
  undesirableWeight: number;
}

export const kto: LossDefinition<KtoHp> = {
  name: 'kto',
  summary: 'KTO (Ethayarajh et al. 2024): prospect-theoretic loss on thumbs-up/down with a batch KL reference point',
  defaults: { beta: 0.1, reduction: 'sum', desirableWeight: 1, undesirableWeight: 1 },
  validate(hp) {
    checkKnownKeys('kto', hp, this.defaults);
    check.positive('kto', 'beta', hp.beta);
    check.oneOf('kto', 'reduction', hp.reduction, ['sum', 'mean']);
    check.nonNegative('kto', 'desirableWeight', hp.desirableWeight);
    check.nonNegative('kto', 'undesirableWeight', hp.undesirableWeight);
  },
  inputs: () => [
    ...unpairedInputs(),
    { name: KtoInputs.policyKl, dims: ['B', 'T'], side: 'policy', doc: "policy log-probs of mismatched (x, y') responses (enter only through the detached z0)" },
    { name: KtoInputs.klMask, dims: ['B', 'T'], side: 'data', doc: 'token mask of the mismatched responses' },
    { name: KtoInputs.refKl, dims: ['B'], side: 'reference', doc: 'reference log-probs of the mismatched responses, summed' },
  ],
  build(g, x, hp) {
    const { logps, ratio } = unpairedRatio(g, x, hp);
    const klLogps = reduceTokens(g, x[KtoInputs.policyKl]!, x[KtoInputs.klMask]!, hp.reduction);
    const klRef = hp.reduction === 'sum' ? x[KtoInputs.refKl]! : g.div(x[KtoInputs.refKl]!, g.max(g.reduceSum(x[KtoInputs.klMask]!, [1], false), g.scalar(1)));
    const z0 = detach(g, g.relu(g.reduceMean(g.sub(klLogps, klRef), undefined, false)));
    const beta = g.scalar(hp.beta);
    const labels = x[UnpairedInputs.labels]!;
    const one = g.scalar(1);
    const desirable = g.mul(g.scalar(hp.desirableWeight), g.sub(one, g.sigmoid(g.mul(beta, g.sub(ratio, z0)))));
    const undesirable = g.mul(g.scalar(hp.undesirableWeight), g.sub(one, g.sigmoid(g.mul(beta, g.sub(z0, ratio)))));
    const perRow = g.add(g.mul(labels, desirable), g.mul(g.sub(one, labels), undesirable));
    const metrics = unpairedMetrics(g, g.mul(beta, ratio), logps, labels);
    metrics.kl = z0;
    return { loss: g.reduceMean(perRow, undefined, false), metrics };
  },
};
