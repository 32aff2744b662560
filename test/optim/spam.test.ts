// SPAM and Stable-SPAM: hand-worked steps through a spike, a momentum reset and the warmup after it;
// and a 1000x gradient spike on a noisy quadratic at its optimum, where Adam's parameters jump and
// SPAM's and Stable-SPAM's stay bounded.

import { describe, expect, it } from 'vitest';
import { createOptimizer, type Param } from '../../src/optim/index.js';
import { closeAll, gaussian } from './helpers.js';

function run1(name: string, hyper: Record<string, unknown>, grads: number[]): number[][] {
  const p: Param = { name: 'p', dims: [1], data: Float32Array.of(1) };
  const opt = createOptimizer(name, hyper);
  return grads.map((g) => {
    opt.step([p], { p: Float32Array.of(g) });
    return Array.from(p.data);
  });
}

describe('SPAM', () => {
  it('clips a spike against theta v, resets the moments every T steps and warms up after a reset', () => {
    // theta 4, T 3, N 2, clipping from step 2, eps 1e-6, lr 0.1; gradients 0.1, 100 (spike), -0.2, 0.3.
    // t=1: m = 0.01, v = 1e-5; u = (0.01/0.1) sqrt(0.001) / (sqrt(1e-5) + 1e-6) = 0.99968, p = 0.900032.
    // t=2: 100^2 > 4 * 1e-5, so g = sqrt(4e-5) = 0.0063246; m = 0.009 + 0.00063246 = 0.0096325,
    //   v = 0.999e-5 + 0.001 * 4e-5 = 1.003e-5: u = (0.0096325/0.19) sqrt(0.001999)/(0.0031670 + 1e-6) = 0.71549, p = 0.828483.
    // t=3 (3 % 3 == 0): moments reset to 0 first, so m = -0.02, v = 4e-5; the bias correction keeps t = 3:
    //   u = (-0.02/0.271) sqrt(0.002997) / (0.0063246 + 1e-6) = -0.63870; warmup factor 1 - 0.99 (1 + cos 0)/2 = 0.01:
    //   p = 0.828483 + 0.1 * 0.01 * 0.63870 = 0.829122.
    // t=4: warmup factor 1 - 0.99 (1 + cos(pi/3))/2 = 0.2575.
    const out = run1('spam', { lr: 0.1, threshold: 4, resetInterval: 3, warmupSteps: 2, clipWarmupSteps: 2 }, [0.1, 100, -0.2, 0.3]);
    closeAll(out, [[0.900031613], [0.828482833], [0.829121545], [0.824140877]]);
  });
});

describe('Stable-SPAM', () => {
  it('AdaClip scales a spike to the running max, AdaGN rescales the norm; the reset step updates the old moments with bias correction 1', () => {
    // gamma1 0.7, gamma2 0.9, gamma3 0.999, T 3, lr 0.1, p0 = [1, -2]; gradients [0.1, -0.2], [50, 0.1] (spike), [-0.2, 0.4], [0.3, 0.3].
    // t=1: m_max^ = 0.2: nothing above it; AdaGN leaves the norm (m_norm^ / sqrt(v_norm^) = 1); Adam sign step: p = [0.9, -1.9].
    // t=2: m_max^ = (0.999*0.0002 + 0.001*50)/(1 - 0.999^2) = 25.07: 50 -> 25.07; AdaGN rescales the norm.
    // t=3 (reset): the update still runs on the old moments, with bias correction 1 - b^1 (official stablespam.py:
    //   state["exp_avg"] is rebound to zeros while the step keeps its reference to the old tensor); zeros from t=4 on,
    //   whose bias correction counts 2. Expected values from the official StableSPAM in float64 (torch 1.13).
    const p: Param = { name: 'p', dims: [2], data: Float32Array.of(1, -2) };
    const opt = createOptimizer('stable-spam', { lr: 0.1, resetInterval: 3 });
    const grads = [[0.1, -0.2], [50, 0.1], [-0.2, 0.4], [0.3, 0.3]];
    const out = grads.map((g) => {
      opt.step([p], { p: Float32Array.from(g) });
      return Array.from(p.data);
    });
    closeAll(out, [[0.900000002, -1.900000001], [0.802543435, -1.83326504], [0.71537137, -1.812883451], [0.640957691, -1.887297131]]);
  });
});

describe('a 1000x gradient spike at the optimum of a noisy quadratic', () => {
  // f = ||x||^2 / 2 in 8 dims, x0 = 0 (the optimum), gradient x + N(0, 0.01^2) noise, lr 0.01;
  // at step 300 the gradient is multiplied by 1000. Deviation = max |x_i|.
  function deviations(name: string): { before: number; after: number; last: number } {
    const noise = gaussian(1);
    const p: Param = { name: 'x', dims: [8], data: new Float32Array(8) };
    const opt = createOptimizer(name, { lr: 0.01, weightDecay: 0 });
    const dev: number[] = [];
    for (let t = 1; t <= 450; t++) {
      const g = Float32Array.from(p.data, (x) => x + 0.01 * noise());
      if (t === 300) g.forEach((x, i) => (g[i] = 1000 * x));
      opt.step([p], { x: g });
      dev.push(Math.max(...Array.from(p.data, Math.abs)));
    }
    return { before: Math.max(...dev.slice(200, 299)), after: Math.max(...dev.slice(299)), last: dev[dev.length - 1]! };
  }
  const adam = deviations('adam');

  it('Adam\'s parameters jump far out of their noise band and stay out', () => {
    expect(adam.after).toBeGreaterThan(5 * adam.before);
    expect(adam.last).toBeGreaterThan(2 * adam.before);
  });
  it('SPAM (theta 5000) bounds the jump and returns to the noise band', () => {
    const spam = deviations('spam');
    expect(spam.after).toBeLessThan(0.5 * adam.after);
    expect(spam.last).toBeLessThan(adam.before);
  });
  it('Stable-SPAM does not leave its noise band at all', () => {
    const s = deviations('stable-spam');
    expect(s.after).toBeLessThan(1.5 * s.before);
    expect(s.after).toBeLessThan(0.2 * adam.after);
  });
});

describe('SPAM sparse momentum', () => {
  it('keeps moments for a random density-fraction of a matrix, re-drawn at each reset', () => {
    const p: Param = { name: 'w', dims: [8, 8], data: new Float32Array(64).fill(1) };
    const opt = createOptimizer('spam', { lr: 0.01, density: 0.25, resetInterval: 5, warmupSteps: 1, seed: 3 });
    const changed = (before: Float32Array) => Array.from(p.data).flatMap((x, i) => (x !== before[i] ? [i] : []));
    let before = p.data.slice();
    opt.step([p], { w: new Float32Array(64).fill(0.5) });
    const first = changed(before);
    expect(first.length).toBe(16);
    for (let t = 2; t <= 4; t++) {
      before = p.data.slice();
      opt.step([p], { w: new Float32Array(64).fill(0.5) });
      expect(changed(before)).toEqual(first);
    }
    before = p.data.slice();
    opt.step([p], { w: new Float32Array(64).fill(0.5) }); // step 5: reset, new subset
    const second = changed(before);
    expect(second.length).toBe(16);
    expect(second).not.toEqual(first);
    // m and v for 16 of 64 entries (2 bytes/param) plus a uint32 index per kept entry (1 byte/param).
    expect(opt.stateBytesPerParam()).toBeCloseTo(3, 6);
  });
  it('still minimises a quadratic', () => {
    const p: Param = { name: 'w', dims: [8, 8], data: new Float32Array(64).fill(1) };
    const opt = createOptimizer('spam', { lr: 0.05, density: 0.5, resetInterval: 50, warmupSteps: 5 });
    for (let t = 0; t < 1500; t++) opt.step([p], { w: p.data.slice() });
    expect(Math.max(...Array.from(p.data, Math.abs))).toBeLessThan(0.05);
  });
});
