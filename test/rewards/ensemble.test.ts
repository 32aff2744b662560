import { describe, expect, it } from 'vitest';
import { AlignkitError } from '../../src/errors.js';
import {
  COMBINE_METHODS,
  RewardEnsemble,
  combineConfig,
  combineMemberRewards,
  combineScores,
  ensembleVariance,
  headWeights,
  preferenceProbability,
  sigmoid,
  weightedReward,
} from '../../src/rewards/index.js';
import { LinearRewardModel } from './support/linear-reward-model.js';

describe('ensemble combiners (Coste et al., mean / WCO / UWO)', () => {
  // Members score one item 1, 2 and 6: mean 3, min 1,
  // population variance ((1-3)^2 + (2-3)^2 + (6-3)^2) / 3 = 14/3, UWO(lambda .5) = 3 - 7/3 = 2/3.
  const xs = [1, 2, 6];
  it('mean, min and uncertainty-weighted give the hand-worked values', () => {
    expect(combineScores(xs, { method: 'mean', lambda: 0 })).toBeCloseTo(3, 12);
    expect(combineScores(xs, { method: 'min', lambda: 0 })).toBe(1);
    expect(ensembleVariance(xs)).toBeCloseTo(14 / 3, 12);
    expect(combineScores(xs, { method: 'uncertainty', lambda: 0.5 })).toBeCloseTo(2 / 3, 12);
    expect(combineScores(xs, { method: 'uncertainty', lambda: 0 })).toBeCloseTo(3, 12);
  });

  it('combines per item across members', () => {
    // item 0: members 1, 3 -> mean 2, var 1; item 1: members -2, -2 -> mean -2, var 0
    const { rewards, variance } = combineMemberRewards([[1, -2], [3, -2]], { method: 'uncertainty', lambda: 2 });
    expect(rewards).toEqual([2 - 2 * 1, -2]);
    expect(variance).toEqual([1, 0]);
  });

  it('rejects unknown methods listing the registry, and negative lambda naming the field', () => {
    const e = (() => { try { combineConfig({ method: 'median' as never }); } catch (err) { return err as AlignkitError; } })()!;
    expect(e.code).toBe('ALIGNKIT_ERR_UNKNOWN_NAME');
    for (const m of COMBINE_METHODS) expect(e.message).toContain(m);
    expect(() => combineConfig({ lambda: -1 })).toThrow(/combine\.lambda/);
  });
});

describe('preference probability', () => {
  it('is sigmoid(r_a - r_b)', () => {
    expect(preferenceProbability(2, 1)).toBeCloseTo(1 / (1 + Math.exp(-1)), 12); // 0.7310585786
    expect(preferenceProbability(1, 2)).toBeCloseTo(1 - 1 / (1 + Math.exp(-1)), 12);
    expect(preferenceProbability(0.3, 0.3)).toBe(0.5);
  });
  it('stays finite for huge differences', () => {
    expect(sigmoid(-1000)).toBe(0);
    expect(sigmoid(1000)).toBe(1);
    expect(Number.isNaN(preferenceProbability(-800, 800))).toBe(false);
  });
});

describe('multi-head weighting', () => {
  it('defaults to the first head and weighs named heads', () => {
    const heads = ['a', 'b', 'c'];
    const s = Float32Array.of(1, 3, 5);
    expect(weightedReward(s, headWeights(heads, undefined, 'm'))).toBe(1);
    expect(weightedReward(s, headWeights(heads, { b: 2, c: -1 }, 'm'))).toBe(2 * 3 - 5);
  });
  it('names the unknown head and the model', () => {
    expect(() => headWeights(['a'], { z: 1 }, 'rm-1')).toThrow(/rm-1 has no head 'z'/);
  });
});

describe('RewardEnsemble over real ONNX models', () => {
  it('scores every member, weights heads, and combines', async () => {
    // m1: reward = response chars; m2 heads (h0, h1) = (prompt chars, 10 - response chars), weighted {h1: 1}
    const m1 = await LinearRewardModel.create('m1', ['score'], [[0], [1], [0]]);
    const m2 = await LinearRewardModel.create('m2', ['h0', 'h1'], [[1, 0], [0, -1], [0, 10]]);
    const ens = new RewardEnsemble([m1, { model: m2, headWeights: { h1: 1 } }], { method: 'min' });
    const items = [{ prompt: 'hey', response: 'abcd' }, { prompt: '', response: 'abcdefgh' }];
    const s = await ens.scoreDetailed(items);
    // item 0: m1 4, m2 (3, 6) -> 6; item 1: m1 8, m2 (0, 2) -> 2
    expect(s.members[0].rewards).toEqual([4, 8]);
    expect([...s.members[1].headScores[0]]).toEqual([3, 6]);
    expect(s.members[1].rewards).toEqual([6, 2]);
    expect(s.rewards).toEqual([4, 2]); // min
    expect(s.variance).toEqual([1, 9]); // ((4-5)^2 + (6-5)^2)/2, ((8-5)^2 + (2-5)^2)/2
    expect((await ens.score(items)).map((r) => r[0])).toEqual([4, 2]);
    expect(m1.runs).toBe(2); // one batched run per scoreDetailed / score call
    expect(ens.maxLength).toBe(1000);
  });

  it('refuses two members with one name', async () => {
    const m = await LinearRewardModel.create('same', ['score'], [[0], [1], [0]]);
    expect(() => new RewardEnsemble([m, m])).toThrow(/two members named same/);
  });
});
