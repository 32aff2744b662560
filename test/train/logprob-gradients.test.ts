import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/graph/index.js';
import { ReferenceLogProbs, SequenceLogProbGradientSession } from '../../src/train/index.js';
import { TINY_GPT2_ONNX } from './helpers.js';

// A right-padded batch for the optimum-layout GPT-2 (KV-cache inputs, position_ids).
const BATCH = {
  inputIds: [40, 316, 491, 431, 382, 12, 5, 77, 300, 0, 0, 0],
  attentionMask: [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
  weights: [0, 1, 1, 0.5, 2, -1, 0, 1, 3, 7, 7, 7],
  dims: [2, 6] as [number, number],
};

describe('SequenceLogProbGradientSession on an optimum-layout causal LM', () => {
  it('returns masked weighted sums of the reference log-probs and gradients that match finite differences', async () => {
    const session = await SequenceLogProbGradientSession.create(TINY_GPT2_ONNX);
    const names = [...loadModel(TINY_GPT2_ONNX).graph.initializers].filter(([, t]) => t.dtype === 'float32' && t.data.length > 1).map(([k]) => k);
    expect(new Set(session.trainable)).toEqual(new Set(names));
    const r = await session.run(BATCH);
    const ref = await ReferenceLogProbs.create(TINY_GPT2_ONNX);
    const lp = await ref.tokenLogprobs(BATCH);
    // S by hand from the forward-only log-probs: weights on padding (7s) are masked out.
    let s = 0;
    for (let i = 0; i < 12; i++) s += BATCH.weights[i]! * BATCH.attentionMask[i]! * lp[i]!;
    expect(r.value).toBeCloseTo(s, 4);
    // The training graph runs GPT-2's GELU as one fused op (float rounding apart, the same function).
    r.tokenLogprobs.forEach((v, i) => expect(Math.abs(v - lp[i]!), `token ${i}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(lp[i]!))));

    const init = session.prepared.forward.graph.initializers;
    const eps = 1e-2;
    for (const name of ['transformer.wte.weight', 'transformer.wpe.weight', 'transformer.h.1.mlp.c_fc.weight', 'transformer.ln_f.weight']) {
      const g = r.gradients.get(name)!;
      const data = init.get(name)!.data as Float32Array;
      const i = g.reduce((best, v, k) => (Math.abs(v) > Math.abs(g[best]!) ? k : best), 0);
      const keep = data[i]!;
      data[i] = keep + eps;
      const up = (await session.run(BATCH)).value;
      data[i] = keep - eps;
      const down = (await session.run(BATCH)).value;
      data[i] = keep;
      expect(Math.abs((up - down) / (2 * eps) - g[i]!), name).toBeLessThan(3e-3 + 2e-2 * Math.abs(g[i]!));
    }
    // Positions 6..127 are never used: their rows of the position-embedding gradient are zero.
    const wpe = r.gradients.get('transformer.wpe.weight')!;
    expect(Math.max(...wpe.subarray(6 * 32).map(Math.abs))).toBe(0);
    await session.release();
    await ref.release();
  });
});
