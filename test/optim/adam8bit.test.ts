// 8-bit Adam tracks 32-bit Adam: same hyperparameters on the standard problems (state quantized
// even for these tiny tensors via minQuantizedSize 1) and on a 8192-dimensional quadratic where the
// default rules apply (blocks of 256, tensors >= 4096 elements quantized); state about 2 bytes/param.

import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/random.js';
import { createOptimizer, type Param } from '../../src/optim/index.js';
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
