// RTO token rewards, over-optimisation indicators and BCO's UDM classifier.

import { describe, expect, it } from 'vitest';
import { GraphBuilder, Session } from '../../src/graph/index.js';
import { computeOveroptimisationIndicators, computeTokenRewards, fitUdmClassifier, udmWeights } from '../../src/losses/index.js';

const t = (data: number[], dims: number[]) => ({ dtype: 'float32' as const, dims, data: Float32Array.from(data) });

describe('RTO token rewards', () => {
  it('are beta * (lp_t - rp_t) on response tokens and sum to the DPO implicit reward', async () => {
    const lp = [-0.5, -1.0, -0.2, -0.2, -0.3, -0.4];
    const rp = [-0.7, -0.9, -5, -0.1, -0.3, -0.6];
    const mask = [1, 1, 0, 1, 1, 1];
    const r = await computeTokenRewards({ policy_logps: t(lp, [2, 3]), ref_logps: t(rp, [2, 3]), mask: t(mask, [2, 3]) }, 0.1);
    const want = lp.map((v, i) => 0.1 * (v - rp[i]!) * mask[i]!);
    Array.from(r.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));
    expect((r.data as Float32Array)[2]).toBe(0);
  });
});

describe('over-optimisation indicators', () => {
  it('top-k mass and renormalised top-k entropy over masked positions (hand-worked)', async () => {
    // Position 1: probabilities proportional to 1, 2, 3, 4 (logits ln 1..ln 4): top-2 = 0.4 + 0.3 = 0.7,
    // renormalised (4/7, 3/7) has entropy -(4/7 ln 4/7 + 3/7 ln 3/7) = 0.682908. Position 2 (uniform) is masked out.
    const logits = [0, Math.log(2), Math.log(3), Math.log(4), 0, 0, 0, 0];
    const r = await computeOveroptimisationIndicators(t(logits, [1, 2, 4]), t([1, 0], [1, 2]), 2);
    expect(r.topkMass).toBeCloseTo(0.7, 6);
    expect(r.topkEntropy).toBeCloseTo(0.682908, 5);
    // Unmasking the uniform position: its top-2 mass is 0.5 and entropy ln 2; the averages move accordingly.
    const both = await computeOveroptimisationIndicators(t(logits, [1, 2, 4]), t([1, 1], [1, 2]), 2);
    expect(both.topkMass).toBeCloseTo((0.7 + 0.5) / 2, 6);
    expect(both.topkEntropy).toBeCloseTo((0.682908 + Math.LN2) / 2, 5);
  });
});

describe("BCO's UDM classifier", () => {
  const desirable = [[1.2, 0.1], [0.8, -0.3], [1.5, 0.4], [0.9, 0.2]];
  const undesirable = [[-1.0, 0.2], [-0.6, -0.1], [0.1, 0.0]];

  it('fits sklearn\'s balanced, L2 (C = 1) logistic regression: the penalised objective is stationary', () => {
    const clf = fitUdmClassifier(desirable, undesirable);
    // Independent gradient of 1/2 |w|^2 + sum_i s_i logloss_i, s = n / (2 n_class), at the returned solution.
    const n = desirable.length + undesirable.length;
    const rows = [...desirable.map((e) => ({ e, y: 1, s: n / (2 * desirable.length) })), ...undesirable.map((e) => ({ e, y: 0, s: n / (2 * undesirable.length) }))];
    const grad = [clf.weights[0]!, clf.weights[1]!, 0];
    for (const { e, y, s } of rows) {
      const p = 1 / (1 + Math.exp(-(clf.bias + clf.weights[0]! * e[0]! + clf.weights[1]! * e[1]!)));
      grad[0] += s * (p - y) * e[0]!;
      grad[1] += s * (p - y) * e[1]!;
      grad[2] += s * (p - y);
    }
    for (const gv of grad) expect(Math.abs(gv)).toBeLessThan(1e-8);
    expect(clf.probDesirable([1, 0])).toBeGreaterThan(0.5);
    expect(clf.probDesirable([-1, 0])).toBeLessThan(0.5);
  });

  it('weights thumbs-down rows by p/(1-p), clamped to [0.5, 10]; thumbs-up rows get 1', () => {
    const clf = fitUdmClassifier(desirable, undesirable);
    const embeddings = [[1, 0], [0.3, 0], [-3, 0], [30, 0]];
    const w = udmWeights(clf, embeddings, [1, 0, 0, 0]);
    const p = clf.probDesirable([0.3, 0]);
    expect(w[0]).toBe(1);
    expect(w[1]).toBeCloseTo(p / (1 - p + 1e-8), 5);
    expect(w[2]).toBe(0.5);
    expect(w[3]).toBe(10);
  });

  it('names the problem when a class is empty or an embedding has the wrong width', () => {
    expect(() => fitUdmClassifier(desirable, [])).toThrow(/both classes/);
    expect(() => fitUdmClassifier(desirable, [[1, 2, 3]])).toThrow(/embedding 4 has 3 values/);
  });
});

