// PPO, RTO, GRPO and RLOO as graph programs, against values worked by hand on the batches of
// rollouts.ts (each step written out below), and their hyperparameter checks. Finite-difference
// checks of the same losses are in gradients.test.ts.

import { describe, expect, it } from 'vitest';
import { configureLoss, createLoss, LOSSES, runLoss, valueLoss } from '../../src/losses/index.js';
import { grpoBatch, ppoBatch, ppoPolicyBatch, rlooBatch, rtoBatch } from './rollouts.js';

describe('PPO on a worked rollout (eps 0.2, value clip 0.2, vfCoef 0.1)', () => {
  // r = exp(lp - old) on the 5 response tokens: 1.105171, 0.740818, 1, 1.349859, 0.818731.
  // Surrogate max(-A r, -A clip(r, 0.8, 1.2)):
  //   (0,0) A 1:    max(-1.105171, -1.105171) = -1.105171
  //   (0,1) A -0.5: max(0.370409, 0.4)        =  0.4       clipped branch
  //   (0,2) A 2:    max(-2, -2)               = -2
  //   (1,0) A -1:   max(1.349859, 1.2)        =  1.349859  (clipping never lowers the loss)
  //   (1,1) A 0.5:  max(-0.409365, -0.409365) = -0.409365
  // token mean: -1.764677 / 5 = -0.352935; clip fraction 1/5.
  // Values: V - V_old = 0.1, -0.3, 0, 0.3, -0.05 -> clipped to 0.1, -0.2, 0, 0.2, -0.05;
  // max((V-R)^2, (Vc-R)^2) = max(.25,.25), max(.04,.09), max(.16,.16), max(.64,.49), max(.09,.09)
  // = .25 .09 .16 .64 .09 -> 0.5 * 1.23 / 5 = 0.123; value clip fraction 1/5.
  it('gives the hand-worked loss, policy and value terms and diagnostics', async () => {
    const r = await runLoss('ppo', {}, ppoBatch);
    expect(r.metrics['loss/policy']).toBeCloseTo(-0.352935, 5);
    expect(r.metrics['loss/value']).toBeCloseTo(0.123, 6);
    expect(r.loss).toBeCloseTo(-0.352935 + 0.1 * 0.123, 5);
    expect(r.metrics['policy/clipfrac']).toBeCloseTo(0.2, 6);
    expect(r.metrics['val/clipfrac']).toBeCloseTo(0.2, 6);
    // 0.5 * mean((lp - old)^2) = 0.5 * (0.01 + 0.09 + 0 + 0.09 + 0.04) / 5
    expect(r.metrics['policy/approxkl']).toBeCloseTo(0.023, 6);
    expect(r.metrics['lengths/response']).toBeCloseTo(2.5, 6);
  });

  it('has zero policy gradient where the clipped branch wins, -A r / N elsewhere', async () => {
    const r = await runLoss('ppo', { valueCoef: 0 }, ppoBatch);
    const g = r.gradients.response_logps!;
    expect(g[1]).toBeCloseTo(0, 7); // (0,1): clipped, flat in lp
    expect(g[0]).toBeCloseTo(-1.105171 / 5, 5); // -A r / 5 with A = 1
    expect(g[3]).toBeCloseTo(1.349859 / 5, 5); // A = -1, unclipped branch
    expect(Math.abs(g[5]!)).toBe(0); // padding
    // The value loss trains the value head only through its unclipped branches.
    const v = (await runLoss('ppo', { valueCoef: 1 }, ppoBatch)).gradients.values!;
    expect(v[1]).toBeCloseTo(0, 7); // (0,1): clipped value wins, flat in V
    expect(v[0]).toBeCloseTo((0.5 * 2 * (0.5 - 1.0)) / 5, 6); // 0.5 d(V-R)^2/dV / N
  });

  it('sequence aggregation averages each response first (OpenRLHF), and RTO trains with the same loss', async () => {
    // Policy: rows (-1.105171 + 0.4 - 2) / 3 = -0.901724 and (1.349859 - 0.409365) / 2 = 0.470247 -> -0.215738.
    // Value: rows (.25 + .09 + .16) / 3 = 0.166667 and (.64 + .09) / 2 = 0.365 -> 0.5 * 0.265833 = 0.132917.
    const seq = await runLoss('ppo', { aggregation: 'sequence', valueCoef: 0.5 }, ppoBatch);
    expect(seq.metrics['loss/policy']).toBeCloseTo(-0.215738, 5);
    expect(seq.metrics['loss/value']).toBeCloseTo(0.132917, 5);
    const rto = await runLoss('rto', { aggregation: 'sequence', valueCoef: 0.5 }, rtoBatch);
    expect(rto.loss).toBeCloseTo(seq.loss, 6);
    // It reports the dense reward it was given: (0.05 - 0.02 + 0.01 + 0.03 + 0.04) / 5.
    expect(rto.metrics['rewards/dpo_token']).toBeCloseTo(0.022, 6);
  });
});

describe('PPO with a separate critic (valueModel critic, --critic DIR)', () => {
  const { values, old_values, returns } = ppoBatch;
  it("the policy's loss is the surrogate alone and reads no values; the critic's value loss is the hand-worked one", async () => {
    const loss = createLoss('ppo', { valueModel: 'critic' });
    expect(loss.inputs.map((s) => s.name)).not.toContain('values');
    const r = await runLoss(loss, {}, ppoPolicyBatch);
    expect(r.loss).toBeCloseTo(-0.352935, 5);
    expect(r.metrics['loss/value']).toBeUndefined();
    // The critic's loss: the value term above without vfCoef (OpenRLHF trains its critic on it alone).
    const v = await runLoss(configureLoss(valueLoss), {}, { values: values!, old_values: old_values!, returns: returns!, response_mask: ppoBatch.response_mask! });
    expect(v.loss).toBeCloseTo(0.123, 6);
    expect(v.metrics['loss/value']).toBeCloseTo(0.123, 6);
    expect(v.metrics['val/clipfrac']).toBeCloseTo(0.2, 6);
    expect(v.gradients.values![0]).toBeCloseTo((2 * (0.5 - 1.0)) / 2 / 5, 6);
    expect(() => createLoss('ppo', { valueModel: 'separate' })).toThrow(/loss ppo: hyperparameter valueModel/);
    expect(() => configureLoss(valueLoss, { valueCoef: 1 })).toThrow(/unknown hyperparameter valueCoef/);
  });
});

describe('GRPO on a worked group (eps 0.2, beta 0.1, k3 KL)', () => {
  // Per token s = max(-A r, -A clip(r)) + 0.1 (exp(ref - lp) - (ref - lp) - 1), e.g. row 0 token 0:
  // r = e^0.1 = 1.105171, A 0.5: -0.552585; ref - lp = -0.2: e^-0.2 + 0.2 - 1 = 0.018731 -> -0.550712.
  // Row means: -0.537 / ... worked in full: sequence loss -0.173928, token loss -0.341043, mean k3 0.031761.
  it('gives the hand-worked loss in both aggregations and the mean KL', async () => {
    const seq = await runLoss('grpo', { beta: 0.1 }, grpoBatch);
    expect(seq.loss).toBeCloseTo(-0.173928, 5);
    expect(seq.metrics.kl).toBeCloseTo(0.031761, 5);
    const tok = await runLoss('grpo', { beta: 0.1, aggregation: 'token' }, grpoBatch);
    expect(tok.loss).toBeCloseTo(-0.341043, 5);
  });

  it('reads no reference when beta is 0', () => {
    expect(createLoss('grpo', { beta: 0 }).inputs.map((s) => s.name)).not.toContain('ref_logps');
    expect(createLoss('grpo').inputs.map((s) => s.name)).toContain('ref_logps');
  });
});

describe('RLOO on a worked group (eps 0.3)', () => {
  // Sequence log-ratios 0.4, 0.1, 0.1, -0.05 -> r = 1.491825, 1.105171, 1.105171, 0.951229.
  // max(-A r, -A clip(r, 0.7, 1.3)): row 0 A 0.5: max(-0.745912, -0.65) = -0.65 (clipped);
  // row 1 A -1: 1.105171; row 2 A 1.5: -1.657756; row 3 A -0.2: 0.190246. Mean -0.253085, clip fraction 1/4.
  it('gives the hand-worked loss and clip fraction on the sequence ratio', async () => {
    const r = await runLoss('rloo', { clipRange: 0.3 }, rlooBatch);
    expect(r.loss).toBeCloseTo(-0.253085, 5);
    expect(r.metrics['policy/clipfrac']).toBeCloseTo(0.25, 6);
    // d/d lp of row 1 (unclipped, A -1): -A r / B = 1.105171 / 4 on each of its tokens.
    const g = r.gradients.response_logps!;
    expect(g[3]).toBeCloseTo(1.105171 / 4, 5);
    expect(g[0]).toBeCloseTo(0, 7); // row 0 is clipped
  });
});

describe('online loss hyperparameters', () => {
  it('are checked at configuration, naming the loss and the parameter', () => {
    expect(() => createLoss('ppo', { clipRange: 1.5 })).toThrow(/loss ppo: hyperparameter clipRange/);
    expect(() => createLoss('ppo', { aggregation: 'tokens' })).toThrow(/aggregation/);
    expect(() => createLoss('grpo', { beta: -1 })).toThrow(/loss grpo: hyperparameter beta/);
    expect(() => createLoss('rto', { dpoRewardScale: 0 })).toThrow(/dpoRewardScale/);
    expect(() => createLoss('rloo', { kl: 1 })).toThrow(/unknown hyperparameter kl/);
    for (const name of ['ppo', 'rto', 'grpo', 'rloo']) expect(LOSSES[name]).toBeDefined();
  });
});
