// The live policy of online RL runs: the decoding graph with the caller's current weights. It
// decodes like the same model loaded from disk, follows changed weights at the next load, and
// rollout() records the sampled tokens' log-probs and their distributions' entropies.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, saveModel } from '../../src/graph/index.js';
import { entropyOf, generate, LivePolicy, logProbOf, rollout } from '../../src/generate/index.js';
import { CausalLM, loadModelDir } from '../../src/models/index.js';
import { DATA } from '../helpers/paths.js';

const DIR = path.join(DATA, 'models/tiny-gpt2');
const prompts = [[15, 300, 42, 7], [99, 3]];

describe('LivePolicy', () => {
  it('decodes as the model loaded from disk, and follows changed weights at the next load', async () => {
    const dir = await loadModelDir(DIR);
    const model = loadModel(dir.onnxFile);
    const weights = new Map([...model.graph.initializers].filter(([, t]) => t.dtype === 'float32' && t.dims.length === 2).map(([n, t]) => [n, Float32Array.from(t.data as Float32Array)]));
    const live = new LivePolicy(dir, model, { intraOpThreads: 1 });
    const disk = await CausalLM.load(DIR, { session: { intraOpThreads: 1 } });
    const cfg = { sampler: 'greedy' as const, maxNewTokens: 8, stopAtEos: false };
    const a = await generate(disk, dir.tokenizer, prompts, cfg);
    const b = await generate(await live.load(weights), dir.tokenizer, prompts, cfg);
    expect(b.map((r) => r.tokens)).toEqual(a.map((r) => r.tokens));
    b.forEach((r, i) => r.baseLogprobs.forEach((lp, t) => expect(lp).toBeCloseTo(a[i]!.baseLogprobs[t]!, 4)));
    // Change the weights in place (as the optimizer does): the next load decodes the changed model.
    const [name, w] = [...weights].find(([n]) => /mlp|fc|c_fc/.test(n)) ?? [...weights][0]!;
    for (let i = 0; i < w.length; i++) w[i] = w[i]! * -3;
    const changed = loadModel(dir.onnxFile);
    changed.graph.initializers.set(name, { ...changed.graph.initializers.get(name)!, data: w });
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-live-'));
    for (const f of fs.readdirSync(DIR)) if (f !== 'onnx') fs.cpSync(path.join(DIR, f), path.join(tmp, f), { recursive: true });
    saveModel(changed, path.join(tmp, 'onnx/model.onnx'));
    const c = await generate(await CausalLM.load(tmp, { session: { intraOpThreads: 1 } }), dir.tokenizer, prompts, cfg);
    const d = await generate(await live.load(weights), dir.tokenizer, prompts, cfg);
    expect(d.map((r) => r.tokens)).toEqual(c.map((r) => r.tokens));
    expect(d.map((r) => r.tokens)).not.toEqual(a.map((r) => r.tokens));
    await live.release();
  });

  it('rollout keeps each sampled token with its log-prob and its distribution\'s entropy, reproducibly by seed', async () => {
    const lm = await CausalLM.load(DIR, { session: { intraOpThreads: 1 } });
    const a = await rollout(lm, lm.tokenizer, prompts, { maxNewTokens: 6, seed: 11 });
    const b = await rollout(lm, lm.tokenizer, prompts, { maxNewTokens: 6, seed: 11 });
    expect(b).toEqual(a);
    a.forEach((r, row) => {
      expect(r.logprobs).toHaveLength(r.tokens.length);
      // Every 4th position, starting at the row's index mod 4.
      expect(r.entropy).toHaveLength(r.tokens.filter((_, t) => (t + row) % 4 === 0).length);
      for (const e of r.entropy) expect(e).toBeGreaterThan(0);
    });
    // The first token's log-prob and entropy from the prompt's logits, computed here.
    const logits = await lm.logits([prompts[0]!]);
    const V = logits.dims[2]!;
    const row = (logits.data as Float32Array).slice((prompts[0]!.length - 1) * V, prompts[0]!.length * V);
    expect(a[0]!.logprobs[0]).toBeCloseTo(logProbOf(row, a[0]!.tokens[0]!), 4);
    expect(a[0]!.entropy[0]).toBeCloseTo(entropyOf(row), 4);
    // entropyOf: uniform over 4 is ln 4; a -Infinity logit carries no mass.
    expect(entropyOf(Float32Array.of(1, 1, 1, 1))).toBeCloseTo(Math.log(4), 6);
    expect(entropyOf(Float32Array.of(0, 0, -Infinity))).toBeCloseTo(Math.log(2), 6);
  });
});
