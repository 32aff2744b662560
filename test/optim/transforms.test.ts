// The composition contract itself: transformations chained by hand, the optax way.

import { describe, expect, it } from 'vitest';
import { applyUpdates, chain, clipByGlobalNorm, clipCoordinates, heapAllocator, scaleByAdam, scaleByLearningRate, trace, type Param } from '../../src/optim/index.js';

function stepChain(t: ReturnType<typeof chain>, params: Param[], grads: number[][]): void {
  const state = t.init(params, heapAllocator);
  for (const g of grads) {
    const updates = g.map((x) => Float32Array.of(x));
    t.update(updates, state, { params, grads: updates.map((u) => u.slice()), stateOf: () => undefined });
    applyUpdates(params, updates);
  }
}

describe('chain', () => {
  it('coordinate-wise clipping before SGD momentum ("Toward Understanding Why Adam Converges Faster Than SGD")', () => {
    // g = 5 is clipped to 0.5, g = -0.2 passes; momentum 0.9 (first buffer = g), lr 0.1:
    // t=1: buf = 0.5, p = 1 - 0.05 = 0.95; t=2: buf = 0.45 - 0.2 = 0.25, p = 0.95 - 0.025 = 0.925.
    const p: Param = { name: 'x', dims: [1], data: Float32Array.of(1) };
    stepChain(chain(clipCoordinates(0.5), trace(0.9), scaleByLearningRate(0.1)), [p], [[5], [-0.2]]);
    expect(p.data[0]).toBeCloseTo(0.925, 6);
  });
  it('global-norm clipping rescales all updates jointly', () => {
    // ||(3, 4)|| = 5 > 1: updates become (0.6, 0.8); lr 1: p = (1 - 0.6, 1 - 0.8).
    const a: Param = { name: 'a', dims: [1], data: Float32Array.of(1) };
    const b: Param = { name: 'b', dims: [1], data: Float32Array.of(1) };
    const t = chain(clipByGlobalNorm(1), scaleByLearningRate(1));
    const state = t.init([a, b], heapAllocator);
    const u = [Float32Array.of(3), Float32Array.of(4)];
    t.update(u, state, { params: [a, b], grads: u, stateOf: () => undefined });
    applyUpdates([a, b], u);
    expect(a.data[0]).toBeCloseTo(0.4, 6);
    expect(b.data[0]).toBeCloseTo(0.2, 6);
  });
  it('a hand-built chain equals the registry preset (adamw = scaleByAdam, addDecayedWeights, lr)', () => {
    const p: Param = { name: 'x', dims: [1], data: Float32Array.of(1) };
    stepChain(chain(scaleByAdam(0.9, 0.999, 1e-8), scaleByLearningRate(0.1)), [p], [[0.1], [0.3], [-0.2]]);
    // Same as Adam's hand-worked entry 0 in adam-family.test.ts.
    expect(p.data[0]).toBeCloseTo(0.782431523, 6);
  });
});
