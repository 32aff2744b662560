// The inference-only rewrites (issue 13): attention fused into onnxruntime's MultiHeadAttention
// (fused-attention.ts), a classifier's pooled tail computed for the pooled position alone
// (pooled-tail.ts), and tanh GELUs and attention biases fused (fused-elementwise.ts) give the plain
// graph's outputs, on real sessions over the fixture models.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Session, loadModel, type Tensor } from '../../../src/graph/index.js';
import { fuseAttention, fuseElementwise, poolBeforeTail } from '../../../src/graph/rewrites/index.js';
import { SequenceClassifier } from '../../../src/models/index.js';

const LM = path.resolve('data/models/tiny-gpt2/onnx/model.onnx');
const RM = path.resolve('data/models/tiny-gpt2-rm/onnx/model.onnx');
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);
const i64 = (rows: number[][]): Tensor => ({ dtype: 'int64', dims: [rows.length, rows[0]!.length], data: BigInt64Array.from(rows.flat().map(BigInt)) });
const count = (nodes: { opType: string }[], op: string) => nodes.filter((n) => n.opType === op).length;

/** Right-padded rows of different lengths (pad id 1 after the real tokens, mask 0 there). */
function rightPadded(lengths: number[], T: number) {
  const ids = lengths.map((n, b) => Array.from({ length: T }, (_, t) => (t < n ? 5 + ((b * 37 + t * 11) % 400) : 1)));
  const mask = lengths.map((n) => Array.from({ length: T }, (_, t) => (t < n ? 1 : 0)));
  return { input_ids: i64(ids), attention_mask: i64(mask) };
}

describe('fuseAttention', () => {
  it('replaces each layer attention with one MultiHeadAttention and keeps logits and presents, with a past and left padding', async () => {
    const source = loadModel(LM);
    const fused = fuseAttention(source)!;
    const layers = count(source.graph.nodes, 'Softmax');
    expect(count(fused.graph.nodes, 'MultiHeadAttention')).toBe(layers);
    expect(count(fused.graph.nodes, 'Softmax')).toBe(0);
    const [plain, rewritten] = [await Session.create(source), await Session.create(fused)];
    // A 3-token past whose first slot is padding in row 1, then 2 new tokens per row.
    const B = 2, H = 4, D = 8, P = 3;
    const past: Record<string, Tensor> = {};
    for (const v of source.graph.inputs.filter((x) => x.name.startsWith('past_key_values.')))
      past[v.name] = { dtype: 'float32', dims: [B, H, P, D], data: Float32Array.from({ length: B * H * P * D }, (_, i) => Math.sin(i * 0.37) * 0.5) };
    const feeds = { input_ids: i64([[7, 9], [4, 2]]), attention_mask: i64([[1, 1, 1, 1, 1], [0, 1, 1, 1, 1]]), position_ids: i64([[3, 4], [2, 3]]), ...past };
    const [a, b] = [await plain.run(feeds), await rewritten.run(feeds)];
    for (const name of plain.outputNames) {
      expect(b[name]!.dims, name).toEqual(a[name]!.dims);
      expect(maxAbsDiff(a[name]!.data as Float32Array, b[name]!.data as Float32Array), name).toBeLessThan(1e-5);
    }
  });

  it('leaves graphs without a causal, mask-built attention alone', () => {
    expect(fuseAttention(loadModel(path.resolve('data/models/tiny-bert-rm-multi/onnx/model.onnx')))).toBeUndefined();
  });
});

describe('poolBeforeTail', () => {
  it('scores right-padded rows of different lengths as the plain graph does, the last block run at the pooled position only', async () => {
    const source = loadModel(RM);
    const fused = fuseAttention(source)!;
    const pooled = poolBeforeTail(fused)!;
    // The last attention now has a pooled twin (one query per row) and the full-length one is gone.
    expect(count(pooled.graph.nodes, 'MultiHeadAttention')).toBe(count(fused.graph.nodes, 'MultiHeadAttention'));
    expect(count(pooled.graph.nodes, 'GatherND')).toBeGreaterThan(0);
    const feeds = rightPadded([12, 3, 9, 1, 12], 12);
    const [plain, rewritten] = [await Session.create(source), await Session.create(pooled)];
    const [a, b] = [(await plain.run(feeds)).logits!, (await rewritten.run(feeds)).logits!];
    expect(b.dims).toEqual(a.dims);
    expect(maxAbsDiff(a.data as Float32Array, b.data as Float32Array)).toBeLessThan(1e-5);
    // Without the fused attention the tail stops at the attention output; still the same scores.
    const unfused = await Session.create(poolBeforeTail(source)!);
    expect(maxAbsDiff(a.data as Float32Array, (await unfused.run(feeds)).logits!.data as Float32Array)).toBeLessThan(1e-5);
  });

  it('leaves graphs that do not pool a row per sequence alone', () => {
    expect(poolBeforeTail(loadModel(LM))).toBeUndefined();
  });

  it('is what SequenceClassifier.load runs, with the file-graph scores', async () => {
    const rm = await SequenceClassifier.load(path.dirname(path.dirname(RM)));
    expect(rm.session.source).toMatch(/^<model/);
    const rows = [[5, 6, 7, 8, 9, 10], [11, 12], [13, 14, 15]];
    const scores = await rm.scoreIds(rows);
    const plain = await Session.create(RM);
    for (const [i, row] of rows.entries()) {
      const out = await plain.run({ input_ids: i64([row]), attention_mask: i64([row.map(() => 1)]) });
      expect(scores[i]![0]).toBeCloseTo((out.logits!.data as Float32Array)[0]!, 5);
    }
  });
});

describe('fuseElementwise', () => {
  const scalarsNear = (model: ReturnType<typeof loadModel>, value: number) =>
    [...model.graph.initializers.values()].filter((t) => t.data.length === 1 && Math.abs(Number(t.data[0]) - value) < 1e-6);

  it('fuses each layer GELU into FastGelu and the QKV bias into the attention, with the scoring graph scores', async () => {
    const source = loadModel(RM);
    const pooled = poolBeforeTail(fuseAttention(source)!)!;
    const fused = fuseElementwise(pooled)!;
    expect(count(fused.graph.nodes, 'FastGelu')).toBe(count(pooled.graph.nodes, 'Tanh'));
    expect(count(fused.graph.nodes, 'Tanh')).toBe(0);
    // The full-length attentions take their bias; the pooled one reads a gathered query and keeps the Add.
    expect(fused.graph.nodes.filter((n) => n.opType === 'MultiHeadAttention' && n.inputs[3]).length).toBe(count(pooled.graph.nodes, 'MultiHeadAttention') - 1);
    expect(fused.graph.nodes.length).toBeLessThan(pooled.graph.nodes.length);
    const feeds = rightPadded([12, 3, 9, 1, 12], 12);
    const [a, b] = [(await (await Session.create(source)).run(feeds)).logits!, (await (await Session.create(fused)).run(feeds)).logits!];
    expect(maxAbsDiff(a.data as Float32Array, b.data as Float32Array)).toBeLessThan(1e-5);
  });

  it('fuses a decoder with a past and keeps its logits and presents', async () => {
    const source = loadModel(LM);
    const fused = fuseElementwise(source)!;
    expect(count(fused.graph.nodes, 'FastGelu')).toBe(count(source.graph.nodes, 'Tanh'));
    const B = 2, H = 4, D = 8, P = 3;
    const past: Record<string, Tensor> = {};
    for (const v of source.graph.inputs.filter((x) => x.name.startsWith('past_key_values.')))
      past[v.name] = { dtype: 'float32', dims: [B, H, P, D], data: Float32Array.from({ length: B * H * P * D }, (_, i) => Math.cos(i * 0.21) * 0.5) };
    const feeds = { input_ids: i64([[7, 9], [4, 2]]), attention_mask: i64([[1, 1, 1, 1, 1], [0, 1, 1, 1, 1]]), position_ids: i64([[3, 4], [2, 3]]), ...past };
    const [a, b] = [await (await Session.create(source)).run(feeds), await (await Session.create(fused)).run(feeds)];
    for (const name of Object.keys(a)) expect(maxAbsDiff(a[name]!.data as Float32Array, b[name]!.data as Float32Array), name).toBeLessThan(1e-5);
  });

  it('leaves a float16 model alone (the fused CPU kernels are float32 only)', () => {
    const source = loadModel(LM);
    const [name, t] = [...source.graph.initializers].find(([, x]) => x.dtype === 'float32' && x.dims.length === 2)!;
    source.graph.initializers.set(name, { dtype: 'float16', dims: t.dims, data: new Uint16Array(t.data.length) });
    expect(fuseElementwise(source)).toBeUndefined();
  });

  it('leaves an activation alone that is written like GELU but computes something else', () => {
    const source = loadModel(LM);
    const cubic = scalarsNear(source, 0.044715);
    expect(cubic.length).toBeGreaterThan(0);
    expect(fuseElementwise(source)).toBeDefined();
    for (const c of cubic) c.data[0] = 0.05; // no longer gelu_new: evaluated at the sample points, it differs
    expect(fuseElementwise(source)).toBeUndefined();
  });
});
