// Inference on the WebGPU device (in CI: Mesa's lavapipe, the CPU Vulkan driver) against
// onnxruntime-node on the CPU, at float32 tolerance: reward-model scores (GPT-2 and BERT
// classifiers), causal-LM response log-probs, and greedy decoding, plain and GenARM-guided, token
// for token, with the KV cache kept on the GPU between steps.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Generator, KvDecoder } from '../../src/generate/index.js';
import { loadModel, saveModel, Session, type SessionOptions } from '../../src/graph/index.js';
import { CausalLM, SequenceClassifier } from '../../src/models/index.js';
import { gpuHere, gpuTitle, maxAbsDiff, MODELS } from './helpers.js';

const here = await gpuHere();
const gpu: SessionOptions = { provider: 'webgpu', adapter: String(here.adapter?.index ?? 0) };
const cpu: SessionOptions = { intraOpThreads: 1 };
const dir = (name: string) => path.join(MODELS, name);

const ITEMS = [
  { prompt: 'Human: How do I bake bread?\n\nAssistant:', response: ' Mix flour, water, salt and yeast, let it rise, then bake it hot.' },
  { prompt: 'Human: Tell me a joke.\n\nAssistant:', response: ' Why did the chicken cross the road?' },
  { prompt: 'Hi', response: ' there' },
];

describe.skipIf(!here.adapter)(gpuTitle('scores and log-probs on the device equal the CPU', here), () => {
  for (const name of ['tiny-gpt2-rm', 'tiny-bert-rm-multi', 'alignkit-rm'])
    it(`classifier scores of ${name}`, async () => {
      const [a, b] = await Promise.all([SequenceClassifier.load(dir(name), { session: cpu }), SequenceClassifier.load(dir(name), { session: gpu })]);
      expect(b.session.device).toMatchObject({ provider: 'webgpu', adapter: { name: here.adapter!.name } });
      const [want, got] = [await a.score(ITEMS), await b.score(ITEMS)];
      for (let i = 0; i < ITEMS.length; i++) expect(maxAbsDiff(want[i]!, got[i]!), `item ${i}`).toBeLessThan(1e-4);
      await Promise.all([a.session.release(), b.session.release()]);
    });

  for (const name of ['tiny-gpt2', 'alignkit-base'])
    it(`causal-LM response log-probs of ${name}`, async () => {
      const [a, b] = await Promise.all([CausalLM.load(dir(name), { session: cpu }), CausalLM.load(dir(name), { session: gpu })]);
      const [want, got] = [await a.responseLogProbs(ITEMS), await b.responseLogProbs(ITEMS)];
      expect(got.tokens).toEqual(want.tokens);
      for (let i = 0; i < ITEMS.length; i++) expect(maxAbsDiff(want.logprobs[i]!, got.logprobs[i]!), `item ${i}`).toBeLessThan(1e-4);
      expect(maxAbsDiff(want.sum, got.sum)).toBeLessThan(1e-3);
      await Promise.all([a.session.release(), b.session.release()]);
    });
});

describe.skipIf(!here.adapter)(gpuTitle('a model with an external-data file (model.onnx_data) loads on the device', here), () => {
  it('gives the logits of the single-file model', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-gpu-external-')), 'model.onnx');
    saveModel(loadModel(path.join(dir('tiny-gpt2'), 'onnx/model.onnx')), file, { externalData: true });
    expect(fs.existsSync(`${file}_data`)).toBe(true);
    const [a, b] = await Promise.all([Session.create(path.join(dir('tiny-gpt2'), 'onnx/model.onnx'), cpu), Session.create(file, gpu)]);
    const i64 = (xs: number[]) => ({ dtype: 'int64' as const, dims: [1, xs.length], data: BigInt64Array.from(xs, BigInt) });
    const feeds = { input_ids: i64([5, 9, 31, 7]), attention_mask: i64([1, 1, 1, 1]), position_ids: i64([0, 1, 2, 3]) };
    const past = Object.fromEntries(a.inputNames.filter((n) => n.startsWith('past_')).map((n) => [n, { dtype: 'float32' as const, dims: [1, 4, 0, 8], data: new Float32Array(0) }]));
    const [want, got] = [await a.run({ ...feeds, ...past }, ['logits']), await b.run({ ...feeds, ...past }, ['logits'])];
    expect(maxAbsDiff(want.logits!.data as Float32Array, got.logits!.data as Float32Array)).toBeLessThan(1e-4);
    await Promise.all([a.release(), b.release()]);
  });
});

describe.skipIf(!here.adapter)(gpuTitle('greedy decoding on the device equals the CPU', here), () => {
  const prompts = ['Human: How do I bake bread?\n\nAssistant:', 'Human: What is the capital of France?\n\nAssistant:'];
  const arms = [{ dir: dir('alignkit-arm'), alpha: 1 }];
  let onCpu: Generator;
  let onGpu: Generator;
  beforeAll(async () => {
    [onCpu, onGpu] = await Promise.all([Generator.load(dir('alignkit-base'), arms, cpu), Generator.load(dir('alignkit-base'), arms, gpu)]);
  });
  afterAll(async () => {
    for (const g of [onCpu, onGpu]) for (const m of [g.base, ...g.arms.map((a) => a.model)]) await m.session.release();
  });

  for (const guided of [false, true])
    it(`${guided ? 'GenARM-guided (base and ARM on the device)' : 'plain'}: the same tokens, log-probs within float32 tolerance`, async () => {
      const cfg = { sampler: 'greedy' as const, maxNewTokens: 12, stopAtEos: false };
      const alphas = guided ? undefined : { 'alignkit-arm': 0 };
      const [want, got] = [await onCpu.generate(prompts, cfg, alphas), await onGpu.generate(prompts, cfg, alphas)];
      for (let r = 0; r < prompts.length; r++) {
        expect(got[r]!.tokens, `row ${r}`).toEqual(want[r]!.tokens);
        expect(maxAbsDiff(want[r]!.baseLogprobs, got[r]!.baseLogprobs)).toBeLessThan(1e-4);
        expect(maxAbsDiff(want[r]!.armLogprobs[0]!, got[r]!.armLogprobs[0]!)).toBeLessThan(1e-4);
      }
    });

  it('keeps the KV cache in GPU buffers between steps, and the cached decode equals recomputing from scratch', async () => {
    const lm = onGpu.base;
    const ids = [lm.tokenizer.encode(prompts[0]!), lm.tokenizer.encode(prompts[1]!)];
    const step = await lm.step({ ids: [ids[0]!.slice(0, 4)], attentionMask: [[1, 1, 1, 1]] });
    const past = Object.values(step.past) as { location?: string; dispose(): void }[];
    expect(past.length).toBe(2 * lm.numLayers);
    expect(past.every((t) => t.location === 'gpu-buffer')).toBe(true);
    for (const t of past) t.dispose();
    const cached = new KvDecoder(lm, true);
    const fresh = new KvDecoder(lm, false);
    const pad = lm.tokenizer.padTokenId;
    let [a, b] = [await cached.prefill(ids, pad), await fresh.prefill(ids, pad)];
    for (let s = 0; s < 4; s++) {
      for (let r = 0; r < ids.length; r++) expect(maxAbsDiff(a[r]!, b[r]!), `step ${s} row ${r}`).toBeLessThan(1e-4);
      const next = a.map((row) => row.indexOf(Math.max(...row)));
      [a, b] = [await cached.step(next, pad), await fresh.step(next, pad)];
    }
    cached.release();
    fresh.release();
  });
});
