// 8-bit Adam tracks 32-bit Adam: same hyperparameters on the standard problems (state quantized
// even for these tiny tensors via minQuantizedSize 1) and on a 8192-dimensional quadratic where the
// default rules apply (blocks of 256, tensors >= 4096 elements quantized); state about 2 bytes/param.

import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/random.js';
import { createOptimizer, quantize, quantizeKeepSign, SIGNED_MAP, lookupTableOf, type Param } from '../../src/optim/index.js';
import { preferenceLogistic, quadratic, rosenbrock, type Problem } from './problems.js';

function trajectory(problem: Problem, name: string, hyper: Record<string, unknown>, steps: number) {
  const params = problem.init();
  const opt = createOptimizer(name, { weightDecay: 0, ...hyper });
  const losses: number[] = [];
  for (let t = 0; t < steps; t++) {
    opt.step(params, problem.grad(params));
    losses.push(problem.loss(params));
  }
  return { params, losses, bytes: opt.stateBytesPerParam() };
}

/** Largest gap between the two loss curves, relative to the starting loss. */
function gap(a: number[], b: number[], f0: number): number {
  return Math.max(...a.map((x, i) => Math.abs(x - b[i]!))) / f0;
}

describe('8-bit Adam tracks 32-bit Adam', () => {
  const cases: [Problem, Record<string, unknown>, number, number][] = [
    [quadratic(), { lr: 0.05 }, 600, 0.02],
    [rosenbrock(), { lr: 0.02 }, 2000, 0.02],
    [preferenceLogistic(), { lr: 0.05 }, 300, 0.002],
  ];
  it.each(cases)('%s', (problem, hyper, steps, tolerance) => {
    const f0 = problem.loss(problem.init());
    const full = trajectory(problem, 'adam', hyper, steps);
    const q8 = trajectory(problem, 'adam8bit', { ...hyper, minQuantizedSize: 1 }, steps);
    expect(gap(full.losses, q8.losses, f0)).toBeLessThan(tolerance);
    expect(q8.losses.at(-1)!).toBeLessThan(full.losses.at(-1)! + tolerance * f0);
  });

  it('on a 8192-dim quadratic with default blocks the curves stay within 1% and the state is ~2 bytes/param', () => {
    const rnd = mulberry32(11).next;
    const n = 8192;
    const lambda = Float32Array.from({ length: n }, () => 10 ** (2 * rnd()));
    const problem: Problem = {
      name: 'quadratic 8192',
      init: (): Param[] => [{ name: 'x', dims: [n], data: Float32Array.from({ length: n }, () => rnd() * 2 - 1) }],
      loss: (p) => p[0]!.data.reduce((s, x, i) => s + (lambda[i]! * x * x) / 2, 0),
      grad: (p) => new Map([['x', Float32Array.from(p[0]!.data, (x, i) => lambda[i]! * x)]]),
    };
    const seedInit = problem.init;
    let fixed: Float32Array | undefined;
    problem.init = () => {
      const p = seedInit();
      fixed ??= p[0]!.data.slice();
      p[0]!.data.set(fixed);
      return p;
    };
    const f0 = problem.loss(problem.init());
    const full = trajectory(problem, 'adam', { lr: 0.02 }, 200);
    const q8 = trajectory(problem, 'adam8bit', { lr: 0.02 }, 200);
    expect(gap(full.losses, q8.losses, f0)).toBeLessThan(0.01);
    expect(q8.losses.at(-1)!).toBeLessThan(f0 / 100);
    // two uint8 codes per element + two float32 absmax per 256-element block = 2 + 8/256 bytes.
    expect(q8.bytes).toBeCloseTo(2 + 8 / 256, 6);
    expect(full.bytes).toBe(8);
  });
});

describe('8-bit Adam as the bitsandbytes kernels compute it', () => {
  it('regression: a tiny negative first moment keeps its sign (code 126, not the code of 0)', () => {
    const lut = lookupTableOf(SIGNED_MAP);
    // kOptimizerStatic8bit2StateBlockwise: when the nearest code's sign bit differs from the value's, step one code
    // towards the value's sign. -1e-9 (relative to its block's absmax) is nearest to 0 (code 127) -> 126 = -5.5e-7.
    expect(quantize(-1e-9, SIGNED_MAP, lut)).toBe(127);
    expect(quantizeKeepSign(-1e-9, SIGNED_MAP, lut)).toBe(126);
    expect(SIGNED_MAP[126]).toBeLessThan(0);
    // A tiny positive value rounds to +0, whose sign bit agrees: it stays at the code of 0.
    expect(quantizeKeepSign(1e-9, SIGNED_MAP, lut)).toBe(127);
    expect(quantizeKeepSign(-0, SIGNED_MAP, lut)).toBe(126);
    expect(quantizeKeepSign(0, SIGNED_MAP, lut)).toBe(127);
    expect(quantizeKeepSign(-0.5, SIGNED_MAP, lut)).toBe(quantize(-0.5, SIGNED_MAP, lut));
  });

  it('regression: adam8bit and adamw8bit both decay the updated parameter, p = (p - lr u)(1 - lr wd), not an L2 term', () => {
    // p = [2], g = [0.5], lr 0.1, wd 0.2, one step: u = sign(g) = 1 (m^ = g, v^ = g^2), so p = (2 - 0.1)(1 - 0.02) = 1.862.
    // (An L2 term gave the same sign step, 1.9; decaying the pre-step p gave 2 - 0.1 - 0.04 = 1.86.)
    for (const name of ['adam8bit', 'adamw8bit']) {
      const p: Param = { name: 'p', dims: [1], data: Float32Array.of(2) };
      createOptimizer(name, { lr: 0.1, weightDecay: 0.2 }).step([p], { p: Float32Array.of(0.5) });
      expect(p.data[0], name).toBeCloseTo(1.862, 6);
    }
  });

  it('percentileClipping scales a gradient whose norm exceeds the percentile of the last 100 norms', () => {
    // percentile 5: at step 1 all 100 slots hold ||g1||^2 = 1, so nothing is clipped; at step 2 slot 2 holds
    // ||g2||^2 = 100 and the 6th smallest of the 100 is still 1: g2 is scaled to norm 1.
    const p: Param = { name: 'p', dims: [2], data: Float32Array.of(0, 0) };
    const clipped = createOptimizer('adam8bit', { lr: 0.1, percentileClipping: 5, betas: [0, 0.999] });
    const plain = createOptimizer('adam8bit', { lr: 0.1, betas: [0, 0.999] });
    const q: Param = { name: 'p', dims: [2], data: Float32Array.of(0, 0) };
    for (const g of [[0.6, 0.8], [6, 8]]) {
      clipped.step([p], { p: Float32Array.from(g) });
      plain.step([q], { p: Float32Array.from(g) });
    }
    // With b1 = 0 the step is g / sqrt(v^): v from g1 = [0.6, 0.8] and g2 scaled to [0.6, 0.8] (clipped) or [6, 8].
    const step2 = (g2: number, g1: number) => g2 / Math.sqrt((0.999 * 0.001 * g1 * g1 + 0.001 * g2 * g2) / (1 - 0.999 ** 2));
    expect(p.data[0]).toBeCloseTo(-0.1 - 0.1 * step2(0.6, 0.6), 5);
    expect(q.data[0]).toBeCloseTo(-0.1 - 0.1 * step2(6, 0.6), 5);
  });
});
