// Sophia, AdaHessian and SOAP: hand-worked steps, the Hessian request interface, and the
// finite-difference Hessian estimators on analytic problems whose gradient is a TS closure.

import { describe, expect, it } from 'vitest';
import { createOptimizer, gaussNewtonBartlett, hutchinsonDiag, mergeDimensions, averagingBlock, type Param } from '../../src/optim/index.js';
import { closeAll, handRun } from './helpers.js';

describe('Sophia', () => {
  it('takes sign steps until the first Hessian refresh, then clip(m / max(gamma h, eps), 1)', () => {
    // b1 0.965, b2 0.99, gamma 0.01, k 2, lr 0.1; h_est = [2, 500] when asked (before steps 3, 5, ...).
    // t=1, 2: h = 0, m / 1e-12 is huge: clipped to sign(m): p = [0.9, -1.9], then [0.8, -1.8].
    // t=3: h = 0.01 * [2, 500] = [0.02, 5]; m = [0.0063919, 0.0108592] (m1 = 0.035 g1, m2 = 0.965 m1 + 0.035 g2, ...);
    //   m0 / (0.01*0.02) = 31.96 -> 1; m1 / (0.01*5) = 0.21718: p = [0.8 - 0.1, -1.8 - 0.021718] = [0.7, -1.821718].
    const asked: number[] = [];
    const run = handRun('sophia', { lr: 0.1, weightDecay: 0, hessianInterval: 2 }, {
      hessian: (params) => {
        asked.push(params.length);
        return { p: Float32Array.of(2, 500) };
      },
    });
    closeAll(run, [[0.9, -1.9], [0.8, -1.8], [0.7, -1.82171785]]);
    expect(asked).toEqual([1]);
  });
  it('needsHessian() tells the training loop when to supply an estimate (steps k+1, 2k+1, ...)', () => {
    const opt = createOptimizer('sophia', { hessianInterval: 3 });
    const p: Param = { name: 'p', dims: [1], data: Float32Array.of(1) };
    const asks: boolean[] = [];
    for (let t = 1; t <= 7; t++) {
      asks.push(opt.needsHessian());
      opt.step([p], { p: Float32Array.of(0.1) }, opt.needsHessian() ? { hessianDiag: { p: Float32Array.of(1) } } : {});
    }
    expect(asks).toEqual([false, false, false, true, false, false, true]);
    expect(() => opt.step([p], { p: Float32Array.of(0.1) }, {})).not.toThrow();
    const needy = createOptimizer('adahessian');
    expect(() => needy.step([p], { p: Float32Array.of(0.1) })).toThrow(/needs a Hessian estimate at step 1/);
  });
});

describe('AdaHessian', () => {
  it('reproduces three hand-worked steps with given Hutchinson diagonals', () => {
    // D1 = [2, -3], D2 = [1, 4], D3 = [0.5, 2]; eps 1e-4, lr 0.1.
    // t=1: m = 0.1 g, v = 0.001 D^2: u = g / (|D| + 1e-4) = [0.1/2.0001, -0.2/3.0001], p = [0.99500025, -1.99333356].
    const D = [[2, -3], [1, 4], [0.5, 2]];
    const run = handRun('adahessian', { lr: 0.1 }, {}, (t) => ({ hessianDiag: { p: Float32Array.from(D[t - 1]!) } }));
    closeAll(run, [[0.99500025, -1.99333356], [0.982017141, -1.99214276], [0.977803951, -1.9960358]]);
  });
});

describe('AdaHessian spatial averaging (instruction/adahessian.py)', () => {
  it('regression: a 2-D parameter averages |D| over each row', () => {
    // 2x2 parameter, D = [1, 4, 9, 16], g = 1, lr 0.1: row means of |D| are [2.5, 2.5, 12.5, 12.5], the first step is
    // lr g / (mean + eps) = [-0.04, -0.04, -0.008, -0.008] (eps 1e-4: -0.039998, -0.0079999). Averaging only 4-D
    // kernels gave [-0.1, -0.025, -0.0111, -0.00625].
    const p: Param = { name: 'w', dims: [2, 2], data: new Float32Array(4) };
    createOptimizer('adahessian', { lr: 0.1 }).step([p], { w: new Float32Array(4).fill(1) }, { hessianDiag: { w: Float32Array.of(1, 4, 9, 16) } });
    closeAll([Array.from(p.data)], [[-0.1 / 2.5001, -0.1 / 2.5001, -0.1 / 12.5001, -0.1 / 12.5001]]);
  });
  it('averages the last dimension of a 3-D tensor and the last two of a 4-D one; block sizes override', () => {
    expect(averagingBlock([5], [-1, -1, -1, -1])).toBe(1);
    expect(averagingBlock([5, 6], [-1, -1, -1, -1])).toBe(6);
    expect(averagingBlock([4, 4, 3], [-1, -1, -1, -1])).toBe(3);
    expect(averagingBlock([2, 3, 5, 5], [-1, -1, -1, -1])).toBe(25);
    expect(averagingBlock([5, 6], [-1, 3, -1, -1])).toBe(3);
    expect(() => averagingBlock([5, 6], [-1, 4, -1, -1], 'w')).toThrow(/positive divisor of "w"/);
    expect(() => averagingBlock([1, 1, 1, 1, 2], [-1, -1, -1, -1], 'w5')).toThrow(/rank 5/);
  });
});

describe('Hessian estimators from a gradient closure', () => {
  // f(x) = sum_i c_i x_i^2 / 2 + a x0 x1: H = diag(c) plus a in the (0,1) and (1,0) places.
  const c = [1, 4, 9, 16];
  const a = 0.5;
  const grad = (params: Param[]) => {
    const x = params[0]!.data;
    return { x: Float32Array.from(x, (xi, i) => c[i]! * xi + (i === 0 ? a * x[1]! : i === 1 ? a * x[0]! : 0)) };
  };
  it('Hutchinson z * (H z) by central differences is unbiased for diag(H) and restores the parameters', () => {
    const params: Param[] = [{ name: 'x', dims: [4], data: Float32Array.of(0.3, -0.2, 0.1, 0.5) }];
    const est = hutchinsonDiag(grad, { delta: 1e-2, seed: 1 });
    const mean = new Float64Array(4);
    const draws = 2000;
    for (let k = 0; k < draws; k++) est(params).get('x')!.forEach((d, i) => (mean[i]! += d / draws));
    // Coordinates 2 and 3 have no off-diagonal terms: every draw is exact (z_i^2 = 1).
    expect(mean[2]).toBeCloseTo(9, 3);
    expect(mean[3]).toBeCloseTo(16, 3);
    // Coordinates 0 and 1 carry noise a * z0 * z1 of mean 0: the average over 2000 draws is within 4 standard errors.
    expect(Math.abs(mean[0]! - 1)).toBeLessThan((4 * a) / Math.sqrt(draws));
    expect(Math.abs(mean[1]! - 4)).toBeLessThan((4 * a) / Math.sqrt(draws));
    expect(Array.from(params[0]!.data)).toEqual(Array.from(Float32Array.of(0.3, -0.2, 0.1, 0.5)));
  });
  it('Gauss-Newton-Bartlett is B * g_hat^2', () => {
    const params: Param[] = [{ name: 'x', dims: [2], data: Float32Array.of(1, 2) }];
    const gnb = gaussNewtonBartlett(() => ({ x: Float32Array.of(0.5, -0.25) }), 8);
    expect(Array.from(gnb(params).get('x')!)).toEqual([2, 0.5]);
  });
  it('Sophia and AdaHessian with the Hutchinson estimator minimise the ill-conditioned quadratic', () => {
    for (const [name, hyper, steps] of [['sophia', { lr: 0.05, weightDecay: 0, hessianInterval: 2, gamma: 0.05 }, 300], ['adahessian', { lr: 0.3 }, 300]] as const) {
      const params: Param[] = [{ name: 'x', dims: [4], data: Float32Array.of(1, -1, 1, -1) }];
      const opt = createOptimizer(name, hyper, { hessian: hutchinsonDiag(grad, { seed: 2 }) });
      for (let t = 0; t < steps; t++) opt.step(params, grad(params));
      expect(Math.max(...Array.from(params[0]!.data, Math.abs)), name).toBeLessThan(0.05);
    }
  });
});

describe('SOAP', () => {
  const P = [1, 0.5, 0.5, -1];
  const G = [[0.1, -0.21, 0.2, 0.09], [0.3, 0.1, -0.1, 0.2], [-0.05, 0.1, 0.1, 0.05], [0.2, 0.2, 0.1, -0.3]];
  it('makes no update at step 1, then Adam in the eigenbasis of L and R, refreshing it every f steps', () => {
    // Step 1 only sets L = 0.05 G G^T, R = 0.05 G^T G and their eigenvectors Q_L, Q_R (descending).
    // Step 2 (Adam step 1): G' = Q_L^T G Q_R, m = 0.05 G', v = 0.05 G'^2, the step Q_L (m/(sqrt v + eps)) Q_R^T
    //   times sqrt(1-0.95)/(1-0.95) = 4.4721 is 4.4721 * Q_L sign(G') Q_R^T. Step 3 refreshes the bases (f = 2),
    //   rotating m into the new basis. Values from an independent numpy evaluation (numpy.linalg.eigh / qr).
    const p: Param = { name: 'w', dims: [2, 2], data: Float32Array.from(P) };
    const opt = createOptimizer('soap', { lr: 0.1, weightDecay: 0, precondFrequency: 2 });
    const out = G.map((g) => {
      opt.step([p], { w: Float32Array.from(g) });
      return Array.from(p.data);
    });
    closeAll(out, [
      [1, 0.5, 0.5, -1],
      [0.838558356, 0.528664531, 0.612756608, -1.0200205],
      [0.798511342, 0.46968461, 0.591811485, -1.11198182],
      [0.754745692, 0.37475626, 0.570093866, -1.1069855],
    ], 5);
  });
  it('leaves a dimension longer than maxPrecondDim unrotated (no factor state for it)', () => {
    const p: Param = { name: 'w', dims: [6, 2], data: new Float32Array(12).fill(0.5) };
    const opt = createOptimizer('soap', { maxPrecondDim: 4 });
    opt.step([p], { w: new Float32Array(12).fill(0.1) });
    const keys = [...opt.state().keys()].filter((k) => k.includes('scaleBySoap/w/'));
    expect(keys.map((k) => k.split('/').pop()).sort()).toEqual(['GG1', 'Q1', 'm', 'v']);
  });
  it('regression: a [4, 4, 3] tensor gets one factor per dimension (4x4, 4x4, 3x3), not [4, 12] folded', () => {
    const p: Param = { name: 'w', dims: [4, 4, 3], data: new Float32Array(48).fill(0.5) };
    const opt = createOptimizer('soap', { maxPrecondDim: 8 });
    opt.step([p], { w: Float32Array.from({ length: 48 }, (_, i) => Math.sin(i)) });
    const st = opt.state();
    const size = (slot: string) => st.get([...st.keys()].find((k) => k.endsWith(`scaleBySoap/w/${slot}`))!)?.data.length;
    expect([size('Q0'), size('Q1'), size('Q2')]).toEqual([16, 16, 9]);
  });
  it('mergeDims merges consecutive dimensions while the product fits maxPrecondDim (soap.py merge_dims)', () => {
    expect(mergeDimensions([4, 4, 3], 8)).toEqual([4, 4, 3]);
    expect(mergeDimensions([4, 4, 3], 12)).toEqual([4, 12]);
    expect(mergeDimensions([2, 3, 8], 6)).toEqual([6, 8]);
    expect(mergeDimensions([20, 30], 10)).toEqual([20, 30]);
  });
});

describe('SOAP weight decay', () => {
  it('the first step changes nothing, not even by weight decay (as the official code)', () => {
    const p: Param = { name: 'w', dims: [2, 2], data: Float32Array.of(1, 0.5, 0.5, -1) };
    const opt = createOptimizer('soap', { lr: 0.1, weightDecay: 0.5 });
    opt.step([p], { w: Float32Array.of(0.1, -0.21, 0.2, 0.09) });
    expect(Array.from(p.data)).toEqual([1, 0.5, 0.5, -1]);
    opt.step([p], { w: Float32Array.of(0.3, 0.1, -0.1, 0.2) });
    expect(p.data[0]).not.toBe(1);
  });
});
