// SGD (momentum, Nesterov), SGD-SaI, Lion and Lion-K, AdamP and SGDP: steps worked by hand from
// each algorithm (p0 = [1, -2], g1 = [0.1, -0.2], g2 = [0.3, 0.1], g3 = [-0.2, 0.4], lr 0.1 unless
// noted; later steps follow the same recurrences, values from a float64 evaluation).

import { describe, expect, it } from 'vitest';
import { createOptimizer, type Param } from '../../src/optim/index.js';
import { closeAll, handRun } from './helpers.js';

describe('SGD (torch.optim.SGD conventions)', () => {
  it('momentum 0.9: the first buffer is the gradient, then buf = 0.9 buf + g', () => {
    // t=1: buf = g, p = [1 - 0.01, -2 + 0.02] = [0.99, -1.98]; t=2: buf0 = 0.09 + 0.3 = 0.39, p0 = 0.99 - 0.039 = 0.951.
    closeAll(handRun('sgd', { lr: 0.1, momentum: 0.9 }), [[0.99, -1.98], [0.951, -1.972], [0.9359, -2.0048]]);
  });
  it('Nesterov steps along g + 0.9 buf', () => {
    // t=1: d = g + 0.9 g = 1.9 g, p0 = 1 - 0.019 = 0.981; t=2: buf0 = 0.39, d0 = 0.3 + 0.351 = 0.651, p0 = 0.981 - 0.0651 = 0.9159.
    closeAll(handRun('sgd', { lr: 0.1, momentum: 0.9, nesterov: true }), [[0.981, -1.962], [0.9159, -1.9648], [0.92231, -2.03432]]);
  });
  it('weight decay is an L2 term: g + wd p before the momentum', () => {
    // t=1: g' = [0.1 + 0.1, -0.2 - 0.2] = [0.2, -0.4], p = [0.98, -1.96].
    closeAll(handRun('sgd', { lr: 0.1, momentum: 0.9, weightDecay: 0.1 }), [[0.98, -1.96], [0.9222, -1.9144], [0.880958, -1.894216]]);
  });
});

describe('Lion (sign of interpolated momentum) and Lion-K', () => {
  it('reproduces three hand-worked steps (b1 0.9, b2 0.99, wd 0.1)', () => {
    // t=1: c = 0.1 g, sign = [1, -1], p = p - 0.1 (sign + 0.1 p) = [1 - 0.11, -2 + 0.12] = [0.89, -1.88]; m = 0.01 g.
    // t=2: c0 = 0.9*0.001 + 0.1*0.3 > 0, c1 = 0.9*(-0.002) + 0.01 > 0: p0 = 0.89 - 0.1 (1 + 0.089) = 0.7811, p1 = -1.88 - 0.1 (1 - 0.188) = -1.9612.
    closeAll(handRun('lion', { lr: 0.1, weightDecay: 0.1 }), [[0.89, -1.88], [0.7811, -1.9612], [0.873289, -2.041588]]);
  });
  it('kappa = l2 norm steps along c / ||c||', () => {
    // t=1: c = [0.01, -0.02], c/||c|| = [0.4472136, -0.8944272]: p0 = 1 - 0.1 (0.4472136 + 0.1) = 0.9452786.
    closeAll(handRun('lion', { lr: 0.1, weightDecay: 0.1, kappa: 'l2' }), [[0.94527864, -1.89055728], [0.839171281, -1.89730114], [0.869461613, -1.97054364]]);
  });
  it('with weight decay lambda the iterates stay in the box ||x||_inf <= 1/lambda (the constraint Lion solves)', () => {
    const p: Param = { name: 'x', dims: [3], data: Float32Array.of(0, 0, 0) };
    const opt = createOptimizer('lion', { lr: 0.01, weightDecay: 0.5 });
    // f = -10 x0 + 10 x1 + 0 x2 pushes x0 up and x1 down without bound; the box is [-2, 2].
    for (let t = 0; t < 3000; t++) opt.step([p], { x: Float32Array.of(-10, 10, 0) });
    expect(p.data[0]).toBeCloseTo(2, 1);
    expect(p.data[1]).toBeCloseTo(-2, 1);
    expect(Math.abs(p.data[2]!)).toBeLessThan(1e-6);
  });
});

describe('SGD-SaI (lr scale from the gradient SNR at the first step)', () => {
  it('regression: step_size = lr * gsnr, not normalised by the largest gsnr (release 1.0.3; there is no "v1.0.4")', () => {
    // One tensor, g = [1, 3], lr 0.1, wd 0: gsnr = ||g|| / std(g) = sqrt(10) / sqrt(2) = 2.2360680;
    // the first buffer is g, so p moves by -0.1 * 2.236068 * [1, 3] = [-0.2236068, -0.6708204].
    // (Dividing by the largest gsnr made every single-tensor model plain SGD: [-0.1, -0.3].)
    const p: Param = { name: 'w', dims: [2], data: Float32Array.of(0, 0) };
    createOptimizer('sgd-sai', { lr: 0.1, weightDecay: 0 }).step([p], { w: Float32Array.of(1, 3) });
    expect(p.data[0]).toBeCloseTo(-0.2236068, 6);
    expect(p.data[1]).toBeCloseTo(-0.6708204, 6);
  });
  it('keeps each tensor\'s scale from the first step', () => {
    // a = [1, -2], ga1 = [0.1, -0.2]: ||g|| = 0.2236068, std (N-1) = 0.2121320, gsnr_a = 1.0540925.
    // t=1: buf = g; a = [1, -2] * (1 - 0.1*0.01) - 0.1 * 1.0540925 * [0.1, -0.2] = [0.98845907, -1.97689815].
    // t=2: buf = 0.9 g1 + 0.1 g2 = [0.12, -0.17]: a = a * 0.999 - 0.10540925 * buf.
    const a: Param = { name: 'a', dims: [2], data: Float32Array.of(1, -2) };
    const opt = createOptimizer('sgd-sai', { lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
    const out = [[0.1, -0.2], [0.3, 0.1]].map((g) => {
      opt.step([a], { a: Float32Array.from(g) });
      return Array.from(a.data);
    });
    const a1 = [0.999 - 0.010540925, -1.998 + 0.02108185];
    closeAll(out, [a1, [a1[0]! * 0.999 - 0.10540925 * 0.12, a1[1]! * 0.999 + 0.10540925 * 0.17]]);
  });
});

describe('AdamP and SGDP (projection for scale-invariant weights)', () => {
  const P = [1, 0.5, 0.5, -1];
  const G = [[0.1, -0.21, 0.2, 0.09], [0.3, 0.1, -0.1, 0.2], [-0.05, 0.1, 0.1, 0.05]];
  function run(name: string, hyper: Record<string, unknown>): number[][] {
    const p: Param = { name: 'w', dims: [2, 2], data: Float32Array.from(P) };
    const opt = createOptimizer(name, hyper);
    return G.map((g) => {
      opt.step([p], { w: Float32Array.from(g) });
      return Array.from(p.data);
    });
  }
  it('AdamP removes the radial component when max |cos(g, p)| < delta / sqrt(width) and scales wd by wdRatio', () => {
    // t=1: row cosines |(0.1 - 0.105)| / (1.118 * 0.2326) = 0.019 and (0.1 - 0.09) / (1.118 * 0.2193) = 0.041,
    //   both < 0.1 / sqrt(2) = 0.0707: project. Adam step = sign(g) = [[1, -1], [1, 1]];
    //   row 0: p_n = [0.8944, 0.4472], <p_n, [1, -1]> = 0.4472, step = [1, -1] - 0.4472 p_n = [0.6, -1.2];
    //   row 1: p_n = [0.4472, -0.8944], <p_n, [1, 1]> = -0.4472, step = [1.2, 0.6];
    //   p = p - 0.1 (step + 0.1 * 0.1 p) = [1 - 0.1*0.61, 0.5 + 0.1*1.195, ...] = [0.939, 0.6195, 0.3795, -1.059].
    // t=2: cos(g2 row 0, p) is large: no projection, full weight decay.
    closeAll(run('adamp', { lr: 0.1, weightDecay: 0.1 }), [
      [0.939000003, 0.619499992, 0.379500009, -1.059],
      [0.837831895, 0.64179032, 0.349071306, -1.14376053],
      [0.767285931, 0.628756993, 0.299825199, -1.215556],
    ]);
  });
  it('SGDP: momentum from a zero buffer, the same projection, wd / (1 - momentum)', () => {
    // t=1: buf = g; row 0: <p_n, [0.1, -0.21]> = 0.08944 - 0.09391 = -0.004472, step = buf + 0.004472 p_n = [0.104, -0.208];
    //   weight decay 0.1 / (1 - 0.9) = 1, times wdRatio 0.1: p0 = 1 - 0.1 (0.104 + 0.1 * 1) = 0.9796.
    closeAll(run('sgdp', { lr: 0.1, momentum: 0.9, weightDecay: 0.1 }), [
      [0.9796, 0.5158, 0.4754, -0.9998],
      [0.84264, 0.47312, 0.41986, -0.92792],
      [0.827848459, 0.479725294, 0.390008042, -0.930248287],
    ]);
  });
  it('leaves 1-D parameters unprojected (plain Adam)', () => {
    closeAll(handRun('adamp', { lr: 0.1 }), [[0.9, -1.9], [0.808221902, -1.8733663], [0.782431523, -1.91909948]]);
  });
});
