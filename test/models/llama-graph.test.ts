// The LLaMA/Qwen2-style fixture builder, checked by the properties its parts must have: decoding
// with the KV cache equals the full forward (the cache holds rotated keys at the right positions),
// rotary attention depends on relative positions only (a shifted position_ids changes nothing),
// grouped-query attention equals multi-head attention with each key/value head copied to the query
// heads it serves, and the autodiff's gradients through RMSNorm, rotary, GQA and SiLU agree with
// finite differences.

import { describe, expect, it } from 'vitest';
import { Session, type Model, type Tensor } from '../../src/graph/index.js';
import { checkGradients } from '../../src/graph/autodiff/index.js';
import { stripKvCache } from '../../src/graph/rewrites/index.js';
import { buildLlama, type LlamaShape } from '../../src/models/fixtures/index.js';

const SHAPE: LlamaShape = {
  vocabSize: 40, hiddenSize: 16, intermediateSize: 24, numLayers: 2, numHeads: 4, numKvHeads: 2,
  ropeTheta: 10000, rmsNormEps: 1e-6, attentionBias: true, tieWordEmbeddings: true,
};
const HEAD_DIM = SHAPE.hiddenSize / SHAPE.numHeads;

const i64 = (rows: number[][]): Tensor => ({ dtype: 'int64', dims: [rows.length, rows[0]!.length], data: BigInt64Array.from(rows.flat().map(BigInt)) });

function feeds(ids: number[][], positions: number[][], past: number, kvHeads = SHAPE.numKvHeads, cache?: Record<string, Tensor>): Record<string, Tensor> {
  const f: Record<string, Tensor> = {
    input_ids: i64(ids),
    attention_mask: i64(ids.map((r) => Array(past + r.length).fill(1))),
    position_ids: i64(positions),
  };
  for (let l = 0; l < SHAPE.numLayers; l++)
    for (const kv of ['key', 'value'])
      f[`past_key_values.${l}.${kv}`] = cache?.[`present.${l}.${kv}`] ?? { dtype: 'float32', dims: [ids.length, kvHeads, 0, HEAD_DIM], data: new Float32Array(0) };
  return f;
}

async function run(model: Model, f: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const s = await Session.create(model);
  try {
    return await s.run(f);
  } finally {
    await s.release();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const IDS = [[3, 17, 9, 31, 2, 25]];
const POS = [[0, 1, 2, 3, 4, 5]];

/**
 * The builder's weights (std 0.02) give near-uniform attention, where position effects hide below
 * float32 noise: scale the query and key projections up so attention is sharp and every check sees it.
 */
function sharpened(model: Model): Model {
  for (const [name, t] of model.graph.initializers)
    if (/\.(q|k)_proj\.weight$/.test(name)) model.graph.initializers.set(name, { ...t, data: (t.data as Float32Array).map((x) => x * 40) });
  return model;
}

describe('buildLlama', () => {
  const model = sharpened(buildLlama(SHAPE, 7));

  it('decodes with its KV cache exactly as the full forward computes the same positions', async () => {
    const full = (await run(model, feeds(IDS, POS, 0))).logits!;
    const prefix = await run(model, feeds([IDS[0]!.slice(0, 4)], [POS[0]!.slice(0, 4)], 0));
    const step = await run(model, feeds([IDS[0]!.slice(4)], [POS[0]!.slice(4)], 4, SHAPE.numKvHeads, prefix));
    const tail = (full.data as Float32Array).slice(4 * SHAPE.vocabSize);
    expect(step['present.0.key']!.dims).toEqual([1, SHAPE.numKvHeads, 6, HEAD_DIM]);
    expect(maxAbsDiff(step.logits!.data as Float32Array, tail)).toBeLessThan(1e-5);
  });

  it('sees relative positions only: shifting position_ids leaves the logits unchanged', async () => {
    const base = (await run(model, feeds(IDS, POS, 0))).logits!.data as Float32Array;
    const shifted = (await run(model, feeds(IDS, [POS[0]!.map((p) => p + 11)], 0))).logits!.data as Float32Array;
    expect(maxAbsDiff(base, shifted)).toBeLessThan(1e-4);
    // ... while reordering positions (not a shift) does change them: the rotation is really applied.
    const swapped = (await run(model, feeds(IDS, [[0, 1, 2, 3, 5, 4]], 0))).logits!.data as Float32Array;
    expect(maxAbsDiff(base, swapped)).toBeGreaterThan(1e-2);
  });

  it('shares each key/value head among numHeads / numKvHeads query heads (repeat_kv)', async () => {
    const mha = buildLlama({ ...SHAPE, numKvHeads: SHAPE.numHeads }, 99); // every weight replaced below
    const rep = SHAPE.numHeads / SHAPE.numKvHeads;
    for (const [name, t] of model.graph.initializers) {
      const target = mha.graph.initializers.get(name);
      if (!target || !name.startsWith('model.')) continue;
      if (!/\.(k|v)_proj\./.test(name)) {
        mha.graph.initializers.set(name, t);
        continue;
      }
      // Query head h reads key/value head floor(h / rep): copy that head's columns (weight rows stay [in, out]).
      const src = t.data as Float32Array;
      const dst = new Float32Array(target.data.length);
      const rows = t.dims.length === 2 ? t.dims[0]! : 1;
      const [srcCols, dstCols] = [SHAPE.numKvHeads * HEAD_DIM, SHAPE.numHeads * HEAD_DIM];
      for (let r = 0; r < rows; r++)
        for (let h = 0; h < SHAPE.numHeads; h++)
          for (let d = 0; d < HEAD_DIM; d++) dst[r * dstCols + h * HEAD_DIM + d] = src[r * srcCols + Math.floor(h / rep) * HEAD_DIM + d]!;
      mha.graph.initializers.set(name, { ...target, data: dst });
    }
    const gqa = (await run(model, feeds(IDS, POS, 0))).logits!.data as Float32Array;
    const copied = (await run(mha, feeds(IDS, POS, 0, SHAPE.numHeads))).logits!.data as Float32Array;
    expect(maxAbsDiff(gqa, copied)).toBeLessThan(1e-5);
  });

  it('has gradients through RMSNorm, rotary, GQA and the SiLU MLP that agree with finite differences', async () => {
    // The builder's own weights: the sharpened model is too curved for a float32 central difference.
    const forward = stripKvCache(buildLlama(SHAPE, 7)).model;
    forward.graph.outputs = forward.graph.outputs.filter((o) => o.name === 'logits');
    const wrt = ['model.layers.0.input_layernorm.weight', 'model.layers.0.self_attn.k_proj.weight', 'model.layers.1.self_attn.q_proj.bias', 'model.layers.1.mlp.gate_proj.weight', 'model.embed_tokens.weight'];
    const f = feeds(IDS, POS, 0);
    const result = await checkGradients(forward, { wrt, feeds: { input_ids: f.input_ids!, attention_mask: f.attention_mask!, position_ids: f.position_ids! }, directions: 2, coordinates: 3 });
    expect(result.failures).toEqual([]);
    expect(result.ok).toBe(true);
  });
});
