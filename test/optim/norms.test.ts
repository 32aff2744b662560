import { describe, expect, it } from 'vitest';
import { createOptimizer, sumOfSquares, WasmArena } from '../../src/optim/index.js';
import { GradNormProbe } from '../../src/train/run/grad-norm.js';

describe('sumOfSquares', () => {
  it('gives the float64 sum of squares for arrays in an arena (wasm kernel) and on the heap, mixed', () => {
    const arena = new WasmArena(1 << 22, { threads: 1 });
    const a = arena.f32(100_003);
    const b = new Float32Array(7);
    let exact = 0;
    for (let i = 0; i < a.length; i++) {
      a[i] = Math.sin(i) * (1 + (i % 13));
      exact += a[i]! * a[i]!;
    }
    b.set([1, -2, 3, -4, 5, -6, 7]);
    expect(sumOfSquares([b])).toBe(140);
    expect(sumOfSquares([a, b], arena)).toBeCloseTo(exact + 140, 1);
    expect(Math.abs(sumOfSquares([a], arena) - exact) / exact).toBeLessThan(1e-6);
  });

  it('GradNormProbe reports the same norm with the gradients in an arena as on the heap', () => {
    const arena = new WasmArena(1 << 22, { threads: 1 });
    const g = arena.f32(4096);
    for (let i = 0; i < g.length; i++) g[i] = Math.cos(i);
    expect(arena.contains(g)).toBe(true);
    const heap = Float32Array.from(g);
    const norms = [arena, undefined].map((where) => {
      const probe = new GradNormProbe(createOptimizer('sgd', { lr: 0.1 }), 3, where);
      probe.step([{ name: 'w', dims: [4096], data: new Float32Array(4096) }], new Map([['w', where ? g : heap]]));
      return probe.lastNorm;
    });
    expect(norms[0]).toBeCloseTo(norms[1]!, 4);
    expect(norms[1]).toBeCloseTo(Math.sqrt(heap.reduce((s, x) => s + x * x, 0)), 6);
  });
});
