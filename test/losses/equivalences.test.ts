// Equivalences the papers state, checked on losses and gradients through the standalone form.

import { describe, expect, it } from 'vitest';
import { composeLosses, runLoss, type LossArrays } from '../../src/losses/index.js';
import { PAIRED, arraysOf, seqLen, seqSum } from './reference.js';

const paired = arraysOf(PAIRED);

async function expectSame(a: Promise<{ loss: number; gradients: Record<string, Float32Array> }>, b: Promise<{ loss: number; gradients: Record<string, Float32Array> }>, digits = 5) {
  const [x, y] = [await a, await b];
  expect(x.loss).toBeCloseTo(y.loss, digits);
  for (const [k, g] of Object.entries(y.gradients)) {
    expect(x.gradients[k], `gradient of ${k}`).toBeDefined();
    Array.from(g).forEach((v, i) => expect(x.gradients[k]![i]!, `${k}[${i}]`).toBeCloseTo(v, digits));
  }
}

const zeroKl = arraysOf({ policy_chosen_kl: [[0, 0, 0], [0, 0, 0]], policy_rejected_kl: [[0, 0, 0], [0, 0, 0]] });

describe('equivalences from the papers', () => {
  it('label smoothing 0 is DPO (cDPO and robust DPO)', async () => {
    await expectSame(runLoss('cdpo', { labelSmoothing: 0 }, paired), runLoss('dpo', {}, paired));
    await expectSame(runLoss('robust_dpo', { labelSmoothing: 0 }, paired), runLoss('dpo', {}, paired));
  });

  it("IPO's optimum margin is 1/(2 tau): loss and gradient vanish there", async () => {
    // Reference sums chosen so that the token-averaged log-ratio margin is exactly 1/(2 tau) = 2.5 per pair (tau = 0.2).
    const lenW = seqLen(PAIRED.chosen_mask);
    const lpW = seqSum(PAIRED.policy_chosen_logps, PAIRED.chosen_mask);
    const lpL = seqSum(PAIRED.policy_rejected_logps, PAIRED.rejected_mask);
    // h_w/len_w - h_l/len_l = 2.5 with h_l = 0: ref_w = lp_w - 2.5 len_w, ref_l = lp_l.
    const atOptimum: LossArrays = { ...paired, ...arraysOf({ ref_chosen_logps: lpW.map((v, b) => v - 2.5 * lenW[b]!), ref_rejected_logps: lpL }) };
    const r = await runLoss('ipo', { beta: 0.2 }, atOptimum);
    expect(r.loss).toBeCloseTo(0, 6);
    for (const g of Object.values(r.gradients)) for (const v of g) expect(Math.abs(v)).toBeLessThan(1e-5);
    // Away from it the gradient is not zero.
    const off = await runLoss('ipo', { beta: 0.2 }, { ...atOptimum, ...arraysOf({ ref_rejected_logps: lpL.map((v) => v + 0.3) }) });
    expect(Math.max(...Object.values(off.gradients).flatMap((g) => Array.from(g, Math.abs)))).toBeGreaterThan(1e-2);
  });

  it('LN-DPO with equal lengths L is DPO with beta / L', async () => {
    const equal = { ...paired, ...arraysOf({ chosen_mask: [[1, 1, 1], [1, 1, 1]], rejected_mask: [[1, 1, 1], [1, 1, 1]] }) };
    await expectSame(runLoss('ln_dpo', { beta: 0.6 }, equal), runLoss('dpo', { beta: 0.2 }, equal));
  });

  it('SimPO with gamma 0 and summed log-probs is reference-free DPO (and GenARM with gamma 0)', async () => {
    const { ref_chosen_logps: _a, ref_rejected_logps: _b, ...free } = paired;
    const zeroRef = { ...free, ...arraysOf({ ref_chosen_logps: [0, 0], ref_rejected_logps: [0, 0] }) };
    await expectSame(runLoss('simpo', { gamma: 0, reduction: 'sum', beta: 0.3 }, free), runLoss('dpo', { beta: 0.3 }, zeroRef));
    await expectSame(runLoss('genarm', { beta: 0.3 }, free), runLoss('dpo', { beta: 0.3 }, zeroRef));
  });

  it('RPO with alpha 0 is DPO, and DPO + alpha SFT composed is RPO', async () => {
    await expectSame(runLoss('rpo', { alpha: 0 }, paired), runLoss('dpo', {}, paired));
    const composed = composeLosses([{ name: 'dpo', weight: 1 }, { name: 'sft', weight: 0.7 }]);
    await expectSame(runLoss(composed, {}, paired), runLoss('rpo', { alpha: 0.7 }, paired));
  });

  it('TDPO with zero KL is DPO; SparsePO with unit masks is TDPO1, and with zero KL DPO', async () => {
    await expectSame(runLoss('tdpo1', {}, { ...paired, ...zeroKl }), runLoss('dpo', {}, paired));
    await expectSame(runLoss('tdpo2', {}, { ...paired, ...zeroKl }), runLoss('dpo', {}, paired));
    const kl = arraysOf({ policy_chosen_kl: [[0.1, 0.2, 0.3], [0.05, 0.15, 0.1]], policy_rejected_kl: [[0.3, 0.1, 0.2], [0.4, 0.2, 0.1]] });
    // Per-token reference whose masked sums equal PAIRED's [B] sums.
    const perToken = arraysOf({ ref_chosen_logps: [[-0.8, -0.8, 0], [-0.5, -0.25, -0.25]], ref_rejected_logps: [[-1, -0.6, -0.6], [-1.2, 0, 0]] });
    const ones = arraysOf({ chosen_token_weights: [[1, 1, 1], [1, 1, 1]], rejected_token_weights: [[1, 1, 1], [1, 1, 1]] });
    const sparse = await runLoss('sparsepo', { mask: 'reference' }, { ...paired, ...kl, ...perToken, ...ones });
    const tdpo = await runLoss('tdpo1', {}, { ...paired, ...kl });
    expect(sparse.loss).toBeCloseTo(tdpo.loss, 6);
    for (const k of ['policy_chosen_logps', 'policy_rejected_logps', 'policy_chosen_kl', 'policy_rejected_kl'])
      Array.from(tdpo.gradients[k]!).forEach((v, i) => expect(sparse.gradients[k]![i]!).toBeCloseTo(v, 6));
    const sparseNoKl = await runLoss('sparsepo', { mask: 'reference' }, { ...paired, ...zeroKl, ...perToken, ...ones });
    expect(sparseNoKl.loss).toBeCloseTo((await runLoss('dpo', {}, paired)).loss, 6);
  });

  it('dynamic beta with w = 0 is DPO', async () => {
    await expectSame(runLoss('dpo', { dynamicBeta: { w: 0, k: 1 } }, { ...paired, reward_margin: { data: [3, -1], dims: [2] } }), runLoss('dpo', {}, paired));
  });

  it("GenARM with beta_r 1 is Bradley-Terry on the ARM's summed log-probs", async () => {
    const { ref_chosen_logps: _a, ref_rejected_logps: _b, ...free } = paired;
    const arm = await runLoss('genarm', { beta: 1 }, free);
    const rewards = arraysOf({ rewards_chosen: seqSum(PAIRED.policy_chosen_logps, PAIRED.chosen_mask), rewards_rejected: seqSum(PAIRED.policy_rejected_logps, PAIRED.rejected_mask) });
    expect(arm.loss).toBeCloseTo((await runLoss('bradley_terry', {}, rewards)).loss, 6);
  });
});
