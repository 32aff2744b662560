// Finite-difference gradient checks of every registered loss through its standalone form
// (runLoss: the loss graph plus the autodiff's backward), one table of cases run through the same
// check; a meta-test fails when a registered loss has no case.

import { describe, expect, it } from 'vitest';
import { configureLoss, LOSSES, runLoss, valueLoss, type LossArrays } from '../../src/losses/index.js';
import { finiteDifferenceCheck } from './fd.js';
import { PAIRED, arraysOf } from './reference.js';
import { grpoBatch, ppoBatch, ppoPolicyBatch, rlooBatch, rtoBatch } from './rollouts.js';

const paired = arraysOf(PAIRED);
const { ref_chosen_logps: _rw, ref_rejected_logps: _rl, ...referenceFree } = paired;
const kl = arraysOf({ policy_chosen_kl: [[0.1, 0.2, 0.3], [0.05, 0.15, 0.1]], policy_rejected_kl: [[0.3, 0.1, 0.2], [0.4, 0.2, 0.1]] });
const perTokenRef = arraysOf({ ref_chosen_logps: [[-0.6, -1.1, 0], [-0.3, -0.2, -0.5]], ref_rejected_logps: [[-0.6, -0.9, -0.7], [-1.1, 0, 0]] });
const unpaired = arraysOf({ policy_logps: [[-0.5, -1.0, -0.4], [-1.2, -0.3, 0], [-0.8, -0.9, -0.1]], mask: [[1, 1, 1], [1, 1, 0], [1, 1, 1]], ref_logps: [-1.7, -1.0, -2.1], labels: [1, 0, 0] });
// A huge prior count makes the running mean insensitive to this batch, so the detached delta is the
// true derivative's constant and central differences can check the rest.
const settledState = { running_reward_mean: 0.05, running_reward_count: 1e9 };
const srpoExtra = arraysOf({
  policy_revision_logps: [[-0.3, -0.2, 0], [-0.1, -0.4, -0.2]], revision_mask: PAIRED.chosen_mask, ref_revision_logps: [-0.9, -0.5],
  policy_self_revision_logps: [[-0.4, -0.5, -0.6], [-0.7, 0, 0]], self_revision_mask: PAIRED.rejected_mask, ref_self_revision_logps: [-1.4, -0.9],
});

interface Case {
  name: string;
  hp: Record<string, unknown>;
  arrays: LossArrays;
  /** Inputs that enter only through a stop-gradient: analytic gradient exactly zero. */
  detached?: string[];
}

const CASES: Case[] = [
  { name: 'dpo', hp: { beta: 0.5 }, arrays: paired },
  { name: 'dpo', hp: { beta: 0.5, dynamicBeta: { w: 0.5, k: 1 } }, arrays: { ...paired, reward_margin: { data: [0.4, 2], dims: [2] } } },
  { name: 'cdpo', hp: { beta: 0.5, labelSmoothing: 0.2 }, arrays: paired },
  { name: 'robust_dpo', hp: { beta: 0.5, labelSmoothing: 0.2 }, arrays: paired },
  { name: 'ipo', hp: { beta: 0.5 }, arrays: paired },
  { name: 'hinge', hp: { beta: 0.5 }, arrays: paired },
  { name: 'ln_dpo', hp: { beta: 2 }, arrays: paired },
  { name: 'rpo', hp: { beta: 0.5, alpha: 0.5 }, arrays: paired },
  { name: 'bco_pair', hp: { beta: 0.5 }, arrays: { ...paired, ...settledState } },
  { name: 'simpo', hp: {}, arrays: referenceFree },
  { name: 'orpo', hp: { beta: 0.5 }, arrays: referenceFree },
  { name: 'sft', hp: {}, arrays: { policy_chosen_logps: paired.policy_chosen_logps!, chosen_mask: paired.chosen_mask! } },
  { name: 'tdpo1', hp: { beta: 0.5 }, arrays: { ...paired, ...kl } },
  { name: 'tdpo2', hp: { beta: 0.5 }, arrays: { ...paired, ...kl }, detached: ['policy_chosen_kl'] },
  {
    name: 'sparsepo', hp: { beta: 0.5, sparsity: 0.1, sharing: 'independent' },
    arrays: { ...paired, ...kl, ...perTokenRef, ...arraysOf({ chosen_mask_logits: [[2, -1, 3], [0.5, -0.2, 1]], rejected_mask_logits: [[-3, 1, 0.2], [1.5, 4, 4]], chosen_kl_mask_logits: [[1, 1, -1], [0.3, 0.6, -2]], rejected_kl_mask_logits: [[0.4, -0.5, 2], [1, -1, 1]] }) },
  },
  { name: 'sparsepo', hp: { beta: 0.5, mask: 'learned', activation: 'sigmoid' }, arrays: { ...paired, ...kl, ...perTokenRef, ...arraysOf({ chosen_mask_logits: [[2, -1, 3], [0.5, -0.2, 1]], rejected_mask_logits: [[-3, 1, 0.2], [1.5, 4, 4]] }) } },
  { name: 'sparsepo', hp: { beta: 0.5, mask: 'reference' }, arrays: { ...paired, ...kl, ...perTokenRef, ...arraysOf({ chosen_token_weights: [[1, 0.5, 0.2], [0.1, 1, 0.6]], rejected_token_weights: [[0.3, 1, 0.5], [1, 0, 0]] }) } },
  {
    name: 'kto', hp: { beta: 0.5, desirableWeight: 1.3 },
    arrays: { ...unpaired, ...arraysOf({ policy_kl_logps: [[-1, -1, -0.5], [-0.8, -0.6, -0.2], [-0.3, -0.4, -0.5]], kl_mask: [[1, 1, 1], [1, 1, 1], [1, 0, 0]], ref_kl_logps: [-2.6, -1.5, -0.9] }) },
    detached: ['policy_kl_logps'],
  },
  { name: 'bco', hp: { beta: 0.5, udm: true }, arrays: { ...unpaired, ...settledState, udm_weights: { data: [1, 2.5, 0.7], dims: [3] } } },
  { name: 'bradley_terry', hp: { useMargin: true, centerRewardsCoefficient: 0.1 }, arrays: arraysOf({ rewards_chosen: [1, 0.5, -0.3], rewards_rejected: [0, 1, -0.2], margin: [0.2, 0, 0.5] }) },
  { name: 'multi_attribute', hp: { attributes: ['helpfulness', 'verbosity'], weights: [2, 1] }, arrays: arraysOf({ attribute_predictions: [[1, 2], [3, 5]], attribute_targets: [[1.5, 2.2], [2, 3]] }) },
  { name: 'genarm', hp: { beta: 0.5, gamma: 0.1 }, arrays: referenceFree },
  { name: 'srpo', hp: { beta: 0.5, alpha: 0.3 }, arrays: { ...paired, ...srpoExtra } },
  // The online losses on the worked rollout of test/losses/policy-gradient.test.ts: ratios and value
  // moves on both sides of their clip bounds, none on a bound (where max and clip have no derivative).
  { name: 'ppo', hp: {}, arrays: ppoBatch },
  { name: 'ppo', hp: { valueModel: 'critic' }, arrays: ppoPolicyBatch },
  { name: 'rto', hp: { aggregation: 'sequence', valueCoef: 0.5 }, arrays: rtoBatch },
  { name: 'grpo', hp: { beta: 0.1 }, arrays: grpoBatch },
  { name: 'grpo', hp: { beta: 0.1, aggregation: 'token' }, arrays: grpoBatch },
  { name: 'rloo', hp: { clipRange: 0.3 }, arrays: rlooBatch },
];

describe('finite-difference gradients of every loss (standalone form)', () => {
  it('every registered loss has a case', () => {
    const covered = new Set(CASES.map((c) => c.name));
    expect(Object.keys(LOSSES).filter((n) => !covered.has(n))).toEqual([]);
  });

  for (const c of CASES) {
    it(`${c.name} ${JSON.stringify(c.hp)}`, async () => {
      const report = await finiteDifferenceCheck(c.name, c.hp, c.arrays, { skip: c.detached });
      expect(report.failures).toEqual([]);
      expect(report.checked).toBeGreaterThan(0);
      // Gradients are not all zero: the check compared something.
      expect(Object.values(report.gradients).some((g) => g.some((v) => Math.abs(v) > 1e-3))).toBe(true);
      for (const d of c.detached ?? []) expect(Array.from(report.gradients[d]!).every((v) => v === 0)).toBe(true);
    });
  }

  it("PPO's value loss alone, a separate critic's objective (outside the registry), in both aggregations", async () => {
    const { values, old_values, returns, response_mask } = ppoBatch;
    for (const aggregation of ['token', 'sequence']) {
      const report = await finiteDifferenceCheck(configureLoss(valueLoss, { aggregation }), {}, { values: values!, old_values: old_values!, returns: returns!, response_mask: response_mask! });
      expect(report.failures).toEqual([]);
      expect(report.checked).toBe(6);
    }
  });

  it('a stop-gradient really cuts: KTO depends on its KL pass, but gets no gradient through it', async () => {
    const c = CASES.find((x) => x.name === 'kto')!;
    const shifted = { ...c.arrays, policy_kl_logps: { data: Float32Array.from([-1, -1, -0.5, -0.8, -0.6, -0.2, -0.3, -0.4, -0.5], (v) => v + 0.5), dims: [3, 3] } };
    const [a, b] = [await runLoss('kto', c.hp, c.arrays), await runLoss('kto', c.hp, shifted)];
    expect(Math.abs(a.loss - b.loss)).toBeGreaterThan(1e-3);
    expect(Array.from(a.gradients['policy_kl_logps']!).every((v) => v === 0)).toBe(true);
  });
});
