// Shared fixtures for the optimizer tests: the tiny hand-worked run (p0 = [1, -2] and three fixed
// gradients), seeded Gaussian noise, and a runner that steps a registry optimizer.

import { mulberry32 } from '../../src/random.js';
import { createOptimizer, type OptimizerOptions, type Param, type StepAux } from '../../src/optim/index.js';

export const P0 = [1, -2];
export const GRADS = [
  [0.1, -0.2],
  [0.3, 0.1],
  [-0.2, 0.4],
];

/** Parameters after each of the three hand-worked steps. */
export function handRun(name: string, hyper: Record<string, unknown>, opts: OptimizerOptions = {}, aux: (t: number) => StepAux = () => ({})): number[][] {
  const p: Param = { name: 'p', dims: [2], data: Float32Array.from(P0) };
  const opt = createOptimizer(name, hyper, opts);
  return GRADS.map((g, i) => {
    opt.step([p], { p: Float32Array.from(g) }, aux(i + 1));
    return Array.from(p.data);
  });
}

/** Expect every value within float32 rounding (1e-6 absolute at these magnitudes) of the hand-worked one. */
export function closeAll(actual: number[][], expected: number[][], digits = 6): void {
  actual.forEach((row, i) => row.forEach((x, j) => {
    if (Math.abs(x - expected[i]![j]!) > 10 ** -digits) throw new Error(`step ${i + 1}, entry ${j}: got ${x}, expected ${expected[i]![j]}`);
  }));
}

export function gaussian(seed: number): () => number {
  const rnd = mulberry32(seed).next;
  return () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}
