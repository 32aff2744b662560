// The rollout-side computations of the online losses against values worked by hand: GAE on a
// three-token response, PPO's token rewards with the KL penalty, whitening, GRPO's and RLOO's
// advantages on a worked group, and the adaptive KL controller.

import { describe, expect, it } from 'vitest';
import { explainedVariance, gae, groupAdvantages, klPenalty, leaveOneOut, perTokenKl, tokenRewards, whiten } from '../../../src/train/rl/advantages.js';
import { adaptiveKl, fixedKl } from '../../../src/train/rl/kl-controller.js';

const close = (got: ArrayLike<number>, want: number[], digits = 5) => {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(got[i]!, `index ${i}`).toBeCloseTo(w, digits));
};

describe('GAE (OpenRLHF get_advantages_and_returns)', () => {
  it('on a worked three-token response, gamma 1, lambda 0.95', () => {
    // r = [0, 0, 1], V = [0.5, 0.6, 0.7], V after the end = 0.
    // delta_2 = 1 + 0 - 0.7 = 0.3                 A_2 = 0.3
    // delta_1 = 0 + 0.7 - 0.6 = 0.1               A_1 = 0.1 + 0.95 * 0.3 = 0.385
    // delta_0 = 0 + 0.6 - 0.5 = 0.1               A_0 = 0.1 + 0.95 * 0.385 = 0.46575
    // returns = A + V = [0.96575, 0.985, 1.0]
    const { advantages, returns } = gae([0, 0, 1], [0.5, 0.6, 0.7], 1, 0.95);
    close(advantages, [0.46575, 0.385, 0.3]);
    close(returns, [0.96575, 0.985, 1.0]);
  });

  it('discounts with gamma 0.9, lambda 0.8', () => {
    // delta_2 = 1 - 0.7 = 0.3; delta_1 = 0.9 * 0.7 - 0.6 = 0.03; delta_0 = 0.9 * 0.6 - 0.5 = 0.04
    // A_2 = 0.3; A_1 = 0.03 + 0.72 * 0.3 = 0.246; A_0 = 0.04 + 0.72 * 0.246 = 0.21712
    close(gae([0, 0, 1], [0.5, 0.6, 0.7], 0.9, 0.8).advantages, [0.21712, 0.246, 0.3]);
  });

  it('with lambda 1 and gamma 1 is the reward-to-go minus the value', () => {
    close(gae([0.1, -0.2, 1], [0.3, 0.2, 0.1], 1, 1).advantages, [0.9 - 0.3, 0.8 - 0.2, 1 - 0.1]);
  });
});

describe('PPO token rewards', () => {
  it('k1 penalty at every token, the clipped score added at the last one, dense rewards on top', () => {
    // kl = lp - ref = [0.2, -0.1, 0.4]; beta 0.5 -> -0.1, 0.05, -0.2; score 12 clipped to 10 at the end.
    const kl = perTokenKl([-1, -2, -0.5], [-1.2, -1.9, -0.9], 'k1');
    close(kl, [0.2, -0.1, 0.4]);
    const penalty = klPenalty([-1, -2, -0.5], [-1.2, -1.9, -0.9], 'k1', 0.5);
    close(penalty, [-0.1, 0.05, -0.2]);
    close(tokenRewards(12, 3, { penalty, scoreClip: 10 }), [-0.1, 0.05, 9.8]);
    close(tokenRewards(1, 3, { penalty, dense: [0.01, 0.02, 0.03] }), [-0.09, 0.07, 0.83]);
  });

  it('k3 is exp(ref - lp) - (ref - lp) - 1, never negative', () => {
    // ref - lp = -0.2: e^-0.2 + 0.2 - 1 = 0.018731; ref - lp = 0.1: e^0.1 - 0.1 - 1 = 0.005171
    close(perTokenKl([-1, -2], [-1.2, -1.9], 'k3'), [0.018731, 0.005171]);
  });
});

describe('whitening (TRL masked_whiten)', () => {
  it('over every token of the batch, unbiased variance', () => {
    // tokens 1, 2, 3, 6: mean 3, unbiased var (4 + 1 + 0 + 9) / 3 = 4.666667, std 2.160247
    const w = whiten([Float32Array.of(1, 2), Float32Array.of(3, 6)]);
    close(w[0]!, [-2 / 2.160247, -1 / 2.160247]);
    close(w[1]!, [0, 3 / 2.160247]);
  });
});

describe('group baselines', () => {
  it('GRPO: (r - group mean) / (unbiased group std + 1e-4), or without the std', () => {
    // group [1, 0, 2, 1]: mean 1, std sqrt(2/3) = 0.816497 -> +1e-4 = 0.816597
    close(groupAdvantages([1, 0, 2, 1], 4), [0, -1 / 0.816597, 1 / 0.816597, 0]);
    close(groupAdvantages([1, 0, 2, 1, 5, 5], 2, false), [0.5, -0.5, 0.5, -0.5, 0, 0]);
  });

  it('RLOO: r - mean of the other k - 1 (TRL test_rloo_reward worked group)', () => {
    // [1, 2, 5, 8]: 1 - 15/3 = -4, 2 - 14/3 = -2.666667, 5 - 11/3 = 1.333333, 8 - 8/3 = 5.333333
    close(leaveOneOut([1, 2, 5, 8], 4), [-4, -2.666667, 1.333333, 5.333333]);
  });

  it('refuse a batch that is not whole groups, naming samplesPerPrompt', () => {
    expect(() => groupAdvantages([1, 2, 3], 2)).toThrow(/samplesPerPrompt|groups of 2/);
    expect(() => leaveOneOut([1, 2], 1)).toThrow(/at least 2/);
  });
});

describe('explained variance and the KL controllers', () => {
  it('explained variance is 1 for a perfect value head and 0 for a constant one at the mean', () => {
    const ret = [Float32Array.of(1, 2, 3)];
    expect(explainedVariance([Float32Array.of(1, 2, 3)], ret)).toBeCloseTo(1, 6);
    expect(explainedVariance([Float32Array.of(2, 2, 2)], ret)).toBeCloseTo(0, 6);
  });

  it('adaptive KL (Ziegler et al.): beta *= 1 + clip(KL/target - 1, +-0.2) * n / horizon; fixed stays', () => {
    const c = adaptiveKl(0.1, 6, 10_000);
    c.update(12, 512); // error clipped to 0.2: 0.1 * (1 + 0.2 * 512 / 10000) = 0.10102400
    expect(c.value).toBeCloseTo(0.101024, 8);
    c.update(3, 1000); // error -0.5 -> -0.2: * (1 - 0.02)
    expect(c.value).toBeCloseTo(0.101024 * 0.98, 8);
    const s = c.state();
    const d = adaptiveKl(0.1, 6, 10_000);
    d.restore(s);
    expect(d.value).toBe(c.value);
    const f = fixedKl(0.05);
    f.update(100, 10);
    expect(f.value).toBe(0.05);
  });
});
