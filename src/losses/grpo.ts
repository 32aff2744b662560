// GRPO ("DeepSeekMath: Pushing the Limits of Mathematical Reasoning in Open Language Models", Shao
// et al. 2024, Eq. 3), as TRL's GRPOTrainer computes it: G responses per prompt, one advantage per
// response from its group (src/train/rl/advantages.ts groupAdvantages), the clipped per-token ratio,
// and the KL to the reference in the loss with the k3 estimator (Schulman's unbiased, positive
// form, the paper's Eq. 4):
//   L_t = max(-A r_t, -A clip(r_t, 1-eps, 1+eps)) + beta * (exp(ref_t - lp_t) - (ref_t - lp_t) - 1)
// aggregated per response then over responses (`sequence`, the paper's and TRL's "grpo" loss) or
// over every token of the batch (`token`, TRL's "bnpo"). With beta 0 the reference is not read.

import { mean, weightedMean } from './prelude.js';
import { aggregateTokens, checkClip, clippedSurrogate, oldLogpsInput, RlInputs, rlMaskInput, rlPolicyInput, surrogateMetrics, type ClipHp, type TokenAggregation } from './policy-gradient.js';
import type { LossDefinition, LossInputSpec } from './types.js';
import { check, checkKnownKeys } from './validate.js';

export interface GrpoHp extends ClipHp {
  /** KL coefficient (TRL's beta; 0.04 in the paper and TRL until 0.19, 0 since). */
  beta: number;
  aggregation: TokenAggregation;
}

export const grpo: LossDefinition<GrpoHp> = {
  name: 'grpo',
  summary: 'GRPO (Shao et al. 2024): group-normalised advantages, clipped ratio, k3 KL to the reference in the loss',
  defaults: { clipRange: 0.2, beta: 0.04, aggregation: 'sequence' },
  validate(hp) {
    checkKnownKeys('grpo', hp, this.defaults);
    checkClip('grpo', hp);
    check.nonNegative('grpo', 'beta', hp.beta);
    check.oneOf('grpo', 'aggregation', hp.aggregation, ['token', 'sequence']);
  },
  inputs(hp) {
    const specs: LossInputSpec[] = [
      rlPolicyInput(), rlMaskInput(), oldLogpsInput(),
      { name: RlInputs.sequenceAdvantages, dims: ['B'], side: 'data', doc: "each response's advantage within its group" },
    ];
    if (hp.beta > 0) specs.push({ name: RlInputs.refLogps, dims: ['B', 'T'], side: 'reference', doc: 'per-token log-probs of the response under the frozen reference' });
    return specs;
  },
  build(g, x, hp) {
    const mask = x[RlInputs.mask]!;
    const lp = x[RlInputs.policy]!;
    const logRatio = g.sub(lp, x[RlInputs.oldLogps]!);
    const advantages = g.unsqueeze(x[RlInputs.sequenceAdvantages]!, [1]); // [B, 1] over the tokens
    const s = clippedSurrogate(g, logRatio, advantages, hp.clipRange);
    let perToken = s.loss;
    const metrics = surrogateMetrics(g, s, logRatio, mask);
    if (hp.beta > 0) {
      const d = g.sub(x[RlInputs.refLogps]!, lp);
      const kl = g.sub(g.sub(g.exp(d), d), g.scalar(1)); // k3 >= 0
      perToken = g.add(perToken, g.mul(kl, g.scalar(hp.beta)));
      metrics.kl = weightedMean(g, kl, mask);
    }
    return { loss: aggregateTokens(g, perToken, mask, hp.aggregation), metrics: { ...metrics, 'lengths/response': mean(g, g.reduceSum(mask, [1], false)) } };
  },
};
