// RLOO ("Back to Basics: Revisiting REINFORCE Style Optimization for Learning from Human Feedback
// in LLMs", Ahmadian et al. 2024), as TRL's RLOOTrainer implements it: the whole response is one
// action, k samples per prompt, each advantaged against the mean reward of the other k - 1
// (src/train/rl/advantages.ts leaveOneOut), the KL to the reference folded into that reward
// (sequence-level k1), and PPO's clipped surrogate on the sequence ratio
//   r = exp(sum_t lp_t - sum_t lp_old,t),   L = mean_b max(-A_b r_b, -A_b clip(r_b, 1-eps, 1+eps)).
// With one epoch over one minibatch (TRL's defaults, REINFORCE) r = 1 and the gradient is
// -A_b grad sum_t log pi(y_t).

import { mean, reduceTokens } from './prelude.js';
import { checkClip, clippedSurrogate, oldLogpsInput, RlInputs, rlMaskInput, rlPolicyInput, type ClipHp } from './policy-gradient.js';
import type { LossDefinition } from './types.js';
import { checkKnownKeys } from './validate.js';

export type RlooHp = ClipHp;

export const rloo: LossDefinition<RlooHp> = {
  name: 'rloo',
  summary: 'RLOO (Ahmadian et al. 2024): leave-one-out baseline over k samples, clipped sequence ratio, KL in the reward',
  defaults: { clipRange: 0.2 },
  validate(hp) {
    checkKnownKeys('rloo', hp, this.defaults);
    checkClip('rloo', hp);
  },
  inputs: () => [
    rlPolicyInput(), rlMaskInput(), oldLogpsInput(),
    { name: RlInputs.sequenceAdvantages, dims: ['B'], side: 'data', doc: "each response's reward minus the mean of its k - 1 siblings'" },
  ],
  build(g, x, hp) {
    const mask = x[RlInputs.mask]!;
    const logRatio = reduceTokens(g, g.sub(x[RlInputs.policy]!, x[RlInputs.oldLogps]!), mask, 'sum'); // [B]
    const s = clippedSurrogate(g, logRatio, x[RlInputs.sequenceAdvantages]!, hp.clipRange);
    return {
      loss: mean(g, s.loss),
      metrics: {
        'policy/clipfrac': mean(g, s.clipped),
        'policy/approxkl': g.mul(mean(g, g.mul(logRatio, logRatio)), g.scalar(0.5)),
        'policy/ratio': mean(g, s.ratio),
        'lengths/response': mean(g, g.reduceSum(mask, [1], false)),
      },
    };
  },
};
