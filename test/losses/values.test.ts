// Hand-computed values on a tiny batch, through the standalone forward form of each loss. Expected
// numbers come from the plain-TS formulas in reference.ts (independent of the graph code); for
// DPO, IPO, SimPO, KTO and Bradley-Terry the comments also work the number out by hand.

import { describe, expect, it } from 'vitest';
import { evaluateLoss } from '../../src/losses/index.js';
import { PAIRED, arraysOf, avg, negLogSigmoid, ratios, seqLen, seqMean, seqSum, sigmoid, softplus } from './reference.js';

const paired = arraysOf(PAIRED);
const { ref_chosen_logps: _rw, ref_rejected_logps: _rl, ...referenceFree } = paired;
const close = (a: number, b: number, digits = 5) => expect(a).toBeCloseTo(b, digits);

describe('paired losses with a reference: values', () => {
  it('DPO: hand-worked value and TRL metrics', async () => {
    // Sums over masked tokens: lp_w = [-1.5, -0.9], lp_l = [-2.4, -1.5]; with ref [-1.6, -1.0] and
    // [-2.2, -1.2]: h_w = [0.1, 0.1], h_l = [-0.2, -0.3], d = [0.3, 0.4]; beta 0.1 gives logits
    // [0.03, 0.04]; loss = (log(1 + e^-0.03) + log(1 + e^-0.04)) / 2 = (0.678 259 + 0.673 348) / 2 = 0.675 803.
    const r = await evaluateLoss('dpo', {}, paired);
    close(r.loss, 0.6758034, 6);
    close(r.metrics['rewards/chosen']!, 0.01); // beta * mean(h_w)
    close(r.metrics['rewards/rejected']!, -0.025);
    close(r.metrics['rewards/margins']!, 0.035);
    close(r.metrics['rewards/accuracies']!, 1);
    close(r.metrics['logps/chosen']!, -1.2);
    close(r.metrics['logps/rejected']!, -1.95);
    close(r.metrics['kl']!, (0.1 - 0.25) / 2);
    close(r.metrics['lengths/chosen']!, 2.5);
    close(r.metrics['lengths/rejected']!, 2);
  });

  it('cDPO and robust DPO follow their equations (label smoothing 0.2)', async () => {
    const { hW, hL } = ratios(PAIRED, 'sum');
    const z = hW.map((w, b) => 0.1 * (w - hL[b]!));
    const eps = 0.2;
    const cdpo = avg(z.map((v) => (1 - eps) * negLogSigmoid(v) + eps * negLogSigmoid(-v)));
    const robust = avg(z.map((v) => ((1 - eps) * negLogSigmoid(v) - eps * negLogSigmoid(-v)) / (1 - 2 * eps)));
    close((await evaluateLoss('cdpo', { labelSmoothing: eps }, paired)).loss, cdpo);
    close((await evaluateLoss('robust_dpo', { labelSmoothing: eps }, paired)).loss, robust);
  });

  it('IPO: token-averaged log-ratios, hand-worked', async () => {
    // Means: h_w = [-0.75 + 0.8, -0.3 + 1/3] = [0.05, 0.0333], h_l = [-0.8 + 2.2/3, -1.5 + 1.2] = [-0.0667, -0.3];
    // d = [0.11667, 0.33333]; 1/(2 tau) = 5; loss = ((d1 - 5)^2 + (d2 - 5)^2) / 2 = (23.8469 + 21.7778) / 2 = 22.8124.
    close((await evaluateLoss('ipo', {}, paired)).loss, 22.812361, 4);
  });

  it('hinge, LN-DPO and RPO follow their equations', async () => {
    const s = ratios(PAIRED, 'sum');
    const m = ratios(PAIRED, 'mean');
    const hinge = avg(s.hW.map((w, b) => Math.max(0, 1 - 0.5 * (w - s.hL[b]!))));
    close((await evaluateLoss('hinge', { beta: 0.5 }, paired)).loss, hinge);
    const ln = avg(m.hW.map((w, b) => negLogSigmoid(2 * (w - m.hL[b]!))));
    close((await evaluateLoss('ln_dpo', { beta: 2 }, paired)).loss, ln);
    const dpo = avg(s.hW.map((w, b) => negLogSigmoid(0.1 * (w - s.hL[b]!))));
    const tokens = seqLen(PAIRED.chosen_mask).reduce((a, b) => a + b, 0);
    const nllToken = -seqSum(PAIRED.policy_chosen_logps, PAIRED.chosen_mask).reduce((a, b) => a + b, 0) / tokens;
    const nllSeq = -avg(seqMean(PAIRED.policy_chosen_logps, PAIRED.chosen_mask));
    const r = await evaluateLoss('rpo', { alpha: 0.5 }, paired);
    close(r.loss, dpo + 0.5 * nllToken);
    close(r.metrics['nll_loss']!, nllToken);
    close((await evaluateLoss('rpo', { alpha: 0.5, nllReduction: 'sequence' }, paired)).loss, dpo + 0.5 * nllSeq);
  });

  it('paired BCO: running mean updated by the batch mean reward, then both classifiers', async () => {
    const { hW, hL } = ratios(PAIRED, 'sum');
    const rw = hW.map((h) => 0.1 * h);
    const rl = hL.map((h) => 0.1 * h);
    const batchMean = (avg(rw) + avg(rl)) / 2;
    // Prior state: mean 0.2 over 3 batches -> (0.2 * 3 + batchMean) / 4.
    const delta = (0.2 * 3 + batchMean) / 4;
    const want = avg(rw.map((r, b) => negLogSigmoid(r - delta) + negLogSigmoid(-(rl[b]! - delta))));
    const r = await evaluateLoss('bco_pair', {}, { ...paired, running_reward_mean: 0.2, running_reward_count: 3 });
    close(r.loss, want);
    close(r.state['running_reward_mean']!, delta);
    close(r.state['running_reward_count']!, 4);
    // From the initial state (count 1e-24) the first delta is the batch mean itself.
    const first = await evaluateLoss('bco_pair', {}, paired);
    close(first.state['running_reward_mean']!, batchMean);
  });
});

describe('reference-free losses: values', () => {
  it('SimPO: hand-worked', async () => {
    // Token means: lp_w = [-0.75, -0.3], lp_l = [-0.8, -1.5]; beta 2, gamma 0.5:
    // z = 2 * [0.05, 1.2] - 0.5 = [-0.4, 1.9]; loss = (log(1 + e^0.4) + log(1 + e^-1.9)) / 2 = (0.91302 + 0.13926) / 2 = 0.52620.
    const r = await evaluateLoss('simpo', {}, referenceFree);
    close(r.loss, 0.526201, 5);
    close(r.metrics['rewards/chosen']!, 2 * avg([-0.75, -0.3])); // beta * avg lp, as TRL's CPOTrainer logs
  });

  it('ORPO: NLL plus lambda times the odds-ratio term', async () => {
    const lpW = seqMean(PAIRED.policy_chosen_logps, PAIRED.chosen_mask);
    const lpL = seqMean(PAIRED.policy_rejected_logps, PAIRED.rejected_mask);
    const logOdds = lpW.map((w, b) => w - lpL[b]! - (Math.log(1 - Math.exp(w)) - Math.log(1 - Math.exp(lpL[b]!))));
    const tokens = seqLen(PAIRED.chosen_mask).reduce((a, b) => a + b, 0);
    const nll = -seqSum(PAIRED.policy_chosen_logps, PAIRED.chosen_mask).reduce((a, b) => a + b, 0) / tokens;
    const r = await evaluateLoss('orpo', {}, referenceFree);
    close(r.loss, nll + avg(logOdds.map((z) => 0.1 * negLogSigmoid(z))));
    close(r.metrics['log_odds_chosen']!, avg(logOdds));
  });

  it('SFT: token-mean NLL of the chosen response', async () => {
    const r = await evaluateLoss('sft', {}, { policy_chosen_logps: paired.policy_chosen_logps!, chosen_mask: paired.chosen_mask! });
    close(r.loss, 2.4 / 5); // (1.5 + 0.9) / 5 tokens
    close(r.metrics['perplexity']!, Math.exp(0.48));
  });

  it('GenARM: beta_r on summed log-probs with a margin', async () => {
    const lpW = seqSum(PAIRED.policy_chosen_logps, PAIRED.chosen_mask);
    const lpL = seqSum(PAIRED.policy_rejected_logps, PAIRED.rejected_mask);
    const want = avg(lpW.map((w, b) => negLogSigmoid(0.05 * (w - lpL[b]!) - 0.1)));
    close((await evaluateLoss('genarm', { gamma: 0.1 }, referenceFree)).loss, want);
  });
});

const KL = {
  policy_chosen_kl: [[0.1, 0.2, 9], [0.05, 0.0, 0.1]],
  policy_rejected_kl: [[0.3, 0.1, 0.2], [0.4, 9, 9]],
};

describe('token-level losses: values', () => {
  const { hW, hL } = ratios(PAIRED, 'sum');
  const klW = seqSum(KL.policy_chosen_kl, PAIRED.chosen_mask); // [0.3, 0.15] (padding 9s masked out)
  const klL = seqSum(KL.policy_rejected_kl, PAIRED.rejected_mask); // [0.6, 0.4]
  const arrays = { ...paired, ...arraysOf(KL) };

  it('TDPO1 and TDPO2 follow the official tdpo_loss', async () => {
    const tdpo1 = avg(hW.map((w, b) => negLogSigmoid(0.1 * (w - hL[b]! - (klL[b]! - klW[b]!)))));
    const tdpo2 = avg(hW.map((w, b) => negLogSigmoid(0.1 * (w - hL[b]! - 0.5 * (klL[b]! - klW[b]!)))));
    const r1 = await evaluateLoss('tdpo1', {}, arrays);
    close(r1.loss, tdpo1);
    close(r1.metrics['rewards/chosen']!, avg(hW.map((h, b) => 0.1 * (h + klW[b]!))));
    close((await evaluateLoss('tdpo2', {}, arrays)).loss, tdpo2);
  });

  it('SparsePO with reference-activation weights weights each token', async () => {
    const wW = [[1, 0.5, 0.7], [0, 1, 0.25]];
    const wL = [[0.2, 1, 0], [1, 0.3, 0.3]];
    const refW = [[-0.6, -1.0, -5], [-0.3, -0.3, -0.4]];
    const refL = [[-0.7, -0.7, -0.8], [-1.2, -3, -3]];
    const tok = (lp: number[][], ref: number[][], w: number[][], mask: number[][]) => lp.map((row, b) => row.reduce((s, v, t) => s + w[b]![t]! * (v - ref[b]![t]!) * mask[b]![t]!, 0));
    const uW = tok(PAIRED.policy_chosen_logps, refW, wW, PAIRED.chosen_mask);
    const uL = tok(PAIRED.policy_rejected_logps, refL, wL, PAIRED.rejected_mask);
    const kW = tok(KL.policy_chosen_kl, wW.map((r) => r.map(() => 0)), wW, PAIRED.chosen_mask);
    const kL = tok(KL.policy_rejected_kl, wL.map((r) => r.map(() => 0)), wL, PAIRED.rejected_mask);
    const want = avg(uW.map((u, b) => negLogSigmoid(0.1 * (u - uL[b]!) - 0.1 * (kL[b]! - kW[b]!))));
    const r = await evaluateLoss('sparsepo', { mask: 'reference' }, {
      ...arrays, ...arraysOf({ ref_chosen_logps: refW, ref_rejected_logps: refL, chosen_token_weights: wW, rejected_token_weights: wL }),
    });
    close(r.loss, want);
  });

  it('SparsePO with a learned ReLU mask head: masks are relu(logits), sparsity adds density', async () => {
    const logitsW = [[2, -1, 3], [0.5, -0.2, 1]];
    const logitsL = [[-3, 1, 0.2], [1.5, 4, 4]];
    const refW = [[-0.6, -1.0, 0], [-0.3, -0.3, -0.4]];
    const refL = [[-0.7, -0.7, -0.8], [-1.2, 0, 0]];
    const relu = (m: number[][]) => m.map((r) => r.map((v) => Math.max(0, v)));
    const mW = relu(logitsW);
    const mL = relu(logitsL);
    const dot = (a: number[][], b: number[][], mask: number[][]) => a.map((row, i) => row.reduce((s, v, t) => s + v * b[i]![t]! * mask[i]![t]!, 0));
    const diff = (a: number[][], b: number[][]) => a.map((row, i) => row.map((v, t) => v - b[i]![t]!));
    const uW = dot(mW, diff(PAIRED.policy_chosen_logps, refW), PAIRED.chosen_mask);
    const uL = dot(mL, diff(PAIRED.policy_rejected_logps, refL), PAIRED.rejected_mask);
    const kW = dot(mW, KL.policy_chosen_kl, PAIRED.chosen_mask);
    const kL = dot(mL, KL.policy_rejected_kl, PAIRED.rejected_mask);
    const base = avg(uW.map((u, b) => negLogSigmoid(0.1 * (u - uL[b]!) - 0.1 * (kL[b]! - kW[b]!))));
    const density = (dot(mW, mW.map((r) => r.map(() => 1)), PAIRED.chosen_mask).reduce((a, b) => a + b) + dot(mL, mL.map((r) => r.map(() => 1)), PAIRED.rejected_mask).reduce((a, b) => a + b)) / 9;
    const feeds = { ...arrays, ...arraysOf({ ref_chosen_logps: refW, ref_rejected_logps: refL, chosen_mask_logits: logitsW, rejected_mask_logits: logitsL }) };
    const r = await evaluateLoss('sparsepo', { sparsity: 0.01 }, feeds);
    close(r.loss, base + 0.01 * density);
    close(r.metrics['mask/density']!, density);
  });
});

describe('unpaired losses: values', () => {
  const batch = arraysOf({
    policy_logps: [[-0.5, -1.0], [-1.2, -0.3]],
    mask: [[1, 1], [1, 1]],
    ref_logps: [-1.7, -1.0],
    labels: [1, 0],
  });

  it('KTO: hand-worked with the batch KL reference point', async () => {
    // h = [-1.5 + 1.7, -1.5 + 1.0] = [0.2, -0.5]; mismatched pairs: sums [-2.0, -1.4] vs ref [-2.3, -1.5],
    // z0 = max(0, mean(0.3, 0.1)) = 0.2. Desirable row: 1 - sigma(0.1 (0.2 - 0.2)) = 0.5; undesirable row:
    // 1 - sigma(0.1 (0.2 + 0.5)) = 1 - sigma(0.07) = 0.482507; loss = (0.5 + 0.482507) / 2 = 0.491254.
    const kl = arraysOf({ policy_kl_logps: [[-1.0, -1.0], [-0.8, -0.6]], kl_mask: [[1, 1], [1, 1]], ref_kl_logps: [-2.3, -1.5] });
    const r = await evaluateLoss('kto', {}, { ...batch, ...kl });
    close(r.loss, 0.4912536, 6);
    close(r.metrics['kl']!, 0.2);
    close(r.metrics['rewards/chosen']!, 0.02);
    close(r.metrics['rewards/rejected']!, -0.05);
    // A negative batch KL is clamped to 0: z0 = 0.
    const negative = arraysOf({ policy_kl_logps: [[-2, -2], [-2, -2]], kl_mask: [[1, 1], [1, 1]], ref_kl_logps: [-1, -1] });
    const r0 = await evaluateLoss('kto', { desirableWeight: 2 }, { ...batch, ...negative });
    close(r0.metrics['kl']!, 0);
    close(r0.loss, (2 * (1 - sigmoid(0.02)) + (1 - sigmoid(0.05))) / 2);
  });

  it('BCO: running mean over every reward, UDM weights on thumbs-down rows', async () => {
    const rewards = [0.02, -0.05];
    const delta = (0.1 * 10 + avg(rewards) * 2) / 12;
    const plain = (negLogSigmoid(rewards[0]! - delta) + negLogSigmoid(-(rewards[1]! - delta))) / 2;
    const state = { running_reward_mean: 0.1, running_reward_count: 10 };
    const r = await evaluateLoss('bco', {}, { ...batch, ...state });
    close(r.loss, plain);
    close(r.state['running_reward_count']!, 12);
    close(r.metrics['delta']!, delta);
    const weighted = (negLogSigmoid(rewards[0]! - delta) + 3 * negLogSigmoid(-(rewards[1]! - delta))) / 2;
    close((await evaluateLoss('bco', { udm: true }, { ...batch, ...state, udm_weights: { data: [7, 3], dims: [2] } })).loss, weighted);
  });
});

describe('reward-model losses: values', () => {
  it('Bradley-Terry: hand-worked, with margin and centering', async () => {
    // r_w = [1, 0.5], r_l = [0, 1]: (log(1 + e^-1) + log(1 + e^0.5)) / 2 = (0.313262 + 0.974077) / 2 = 0.643669;
    // centering 0.01 * mean((1)^2, (1.5)^2) = 0.01625, total 0.659919.
    const arrays = arraysOf({ rewards_chosen: [1, 0.5], rewards_rejected: [0, 1] });
    close((await evaluateLoss('bradley_terry', {}, arrays)).loss, 0.6436693, 6);
    const c = await evaluateLoss('bradley_terry', { centerRewardsCoefficient: 0.01 }, arrays);
    close(c.loss, 0.6599193, 6);
    close(c.metrics['rewards/accuracies']!, 0.5);
    const m = await evaluateLoss('bradley_terry', { useMargin: true }, { ...arrays, margin: { data: [0.5, 0], dims: [2] } });
    close(m.loss, (softplus(-0.5) + softplus(0.5)) / 2);
  });

  it('multi-attribute: weighted mean of per-attribute MSEs', async () => {
    const pred = [[1, 2], [3, 5]];
    const target = [[1.5, 2], [2, 3]];
    const mse = [(0.25 + 1) / 2, (0 + 4) / 2];
    const hp = { attributes: ['helpfulness', 'verbosity'], weights: [3, 1] };
    const r = await evaluateLoss('multi_attribute', hp, arraysOf({ attribute_predictions: pred, attribute_targets: target }));
    close(r.loss, (3 * mse[0]! + mse[1]!) / 4);
    close(r.metrics['mse/verbosity']!, mse[1]!);
  });
});

describe('SRPO offline loss: values', () => {
  it('regresses p - 1/2 on the revision log-ratio against the mixed baseline', async () => {
    const rev = { policy_revision_logps: [[-0.3, -0.2, 0], [-0.1, -0.4, -0.2]], revision_mask: PAIRED.chosen_mask, ref_revision_logps: [-0.9, -0.5] };
    const self = { policy_self_revision_logps: [[-0.4, -0.5, -0.6], [-0.7, 0, 0]], self_revision_mask: PAIRED.rejected_mask, ref_self_revision_logps: [-1.4, -0.9] };
    const { hL } = ratios(PAIRED, 'sum');
    const hRev = seqSum(rev.policy_revision_logps, rev.revision_mask).map((v, b) => v - rev.ref_revision_logps[b]!);
    const hSelf = seqSum(self.policy_self_revision_logps, self.self_revision_mask).map((v, b) => v - self.ref_self_revision_logps[b]!);
    const beta = 0.1;
    const alpha = 0.5;
    const want = avg(hRev.map((h, b) => (0.5 - beta * h + alpha * beta * hL[b]! + (1 - alpha) * beta * hSelf[b]!) ** 2));
    close((await evaluateLoss('srpo', {}, { ...paired, ...arraysOf({ ...rev, ...self }) })).loss, want);
  });
});

describe('dynamic reward scaling (MM-RLHF)', () => {
  it('grows each pair\'s beta with its reward margin', async () => {
    const { hW, hL } = ratios(PAIRED, 'sum');
    const margins = [0.5, 3];
    const betas = margins.map((m) => 0.1 * (1 + 0.5 * (1 - Math.exp(-2 * m))));
    const want = avg(hW.map((w, b) => negLogSigmoid(betas[b]! * (w - hL[b]!))));
    const r = await evaluateLoss('dpo', { dynamicBeta: { w: 0.5, k: 2 } }, { ...paired, reward_margin: { data: margins, dims: [2] } });
    close(r.loss, want);
  });
});
