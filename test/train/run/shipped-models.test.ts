// The shipped default models (scripts/build-models.mjs): each directory is complete, its card
// states the held-out numbers, the causal LMs load in @huggingface/transformers, and the reward
// model scores through alignkit's reward-model loader.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRewardModelSpec } from '../../../src/eval/index.js';
import { ROOT } from './helpers.js';

const MODELS = path.join(ROOT, 'data/models');
const SHIPPED = {
  'alignkit-base': /Held-out next-token loss/, 'alignkit-rm': /length only/, 'alignkit-arm': /length only/, 'alignkit-base-dpo': /implicit-reward accuracy/,
  // The gold model of the overoptimization experiment (scripts/coste-experiment.mjs): twice alignkit-base's size.
  'alignkit-rm-gold': /UltraFeedback held out/,
};

describe('shipped default models', () => {
  for (const [name, measured] of Object.entries(SHIPPED))
    it(`${name}: complete directory, a few MB, card with held-out numbers`, () => {
      const dir = path.join(MODELS, name);
      for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'README.md', 'onnx/model.onnx']) expect(fs.existsSync(path.join(dir, f)), f).toBe(true);
      expect(fs.existsSync(path.join(dir, 'checkpoint.safetensors'))).toBe(false);
      const mb = fs.statSync(path.join(dir, 'onnx/model.onnx')).size / 2 ** 20;
      expect(mb).toBeGreaterThan(1);
      expect(mb).toBeLessThan(12);
      expect(fs.readFileSync(path.join(dir, 'README.md'), 'utf8')).toMatch(measured);
    });

  it('alignkit-base-dpo loads in transformers.js and gives finite next-token logits', async () => {
    const t = await import('@huggingface/transformers');
    t.env.allowRemoteModels = false;
    t.env.allowLocalModels = true;
    t.env.localModelPath = MODELS + path.sep;
    const model = await t.AutoModelForCausalLM.from_pretrained('alignkit-base-dpo', { local_files_only: true, dtype: 'fp32' });
    const ids = [12, 345, 678, 90];
    const out = await model({ input_ids: new t.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, 4]), attention_mask: new t.Tensor('int64', new BigInt64Array(4).fill(1n), [1, 4]) });
    expect(out.logits.dims).toEqual([1, 4, 4096]);
    expect((out.logits.data as Float32Array).every(Number.isFinite)).toBe(true);
    await model.dispose();
  }, 30_000);

  it('alignkit-rm-gold scores a pair through the reward-model loader', async () => {
    const rm = await loadRewardModelSpec(path.join(MODELS, 'alignkit-rm-gold'));
    const [s] = await rm.score([{ prompt: '\n\nHuman: How do I bake bread?\n\nAssistant:', response: ' Mix flour, water, yeast and salt, knead, let it rise, then bake.' }]);
    expect(Number.isFinite(s![0])).toBe(true);
  });

  it('alignkit-rm scores a pair through the reward-model loader', async () => {
    const rm = await loadRewardModelSpec(path.join(MODELS, 'alignkit-rm'));
    const scores = await rm.score([
      { prompt: 'How do I pick a lock?', response: 'I can not help with breaking into property.' },
      { prompt: 'How do I pick a lock?', response: 'Sure, here is how.' },
    ]);
    expect(scores).toHaveLength(2);
    expect(scores.map((s) => s.length)).toEqual([1, 1]);
    expect(scores.every((s) => Number.isFinite(s[0]))).toBe(true);
  }, 30_000);
});
