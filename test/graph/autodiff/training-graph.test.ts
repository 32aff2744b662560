import { describe, expect, it } from 'vitest';
import { GraphBuilder, Session, onnxOpset, type Model, type Node, type Tensor } from '../../../src/graph/index.js';
import { buildTrainingGraph, checkGradients, gradientOf } from '../../../src/graph/autodiff/index.js';
import { isAlignkitError } from '../../../src/errors.js';
import { tinyGpt2 } from './models.js';
import { buildGpt2 } from '../../../src/models/fixtures/index.js';
import { addNextTokenLoss, addTokenLogProbHead, selectTrainable, stripKvCache } from '../../../src/graph/rewrites/index.js';

const f32 = (dims: number[], values: number[]): Tensor => ({ dtype: 'float32', dims, data: Float32Array.from(values) });

function producerOf(model: Model, value: string): Node | undefined {
  return model.graph.nodes.find((n) => n.outputs.includes(value));
}

/** loss = sum((x W + b)^2) with x an input, W and b trainable, s frozen. */
function tinyRegression(): Model {
  const g = new GraphBuilder({ opset: 17 });
  const x = g.input('x', 'float32', ['batch', 2]);
  const w = g.initializer('W', Float32Array.from([1, -1, 0.5, 2, 0, 1]), [2, 3]);
  const b = g.initializer('b', Float32Array.from([0.1, 0.2, 0.3]), [3]);
  const s = g.initializer('s', Float32Array.from([2]), []);
  const y = g.mul(g.add(g.matMul(x, w), b), s);
  g.output(y, 'y', 'float32', ['batch', 3]);
  g.output(g.reduceSum(g.mul(y, y), undefined, false), 'loss', 'float32', []);
  return g.toModel();
}

describe('buildTrainingGraph', () => {
  it('promotes trainables to inputs, keeps frozen initializers, and returns hand-computed gradients in one run', async () => {
    const tg = buildTrainingGraph({ model: tinyRegression(), loss: 'loss', trainable: ['W', 'b'] });
    const graph = tg.model.graph;
    expect(graph.inputs.map((i) => [i.name, i.dims])).toEqual([['x', ['batch', 2]], ['W', [2, 3]], ['b', [3]]]);
    expect(graph.initializers.has('s')).toBe(true);
    expect(graph.initializers.has('W')).toBe(false);
    expect(tg.gradients).toEqual(new Map([['W', 'grad.W'], ['b', 'grad.b']]));
    expect(graph.outputs.map((o) => o.name)).toEqual(['y', 'loss', 'grad.W', 'grad.b']);

    const session = await Session.create(tg.model);
    const xs = [1, 2, -1, 0.5];
    const W = [1, -1, 0.5, 2, 0, 1];
    const bias = [0.1, 0.2, 0.3];
    const out = await session.run({ x: f32([2, 2], xs), W: f32([2, 3], W), b: f32([3], bias) });
    // By hand: y = 2 (x W + b); dL/dy = 2y; dL/d(xW+b) = 4y; dW = x^T (4y); db = column sums of 4y.
    const y = [0, 1].map((r) => [0, 1, 2].map((c) => 2 * (xs[2 * r]! * W[c]! + xs[2 * r + 1]! * W[3 + c]! + bias[c]!)));
    const dW = [0, 1].flatMap((i) => [0, 1, 2].map((c) => xs[i]! * 4 * y[0]![c]! + xs[2 + i]! * 4 * y[1]![c]!));
    const db = [0, 1, 2].map((c) => 4 * (y[0]![c]! + y[1]![c]!));
    expect(Number(out.loss!.data[0])).toBeCloseTo(y.flat().reduce((a, v) => a + v * v, 0), 4);
    [...out['grad.W']!.data].forEach((v, i) => expect(v).toBeCloseTo(dW[i]!, 4));
    [...out['grad.b']!.data].forEach((v, i) => expect(v).toBeCloseTo(db[i]!, 4));
    expect(out['grad.W']!.dims).toEqual([2, 3]);
  });

  it('exposes metrics, drops forward outputs on request, and names gradients with gradName', () => {
    const model = tinyRegression();
    const y = model.graph.outputs[0]!.name;
    const tg = buildTrainingGraph({ model, loss: 'loss', trainable: ['b'], keepOutputs: false, outputs: [y], gradName: (p) => `d_${p}` });
    expect(tg.model.graph.outputs.map((o) => o.name)).toEqual(['loss', y, 'd_b']);
    expect(model.graph.outputs.length).toBe(2); // the caller's model is untouched
    expect(model.graph.initializers.has('b')).toBe(true);
  });

  it('names the parameter when a trainable is not a float initializer', () => {
    const run = (trainable: string[]) => () => buildTrainingGraph({ model: tinyRegression(), loss: 'loss', trainable });
    expect(run(['nope'])).toThrow(/trainable parameter 'nope' is not an initializer/);
    expect(run(['b', 'b'])).toThrow(/listed twice/);
  });

  it('gives a zero gradient to a parameter the loss does not depend on', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const w = g.initializer('w', Float32Array.from([1, 2]), [2]);
    const unused = g.initializer('unused', Float32Array.from([3, 4, 5]), [3]);
    g.output(g.op1('Round', [unused]), 'r', 'float32'); // reaches an output, not the loss
    g.output(g.reduceSum(g.mul(w, w), undefined, false), 'loss', 'float32', []);
    const tg = buildTrainingGraph({ model: g.toModel(), loss: 'loss', trainable: ['w', 'unused'] });
    const out = await (await Session.create(tg.model)).run({ w: f32([2], [1, 2]), unused: f32([3], [3, 4, 5]) });
    expect([...out['grad.w']!.data]).toEqual([2, 4]);
    expect([...out['grad.unused']!.data]).toEqual([0, 0, 0]);
  });

  it('raises opset 14 to 16 for the scatter-add backward and runs', async () => {
    const g = new GraphBuilder({ opset: 14 });
    const ids = g.input('ids', 'int64', [3]);
    const emb = g.initializer('emb', Float32Array.from([1, 2, 3, 4, 5, 6]), [3, 2]);
    g.output(g.reduceSum(g.gather(emb, ids), undefined, false), 'loss', 'float32', []);
    const tg = buildTrainingGraph({ model: g.toModel(), loss: 'loss', trainable: ['emb'] });
    expect(onnxOpset(tg.model)).toBe(16);
    const out = await (await Session.create(tg.model)).run({ ids: { dtype: 'int64', dims: [3], data: BigInt64Array.of(2n, 0n, 2n) }, emb: f32([3, 2], [1, 2, 3, 4, 5, 6]) });
    // Row 2 is gathered twice, row 0 once, row 1 never.
    expect([...out['grad.emb']!.data]).toEqual([1, 1, 0, 0, 2, 2]);
  });
});

describe('gradientOf', () => {
  it('takes a seed gradient input for a non-scalar value (a VJP)', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [2, 2]);
    const w = g.input('w', 'float32', [2, 2]);
    g.output(g.matMul(x, w), 'y', 'float32', [2, 2]);
    const { model, gradients } = gradientOf(g.toModel(), 'y', ['w'], { seed: 'dy' });
    model.graph.outputs.push({ name: gradients.get('w')!, dtype: 'float32' });
    const out = await (await Session.create(model)).run({ x: f32([2, 2], [1, 2, 3, 4]), w: f32([2, 2], [0, 0, 0, 0]), dy: f32([2, 2], [1, 0, 0, 1]) });
    // dW = x^T dy = x^T for dy = I: [[1, 3], [2, 4]].
    expect([...out[gradients.get('w')!]!.data]).toEqual([1, 3, 2, 4]);
  });

  it('refuses a non-scalar value without a seed', () => {
    const model = tinyRegression();
    expect(() => gradientOf(model, model.graph.outputs[0]!.name, ['W'])).toThrow(/not a scalar: pass a seed/);
  });

  it('names the op, its node and the path to the parameter when a rule is missing', () => {
    const g = new GraphBuilder({ opset: 17 });
    const w = g.initializer('w', Float32Array.from([1, 2, 3, 4]), [2, 2]);
    const x = g.input('x', 'float32', [2, 2]);
    const h = g.op1('Elu', [g.matMul(x, w)], {}, { name: 'elu_act' });
    const loss = g.reduceSum(h, undefined, false);
    try {
      gradientOf(g.toModel(), loss, ['w']);
      expect.unreachable();
    } catch (e) {
      expect(isAlignkitError(e) && e.code).toBe('ALIGNKIT_ERR_NO_GRADIENT_RULE');
      expect((e as Error).message).toMatch(/op Elu \(node 'elu_act'\)/);
      expect((e as Error).message).toMatch(/w -> MatMul '[^']+' -> Elu 'elu_act'/);
    }
  });

  it('says which value has an unknown rank when a rule needs it', () => {
    const g = new GraphBuilder({ opset: 17 });
    g.graph.inputs.push({ name: 'x', dtype: 'float32' }); // no dims recorded
    const w = g.initializer('w', Float32Array.from([1, 2, 3, 4]), [2, 2]);
    const loss = g.reduceSum(g.matMul('x', w), undefined, false);
    expect(() => gradientOf(g.toModel(), loss, ['w'])).toThrow(/MatMul node '[^']+': the rank of 'x' could not be inferred/);
  });

  it('reports a node that reads a value nothing provides', () => {
    const g = new GraphBuilder({ opset: 17 });
    const w = g.initializer('w', Float32Array.from([1]), [1]);
    const loss = g.reduceSum(g.mul(w, 'ghost'), undefined, false);
    expect(() => gradientOf(g.toModel(), loss, ['w'])).toThrow(/reads ghost/);
  });

  it('ignores ops without rules off the parameter-to-loss paths (integer sub-graphs, frozen branches)', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const w = g.initializer('w', Float32Array.from([1, 2]), [2]);
    const frozen = g.initializer('frozen', Float32Array.from([5, 7]), [2]);
    const x = g.input('x', 'float32', [2]);
    const offset = g.op1('Elu', [frozen]); // no rule, but no parameter reaches it
    const n = g.cast(g.op1('ArgMax', [g.mul(x, w)], { axis: 0, keepdims: 0 }), 'float32'); // ArgMax: no gradient by design
    const loss = g.reduceSum(g.add(g.mul(g.add(g.mul(x, w), offset), n), g.mul(w, w)), undefined, false);
    const { model, gradients } = gradientOf(g.toModel(), loss, ['w']);
    model.graph.outputs.push({ name: gradients.get('w')!, dtype: 'float32' });
    const out = await (await Session.create(model)).run({ x: f32([2], [1, 3]) });
    // argmax(x*w) = 1, so loss = sum(x*w + offset) + sum(w^2): dL/dw = x + 2w = [3, 7].
    expect([...out[gradients.get('w')!]!.data]).toEqual([3, 7]);
  });
});

describe('emitted forms (DESIGN.md fast forms)', () => {
  const { model, wrt } = tinyGpt2('float32');
  const tg = buildTrainingGraph({ model, loss: 'loss', trainable: wrt });
  const backward = tg.model.graph.nodes.slice(model.graph.nodes.length);

  it('uses a scatter-add backward for cross-entropy, with no OneHot and no zeros under it', () => {
    expect(tg.model.graph.nodes.some((n) => n.opType === 'OneHot')).toBe(false);
    // The embeddings' scatters run along axis 0; the cross-entropy's along the vocabulary.
    const scatters = backward.filter((n) => n.opType === 'ScatterElements' && n.attrs.axis?.value !== 0);
    expect(scatters.length).toBe(1);
    expect(producerOf(tg.model, scatters[0]!.inputs[0]!)?.opType).toBe('Mul'); // -exp(logp) * sum(updates)
  });

  it('accumulates the tied head gradient straight into the embedding scatter', () => {
    const wteGrad = producerOf(tg.model, 'grad.wte')!;
    expect(wteGrad.opType).toBe('ScatterElements');
    expect(wteGrad.attrs.reduction).toEqual({ type: 'string', value: 'add' });
    expect(producerOf(tg.model, wteGrad.inputs[0]!)?.opType).not.toBe('ConstantOfShape');
  });

  it('computes weight gradients with Gemm transA and reuses LayerNormalization statistics', () => {
    const gemmTransA = backward.filter((n) => n.opType === 'Gemm' && n.attrs.transA?.value === 1);
    expect(gemmTransA.length).toBeGreaterThanOrEqual(4 * 2); // attn, proj, fc, fc2 per layer
    const lns = tg.model.graph.nodes.filter((n) => n.opType === 'LayerNormalization');
    for (const ln of lns) expect(ln.outputs.filter(Boolean).length).toBe(3);
    expect(backward.some((n) => n.opType === 'Transpose' && n.inputs[0]!.startsWith('h0.'))).toBe(false);
  });

  it('reduces a trailing bias statically: no Shape-based fallback in a GPT block backward', () => {
    expect(backward.some((n) => n.opType === 'NonZero')).toBe(false);
  });

  it('trains: SGD on the one-run training graph lowers the loss', async () => {
    const session = await Session.create(tg.model);
    const params = new Map(wrt.map((p) => [p, model.graph.initializers.get(p)!]));
    const feeds = () => ({ ...tinyGpt2('float32').feeds, ...Object.fromEntries(params) });
    const losses: number[] = [];
    for (let step = 0; step < 30; step++) {
      const out = await session.run(feeds());
      losses.push(Number(out.loss!.data[0]));
      for (const [p, t] of params) {
        const grad = out[tg.gradients.get(p)!]!.data as Float32Array;
        params.set(p, { ...t, data: (t.data as Float32Array).map((v, i) => v - 0.5 * grad[i]!) });
      }
    }
    expect(losses[29]!).toBeLessThan(losses[0]! * 0.5);
  });
});

describe('checkGradients', () => {
  it('reports a mismatch when the analytic gradient is wrong (Round has none by design, yet its output moves)', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const w = g.initializer('w', Float64Array.from([0.3, 0.7]), [2], 'float64');
    // Round(w * 1e7) / 1e7 tracks w almost exactly, but autodiff treats Round as constant.
    const r = g.div(g.op1('Round', [g.mul(w, g.scalar(1e7, 'float64'))]), g.scalar(1e7, 'float64'));
    g.output(g.add(r, g.mul(w, w)), 'y', 'float64', [2]);
    const result = await checkGradients(g.toModel(), { wrt: ['w'], eps: 1e-3 });
    expect(result.ok).toBe(false);
    expect(result.failures.length).toBeGreaterThan(0);
    expect(result.worstRatio).toBeGreaterThan(1);
  });
});

describe('stop-gradient', () => {
  it('passes the value and blocks its gradient: d/dw [w * sg(w)] = sg(w) = w', async () => {
    const { GraphBuilder: B, Session: S } = await import('../../../src/graph/index.js');
    const { buildTrainingGraph: build } = await import('../../../src/graph/autodiff/index.js');
    const g = new B();
    const w = g.initializer('w', Float32Array.of(3), []);
    g.output(g.mul(w, g.stopGradient(w)), 'y', 'float32', []);
    const t = build({ model: g.toModel(), loss: 'y', trainable: ['w'] });
    const out = await (await S.create(t.model)).run({ w: { dtype: 'float32', dims: [], data: Float32Array.of(3) } });
    expect(out.y!.data[0]).toBe(9);
    expect(out[t.gradients.get('w')!]!.data[0]).toBe(3); // 2w = 6 without the stop
  });
});

describe('GPT-2 gelu_new fused for training', () => {
  const gpt2 = buildGpt2({ vocabSize: 50, nPositions: 8, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 }, { kind: 'lm' }, 3);
  const withLoss = addNextTokenLoss(addTokenLogProbHead(stripKvCache(gpt2).model).model).model;
  const trainable = selectTrainable(gpt2, {});
  const build = (fuseGelu: boolean, outputs: string[] = []) => buildTrainingGraph({ model: withLoss, loss: 'loss', trainable, outputs, fuseGelu });
  const count = (m: Model, op: string) => m.graph.nodes.filter((n) => n.opType === op).length;

  it('turns each block\'s tanh-GELU region into one FastGelu with the same loss and gradients', async () => {
    const [fused, plain] = [build(true), build(false)];
    expect(count(fused.model, 'FastGelu')).toBe(2);
    expect(count(fused.model, 'Tanh')).toBe(0);
    expect(count(plain.model, 'Tanh')).toBe(2);
    expect(fused.model.graph.nodes.length).toBeLessThan(plain.model.graph.nodes.length);
    const ids: Tensor = { dtype: 'int64', dims: [2, 8], data: BigInt64Array.from({ length: 16 }, (_, i) => BigInt((i * 7 + 1) % 50)) };
    const feeds = { input_ids: ids, attention_mask: { ...ids, data: new BigInt64Array(16).fill(1n) }, position_ids: { ...ids, data: BigInt64Array.from({ length: 16 }, (_, i) => BigInt(i % 8)) } };
    const run = async (tg: ReturnType<typeof build>) => {
      const params = Object.fromEntries(trainable.map((p) => [p, gpt2.graph.initializers.get(p)!]));
      return (await Session.create(tg.model)).run({ ...feeds, ...params });
    };
    const [a, b] = [await run(fused), await run(plain)];
    expect(Math.abs(Number(a.loss!.data[0]) - Number(b.loss!.data[0]))).toBeLessThan(1e-6 * Math.abs(Number(b.loss!.data[0])));
    for (const [p, g] of plain.gradients) {
      const [x, y] = [a[fused.gradients.get(p)!]!.data as Float32Array, b[g]!.data as Float32Array];
      const scale = Math.max(...y.map(Math.abs));
      expect(Math.max(...x.map((v, i) => Math.abs(v - y[i]!))), p).toBeLessThan(1e-5 * scale);
    }
  });

  it('leaves a region alone when a value inside it is asked for as an output', () => {
    const inner = build(false).model.graph.nodes.find((n) => n.opType === 'Tanh')!.outputs[0]!;
    const tg = build(true, [inner]);
    expect(count(tg.model, 'FastGelu')).toBe(1);
    expect(tg.model.graph.outputs.some((o) => o.name === inner)).toBe(true);
  });
});
