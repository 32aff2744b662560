import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REWARD_MODEL_KINDS, loadRewardModelSpec } from '../../src/eval/index.js';
import { DpoImpliedReward, FollowUpLikelihoodReward, OnnxRewardModel } from '../../src/rewards/index.js';
import { DATA } from '../helpers/paths.js';

const LM = path.join(DATA, 'models', 'tiny-gpt2');
const RM = path.join(DATA, 'models', 'tiny-gpt2-rm');

describe('eval model specs', () => {
  it('loads a bare directory as a classifier and KIND:ARG through the kind table', async () => {
    expect(Object.keys(REWARD_MODEL_KINDS)).toEqual(['rm', 'flr', 'dpo-implied']);
    expect(await loadRewardModelSpec(RM)).toBeInstanceOf(OnnxRewardModel);
    expect(await loadRewardModelSpec(`rm:${RM}`)).toBeInstanceOf(OnnxRewardModel);
    const flr = await loadRewardModelSpec(`flr:${LM}`);
    expect(flr).toBeInstanceOf(FollowUpLikelihoodReward);
    expect(flr.name).toBe(`flr:${LM}`);
    const dpo = (await loadRewardModelSpec(`dpo-implied:${LM},${LM},0.5`)) as DpoImpliedReward;
    expect(dpo).toBeInstanceOf(DpoImpliedReward);
    expect(dpo.config.beta).toBe(0.5);
  });

  it('names a malformed dpo-implied argument and a bad beta', async () => {
    await expect(loadRewardModelSpec(`dpo-implied:${LM}`)).rejects.toThrow(/dpo-implied needs POLICY_DIR,REFERENCE_DIR\[,BETA\]/);
    await expect(loadRewardModelSpec(`dpo-implied:${LM},${LM},-1`)).rejects.toThrow(/beta must be a positive number, got -1/);
  });
});
