import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../src/graph/index.js';
import { createShapeEnv, gradientOf, typeOf } from '../../../src/graph/autodiff/index.js';
import { tinyTorchStyleGpt } from './models.js';

describe('static shape inference', () => {
  it('follows a torch-style Shape -> Gather -> Unsqueeze -> Concat reshape target symbolically', () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', ['batch', 'seq', 8]);
    const shape = g.shape(x);
    const b = g.unsqueeze(g.gather(shape, g.scalar(0, 'int64')), [0]);
    const t = g.unsqueeze(g.gather(shape, g.scalar(1, 'int64')), [0]);
    const heads = g.reshape(x, g.concat([b, t, g.int64s([2, -1])], 0)); // [batch, seq, 2, 4]
    const flat = g.reshape(heads, [-1, 8]); // [batch*seq, 8]
    const back = g.reshape(flat, shape);
    const env = createShapeEnv(g.toModel());
    expect(typeOf(env, heads)?.dims).toEqual(['batch', 'seq', 2, 4]);
    expect(typeOf(env, flat)?.dims).toEqual(['batch*seq', 8]);
    expect(typeOf(env, back)?.dims).toEqual(['batch', 'seq', 8]);
  });

  it('types MatMul, Gemm, reductions, Split, Slice and Range of a symbolic length', () => {
    const g = new GraphBuilder({ opset: 18 });
    const x = g.input('x', 'float32', ['batch', 'seq', 8]);
    const mm = g.matMul(x, g.initializer('w', new Float32Array(8 * 3), [8, 3]));
    const gm = g.gemm(g.input('a', 'float32', [4, 'k']), g.input('c', 'float32', [5, 'k']), undefined, { transB: true });
    const red = g.reduceMean(x, [-1], false);
    const [s1, s2] = g.split(x, [3, 5], -1);
    const sl = g.slice(x, [1], [2 ** 62], [2], [2]);
    const pos = g.range(g.scalar(0, 'int64'), g.squeeze(g.slice(g.shape(x), [1], [2]), [0]), g.scalar(1, 'int64'));
    const env = createShapeEnv(g.toModel());
    expect(typeOf(env, mm)?.dims).toEqual(['batch', 'seq', 3]);
    expect(typeOf(env, gm)?.dims).toEqual([4, 5]);
    expect(typeOf(env, red)?.dims).toEqual(['batch', 'seq']);
    expect([typeOf(env, s1!)?.dims, typeOf(env, s2!)?.dims]).toEqual([['batch', 'seq', 3], ['batch', 'seq', 5]]);
    expect(typeOf(env, sl)?.dims).toEqual(['batch', 'seq', 4]);
    expect(typeOf(env, pos)?.dims).toEqual(['seq']);
  });

  it('keeps additive dims: a concat with an empty past, Range(past, total), unit-step slices', () => {
    const g = new GraphBuilder({ opset: 17 });
    const ids = g.input('ids', 'int64', ['batch', 'seq']);
    const mask = g.input('mask', 'int64', ['batch', 'past + seq']);
    const past = g.input('past', 'float32', ['batch', 0, 4]);
    const x = g.input('x', 'float32', ['batch', 'seq', 4]);
    const total = g.squeeze(g.slice(g.shape(mask), [1], [2]), [0]);
    const start = g.sub(total, g.squeeze(g.slice(g.shape(ids), [1], [2]), [0]));
    const queries = g.range(start, total, g.scalar(1, 'int64'));
    const keys = g.concat([past, x], 1);
    const shifted = g.concat([g.slice(x, [1], [2 ** 62], [1]), g.slice(x, [0], [1], [1])], 1);
    const env = createShapeEnv(g.toModel());
    expect(typeOf(env, queries)?.dims).toEqual(['seq']);
    expect(typeOf(env, keys)?.dims).toEqual(['batch', 'seq', 4]);
    expect(typeOf(env, shifted)?.dims).toEqual(['batch', 'seq', 4]);
  });

  it('reduces a bias gradient with constant axes when the shapes tell (no Shape-based fallback)', () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', ['batch', 'seq', 4]);
    const b = g.initializer('b', new Float32Array(4), [4]);
    const loss = g.reduceSum(g.mul(g.add(x, b), g.add(x, b)), undefined, false);
    const { model } = gradientOf(g.toModel(), loss, ['b']);
    const ops = model.graph.nodes.map((n) => n.opType);
    expect(ops).not.toContain('NonZero');
    const reduce = model.graph.nodes.filter((n) => n.opType === 'ReduceSum').at(-1)!;
    expect([...model.graph.initializers.get(reduce.inputs[1]!)!.data].map(Number)).toEqual([0, 1]);
  });

  it('keeps a torch-style export static end to end (symbolic batch and seq)', () => {
    const c = tinyTorchStyleGpt('float32');
    const { model } = gradientOf(c.model, 'loss', c.wrt);
    expect(model.graph.nodes.map((n) => n.opType)).not.toContain('NonZero');
  });

  it('falls back to run-time axes when symbolic dims cannot be matched', () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', ['n', 'm']);
    const y = g.input('y', 'float32', ['k']);
    const { model } = gradientOf(g.toModel(), g.reduceSum(g.add(x, y), undefined, false), ['y']);
    expect(model.graph.nodes.map((n) => n.opType)).toContain('NonZero');
  });
});
