// `alignkit train ppo|rto|grpo|rloo` end to end on the fixture models: every kind runs, logs the
// issue's metrics and exports a model generate/serve load; the first optimizer step sees ratio 1
// (the log-probs recorded while sampling are the training graph's); a stopped and resumed run ends
// bit for bit where an uninterrupted one does (rollout sampling, minibatch order and the adaptive
// KL coefficient included, LoRA too); configuration errors name their field.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../../src/graph/index.js';
import { Generator } from '../../../src/generate/index.js';
import { runTraining, RUN_FILES } from '../../../src/train/run/index.js';
import { readJsonl, tempDir } from '../run/helpers.js';
import { onlineConfig, stopAndResume, untimed } from './helpers.js';

const COMMON = ['reward/mean', 'reward/std', 'kl', 'entropy', 'policy/clipfrac', 'policy/approxkl', 'lengths/response', 'eos_fraction', 'grad_norm', 'loss'];
const EXPECTED: Record<string, string[]> = {
  ppo: [...COMMON, 'loss/value', 'val/explained_variance', 'kl_coef', 'reward/rlhf'],
  rto: [...COMMON, 'loss/value', 'val/explained_variance', 'rewards/dpo_token', 'reward/dpo_token_sum'],
  grpo: [...COMMON, 'reward/rlhf'],
  rloo: [...COMMON, 'kl_coef', 'reward/rlhf'],
};

describe('alignkit train: every online kind', () => {
  for (const kind of ['ppo', 'rto', 'grpo', 'rloo'] as const)
    it(`${kind}: three rollout batches, the issue's metrics, an export generate loads without the value head`, async () => {
      const dir = tempDir(kind);
      const config = onlineConfig(kind, dir, { rl: { gold: [onlineConfig(kind, dir).rl!.reward[0]!] } });
      const r = await runTraining(config);
      expect(r.steps).toBe(3);
      const metrics = readJsonl(path.join(config.output, RUN_FILES.metrics));
      expect(metrics.map((m) => m.step)).toEqual([1, 2, 3]);
      for (const m of metrics) for (const k of EXPECTED[kind]!) expect(Number.isFinite(m[k]), `${k} at step ${m.step}`).toBe(true);
      // The gold model here is the reward model itself: gold and proxy agree on the same rollouts.
      for (const m of metrics) expect(m['gold/reward']).toBeCloseTo(m['reward/mean'] as number, 4);
      for (const m of metrics) expect(m['gold/std']).toBeCloseTo(m['reward/std'] as number, 4);
      const last = metrics.at(-1)!;
      for (const k of ['eval/reward/mean', 'eval/kl', 'eval/gold/reward', 'eval/gold/std', 'eval/entropy']) expect(Number.isFinite(last[k]), k).toBe(true);
      // The iteration's update moved the policy away from the reference: KL at step 1 is 0, later not.
      expect(Math.abs(metrics[0]!.kl as number)).toBeLessThan(1e-4);
      expect(Math.abs(metrics[2]!.kl as number)).toBeGreaterThan(1e-3);
      const onnx = path.join(config.output, 'onnx/model.onnx');
      const names = [...loadModel(onnx).graph.initializers.keys()];
      expect(names.some((n) => n.startsWith('value_head'))).toBe(false);
      expect(names.sort()).toEqual([...loadModel(path.join(config.model, 'onnx/model.onnx')).graph.initializers.keys()].sort());
      const gen = await Generator.load(config.output);
      const [out] = await gen.generate(['Hello'], { maxNewTokens: 4, sampler: 'greedy' });
      expect(out!.tokens).toHaveLength(4);
      expect(fs.readFileSync(path.join(config.output, RUN_FILES.card), 'utf8')).toContain(`alignkit train ${kind}`);
    }, 60_000);
});

describe('online updates start from the sampling policy', () => {
  for (const kind of ['ppo', 'grpo'] as const)
    it(`${kind}: with one epoch over one minibatch the step's ratio is 1 and its approximate KL 0`, async () => {
      const dir = tempDir(`ratio-${kind}`);
      const rows = kind === 'ppo' ? 4 : 16;
      const config = onlineConfig(kind, dir, { steps: 1, batchSize: rows, rl: { epochs: 1 } });
      await runTraining(config);
      const [m] = readJsonl(path.join(config.output, RUN_FILES.metrics));
      expect(m!['policy/ratio']).toBeCloseTo(1, 4);
      expect(m!['policy/approxkl'] as number).toBeLessThan(1e-8);
      expect(m!['policy/clipfrac']).toBe(0);
    }, 60_000);
});

describe('online runs resume bit for bit', () => {
  it('ppo with an adaptive KL coefficient: stopped after 2 of 4 rollout batches and resumed, same weights, value head and metrics', async () => {
    const dir = tempDir('resume-ppo');
    const config = onlineConfig('ppo', dir, { steps: 4, evalEvery: 2, rl: { klTarget: 0.5, klHorizon: 50 } });
    const { straight, resumed, a, b } = await stopAndResume(config, 2);
    expect(resumed.steps).toBe(4);
    expect([...resumed.values.keys()].some((k) => k.startsWith('value_head'))).toBe(true);
    for (const [name, v] of straight.values) expect(resumed.values.get(name), name).toEqual(v);
    // Step 0: the held-out evaluation of the starting policy (KL 0 to itself).
    expect(b.map((r) => r.step)).toEqual([0, 1, 2, 3, 4]);
    expect(Math.abs(a[0]!['eval/kl'] as number)).toBeLessThan(1e-4);
    // The adaptive coefficient moved, and the resumed run carried it on exactly.
    expect(a[4]!.kl_coef).not.toBe(a[1]!.kl_coef);
    expect(b.map(untimed)).toEqual(a.map(untimed));
  }, 90_000);

  it('grpo with LoRA: the same', async () => {
    const dir = tempDir('resume-grpo');
    const config = onlineConfig('grpo', dir, { steps: 3, train: 'lora', lr: 1e-2 });
    const { straight, resumed, a, b } = await stopAndResume(config, 1);
    for (const [name, v] of straight.values) expect(resumed.values.get(name), name).toEqual(v);
    expect(b.map((r) => r['reward/mean'])).toEqual(a.map((r) => r['reward/mean']));
    expect(b.map((r) => r.loss)).toEqual(a.map((r) => r.loss));
    // LoRA trained and the live policy decoded with the merged adapters: responses changed after step 1.
    expect(a[2]!.kl).not.toBe(0);
  }, 90_000);
});

describe('online run configuration', () => {
  it('names the field of each mistake', () => {
    const dir = tempDir('rl-config');
    expect(() => onlineConfig('ppo', dir, { rl: { reward: [] } })).toThrow(/rl\.reward/);
    expect(() => onlineConfig('grpo', dir, { batchSize: 3, microBatchSize: 3 })).toThrow(/batchSize: must divide the 16 responses/);
    expect(() => onlineConfig('ppo', dir, { rl: { klEstimator: 'k2' as never } })).toThrow(/rl\.klEstimator/);
    expect(() => onlineConfig('ppo', dir, { rl: { gaeLamda: 1 } as never })).toThrow(/rl\.gaeLamda: is not an RL setting/);
    expect(() => onlineConfig('ppo', dir, { rl: { maxNewTokens: 40 } })).toThrow(/rl\.maxNewTokens/);
    expect(() => onlineConfig('ppo', dir, { loss: 'dpo' })).toThrow(/losses for ppo: ppo/);
  });

  it('rto without a DPO policy fails before training, naming rl.dpoModel and --dpo', async () => {
    const dir = tempDir('rto-nodpo');
    const config = onlineConfig('rto', dir, { rl: { dpoModel: undefined } });
    await expect(runTraining(config)).rejects.toThrow(/--dpo DIR \(run config rl\.dpoModel\)/);
  });
});
