import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, Session, type Model } from '../../src/graph/index.js';
import { cloneModel } from '../../src/graph/rewrites/index.js';
import { createOptimizer } from '../../src/optim/index.js';
import { exportHfDirectory, prepareCausalLmTraining, tokenFeeds, TokenWindowSampler, Trainer } from '../../src/train/index.js';
import { shakespeareTokens, TINY_GPT2_DIR, TINY_GPT2_ONNX } from './helpers.js';

const ROWS = [[40, 316, 491, 431, 382, 12, 324, 322], [5, 77, 300, 0, 0, 0, 0, 0]];
const MASK = [[1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0, 0, 0]];
const T = 8;
const V = 500;

/** alignkit's logits for the model with `values` in place of its initializers. */
async function alignkitLogits(forward: Model, values: Map<string, Float32Array>): Promise<Float32Array> {
  const m = cloneModel(forward);
  for (const [k, v] of values) m.graph.initializers.set(k, { ...m.graph.initializers.get(k)!, data: v });
  const out = await (await Session.create(m)).run(tokenFeeds(m, { inputIds: ROWS.flat(), attentionMask: MASK.flat(), dims: [2, T] }), ['logits']);
  return out.logits!.data as Float32Array;
}

async function transformersLogits(dir: string): Promise<Float32Array> {
  const t = await import('@huggingface/transformers');
  t.env.allowRemoteModels = false;
  t.env.allowLocalModels = true;
  t.env.localModelPath = path.dirname(dir) + path.sep;
  const hf = await t.AutoModelForCausalLM.from_pretrained(path.basename(dir), { local_files_only: true, dtype: 'fp32' });
  const out = await hf({
    input_ids: new t.Tensor('int64', BigInt64Array.from(ROWS.flat().map(BigInt)), [2, T]),
    attention_mask: new t.Tensor('int64', BigInt64Array.from(MASK.flat().map(BigInt)), [2, T]),
  });
  await hf.dispose();
  return out.logits.data as Float32Array;
}

function maxDiffOnRealTokens(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let r = 0; r < 2; r++)
    for (let p = 0; p < T; p++) {
      if (MASK[r]![p] === 0) continue;
      for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(a[(r * T + p) * V + v]! - b[(r * T + p) * V + v]!));
    }
  return worst;
}

describe('export to a Hugging Face directory', () => {
  it('merges trained LoRA adapters and loads in transformers.js with alignkit\'s logits', async () => {
    const source = loadModel(TINY_GPT2_ONNX);
    const prep = prepareCausalLmTraining(source, { loss: 'next-token', lora: { rank: 4, alpha: 8, targets: 'all-linear', seed: 1 } });
    expect(prep.trainable.every((n) => n.includes('.lora_'))).toBe(true);
    const trainer = await Trainer.create({ training: prep.training, source: prep.forward, optimizer: createOptimizer('adamw', { lr: 1e-2 }) });
    const sampler = new TokenWindowSampler(await shakespeareTokens(4000), { batch: 2, sequence: 16, seed: 3 });
    for (let i = 0; i < 5; i++) await trainer.step([sampler.next()]);
    const values = trainer.values();

    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-export-')), 'trained-gpt2');
    const file = exportHfDirectory({ model: source, values, lora: prep.lora, outDir: out, sourceDir: TINY_GPT2_DIR });
    expect(file).toBe(path.join(out, 'onnx', 'model.onnx'));
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    const exported = loadModel(file);
    // Original names kept, no adapter left behind.
    expect(exported.graph.inputs.map((v) => v.name)).toEqual(source.graph.inputs.map((v) => v.name));
    expect(exported.graph.outputs.map((v) => v.name)).toEqual(source.graph.outputs.map((v) => v.name));
    expect([...exported.graph.initializers.keys()].some((k) => k.includes('lora'))).toBe(false);

    const ours = await alignkitLogits(prep.forward, values);
    const theirs = await transformersLogits(out);
    expect(maxDiffOnRealTokens(theirs, ours)).toBeLessThan(1e-4);
    // Training moved the model away from the base: the comparison can fail.
    const base = await alignkitLogits(prep.forward, new Map());
    expect(maxDiffOnRealTokens(base, ours)).toBeGreaterThan(1e-2);
    await trainer.release();
  });
});
