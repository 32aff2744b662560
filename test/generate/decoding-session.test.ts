// The fixed-cache decoding path (issue 13: no per-step copies of the KV cache): the decoding graph
// returns exactly the new tokens' keys and values (stacked in one output), the last position's logits and their log sum exp,
// and a decoding loop over pre-sized cache buffers gives the plain cached step's logits at every step.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Session, loadModel, type Tensor } from '../../src/graph/index.js';
import { decodingGraph, LAST_LOGITS, LAST_LOGSUMEXP, NEW_KV } from '../../src/graph/rewrites/index.js';
import { KvDecoder, logSoftmax } from '../../src/generate/index.js';
import { SLOT_CHUNK } from '../../src/generate/kv-decoder.js';
import { CausalLM } from '../../src/models/index.js';

const DIR = path.resolve('data/models/tiny-gpt2');
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

describe('decodingGraph', () => {
  it('outputs the new keys/values, the last logits and their log sum exp of the plain graph', async () => {
    const model = loadModel(path.join(DIR, 'onnx/model.onnx'));
    const rewritten = decodingGraph(model)!;
    expect(rewritten.newKv.size).toBe(model.graph.inputs.filter((v) => v.name.startsWith('past_key_values.')).length);
    const lm = await CausalLM.load(DIR);
    const ids = [[5, 9, 2, 7], [0, 0, 3, 8]];
    const mask = [[1, 1, 1, 1], [0, 0, 1, 1]];
    const plain = await lm.step({ ids, attentionMask: mask });
    const s = await Session.create(rewritten.model);
    const i64 = (rows: number[][]): Tensor => ({ dtype: 'int64', dims: [rows.length, rows[0]!.length], data: BigInt64Array.from(rows.flat().map(BigInt)) });
    const out = await s.run({ input_ids: i64(ids), attention_mask: i64(mask), position_ids: i64([[0, 1, 2, 3], [1, 1, 0, 1]]), ...lm.emptyPast(2) });
    const V = lm.vocabSize;
    const logits = plain.logits.data as Float32Array;
    for (let b = 0; b < 2; b++) {
      const last = logits.subarray((b * 4 + 3) * V, (b * 4 + 4) * V);
      expect(maxAbsDiff((out[LAST_LOGITS]!.data as Float32Array).subarray(b * V, (b + 1) * V), last)).toBeLessThan(1e-5);
      const lse = last[0]! - logSoftmax(last)[0]!;
      expect(out[LAST_LOGSUMEXP]!.data[b]).toBeCloseTo(lse, 4);
    }
    const stacked = out[NEW_KV]!;
    expect(stacked.dims[0]).toBe(rewritten.newKv.size * 2);
    for (const [past, i] of rewritten.newKv) {
      const present = plain.past[past]!; // empty past: the new part is the whole present
      const size = present.data.length;
      expect(stacked.dims.slice(1)).toEqual(present.dims.slice(1));
      expect(maxAbsDiff((stacked.data as Float32Array).subarray(i * size, (i + 1) * size), present.data as Float32Array)).toBeLessThan(1e-6);
    }
    await s.release();
  });

  it('leaves graphs without the with-past layout alone', () => {
    expect(decodingGraph(loadModel(path.resolve('data/models/tiny-gpt2-rm/onnx/model.onnx')))).toBeUndefined();
  });
});

describe('KvDecoder over pre-sized cache buffers', () => {
  it('gives the plain cached step the same logits and log-probs at every step, left padding included', async () => {
    const lm = await CausalLM.load(DIR);
    expect(await lm.decodingSession()).toBeDefined();
    const prompts = [[11, 12, 13, 14, 15], [21, 22]];
    const fast = new KvDecoder(lm, true, 6);
    const plain = new KvDecoder({ step: (x) => lm.step(x), vocabSize: lm.vocabSize }, true);
    let a = await fast.prefill(prompts, 0);
    let b = await plain.prefill(prompts, 0);
    for (let step = 0; step < 6; step++) {
      a.forEach((row, r) => expect(maxAbsDiff(row, b[r]!), `step ${step} row ${r}`).toBeLessThan(1e-4));
      const next = b.map((row) => row.indexOf(Math.max(...row)));
      next.forEach((t, r) => expect(fast.logProbOf(r, t)).toBeCloseTo(plain.logProbOf(r, t), 4));
      a = await fast.step(next, 0);
      b = await plain.step(next, 0);
    }
    await expect(fast.step([1, 1], 0)).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_INVALID_ARGUMENT' });
  });
});

describe('KvDecoder cache widening', () => {
  // Regression (issue 13): the cache buffers now start empty and widen SLOT_CHUNK slots at a time
  // (attention runs over the tokens so far, not the whole capacity); across several widenings the
  // logits must stay those of the plain cached step.
  it(`keeps the plain step's logits across several ${SLOT_CHUNK}-slot widenings`, async () => {
    const lm = await CausalLM.load(DIR);
    const prompts = [[11, 12, 13, 14, 15], [21, 22]];
    const steps = 3 * SLOT_CHUNK + 3;
    const fast = new KvDecoder(lm, true, steps);
    const plain = new KvDecoder({ step: (x) => lm.step(x), vocabSize: lm.vocabSize }, true);
    let a = await fast.prefill(prompts, 0);
    let b = await plain.prefill(prompts, 0);
    for (let step = 0; step < steps; step++) {
      a.forEach((row, r) => expect(maxAbsDiff(row, b[r]!), `step ${step} row ${r}`).toBeLessThan(1e-4));
      const next = b.map((row) => row.indexOf(Math.max(...row)));
      a = await fast.step(next, 0);
      b = await plain.step(next, 0);
    }
  });
});

describe('KvDecoder greedyOnly', () => {
  // Issue 13: greedy decoding with nothing editing the scores fetches the graph's argmax and its
  // logit instead of the [B, V] logits; tokens and log-probs must be those of the full rows.
  it('gives the argmax and log-prob of the full logits without fetching them', async () => {
    const lm = await CausalLM.load(DIR);
    const prompts = [[11, 12, 13, 14, 15], [21, 22]];
    const fast = new KvDecoder(lm, true, 20, true);
    const full = new KvDecoder(lm, true, 20);
    expect(await fast.prefill(prompts, 0)).toEqual([]);
    let rows = await full.prefill(prompts, 0);
    for (let step = 0; step < 20; step++) {
      const next = rows.map((row, r) => {
        const token = full.greedyToken(r);
        expect(token).toBe(row.indexOf(Math.max(...row)));
        expect(fast.greedyToken(r), `step ${step} row ${r}`).toBe(token);
        expect(fast.logProbOf(r, token)).toBeCloseTo(full.logProbOf(r, token), 5);
        return token;
      });
      expect(() => fast.logProbOf(0, next[0]! + 1)).toThrow(/argmax/);
      await fast.step(next, 0);
      rows = await full.step(next, 0);
    }
  });
});

describe('genarmScores with log sum exps from the decoding graph', () => {
  it('equals the log-softmax form, and falls back to it when a vocabulary is padded', async () => {
    const { genarmScores } = await import('../../src/generate/index.js');
    const base = Float32Array.from({ length: 50 }, (_, i) => Math.sin(i) * 3);
    const arm = Float32Array.from({ length: 50 }, (_, i) => Math.cos(i * 0.7) * 2);
    const lse = (x: Float32Array) => x[0]! - logSoftmax(x)[0]!;
    const plain = genarmScores(base, [{ logits: arm, alpha: 0.8 }], 0.9);
    const fast = genarmScores(base, [{ logits: arm, alpha: 0.8, logSumExp: lse(arm) }], 0.9, lse(base));
    expect(maxAbsDiff(fast, plain)).toBeLessThan(1e-5);
    const padded = Float32Array.from([...arm, 5, 5]);
    const cut = genarmScores(base, [{ logits: padded, alpha: 0.8, logSumExp: lse(padded) }], 0.9, lse(base));
    expect(maxAbsDiff(cut, plain)).toBeLessThan(1e-5);
  });
});
