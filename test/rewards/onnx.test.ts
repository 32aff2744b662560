import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SequenceClassifier } from '../../src/models/index.js';
import { OnnxRewardModel, RewardEnsemble } from '../../src/rewards/index.js';

const DIR = path.resolve('data/models/tiny-bert-rm-multi');

describe('OnnxRewardModel on the multi-head fixture classifier', () => {
  it('exposes the classifier labels as heads and returns its raw logits, never softmaxed', async () => {
    const rm = await OnnxRewardModel.load(DIR);
    const classifier = await SequenceClassifier.load(DIR);
    expect(rm.name).toBe('tiny-bert-rm-multi');
    expect(rm.heads).toEqual(['helpfulness', 'correctness', 'coherence']);
    expect(rm.maxLength).toBe(128);
    const items = [{ prompt: 'Is water wet?', response: 'Yes, in the everyday sense.' }, { prompt: '', response: 'Hello.' }];
    const [mine, theirs] = [await rm.score(items), await classifier.score(items)];
    expect(mine.map((s) => [...s])).toEqual(theirs.map((s) => [...s]));
    // Raw logits of three heads do not sum to 1 as softmax outputs would.
    expect(Math.abs(mine[0].reduce((a, b) => a + b, 0) - 1)).toBeGreaterThan(1e-3);
    await rm.release();
  });

  it('fails on over-long input unless asked to truncate, and can be renamed for ensembles', async () => {
    const a = await OnnxRewardModel.load(DIR, { name: 'seed-a' });
    const b = await OnnxRewardModel.load(DIR, { name: 'seed-b' });
    const long = { prompt: 'lorem ipsum dolor sit amet '.repeat(40), response: 'ok' };
    await expect(a.score([long])).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_TOO_LONG' });
    expect((await a.score([long], { truncate: true }))[0]).toHaveLength(3);
    // Two copies of one model: the ensemble's variance is 0 and every combination equals the member.
    const ens = new RewardEnsemble([a, b], { method: 'uncertainty', lambda: 3 });
    const s = await ens.scoreDetailed([{ prompt: 'q', response: 'r' }]);
    expect(s.variance[0]).toBe(0);
    expect(s.rewards[0]).toBeCloseTo(s.members[0].rewards[0], 6);
  });
});
