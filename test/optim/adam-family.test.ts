// Adam, AdamW, AMSGrad, EXAdam and AdaBelief: three steps worked by hand from each paper's
// algorithm on p0 = [1, -2] with gradients g1 = [0.1, -0.2], g2 = [0.3, 0.1], g3 = [-0.2, 0.4],
// lr 0.1 (later steps follow the same recurrences; values to 9 digits from a float64 evaluation).

import { describe, expect, it } from 'vitest';
import { createOptimizer, type Param } from '../../src/optim/index.js';
import { closeAll, handRun } from './helpers.js';

describe('Adam (Kingma & Ba, Algorithm 1)', () => {
  it('reproduces three hand-worked steps', () => {
    // t=1: m = 0.1 g, v = 0.001 g^2, m^ = g, v^ = g^2, u = g / (|g| + 1e-8) = sign(g): p = [0.9, -1.9].
    // t=2, entry 0: m = 0.9*0.01 + 0.1*0.3 = 0.039, v = 0.999*1e-5 + 0.001*0.09 = 9.999e-5,
    //   m^ = 0.039/0.19 = 0.2052632, v^ = 9.999e-5/0.001999 = 0.05002, u = 0.2052632/0.2236515 = 0.917778,
    //   p = 0.9 - 0.0917778 = 0.8082219.
    closeAll(handRun('adam', { lr: 0.1 }), [[0.9, -1.9], [0.808221902, -1.8733663], [0.782431523, -1.91909948]]);
  });
  it('with weightDecay is an L2 term added to the gradient before the moments', () => {
    // t=1: g' = g + 0.1 p = [0.2, -0.4]: still sign steps, p = [0.9, -1.9]; t=2: g' = [0.39, -0.09] ...
    closeAll(handRun('adam', { lr: 0.1, weightDecay: 0.1 }), [[0.9, -1.9], [0.803214755, -1.81828755], [0.747881393, -1.79257031]]);
  });
  it('AMSGrad divides by the running maximum of v, on gradients where v shrinks', () => {
    // betas (0.9, 0.9), gradients [1, -2] then two small ones: v falls after step 1, so AMSGrad keeps dividing by
    // step 1's v while Adam divides by the smaller current v and steps further. Values from torch.optim.Adam
    // (amsgrad=True / False) in float64, torch 1.13.
    const grads = [[1, -2], [0.01, 0.02], [0.01, -0.03]];
    const run = (amsgrad: boolean) => {
      const p: Param = { name: 'p', dims: [2], data: Float32Array.of(1, -2) };
      const opt = createOptimizer('adam', { lr: 0.1, betas: [0.9, 0.9], amsgrad });
      return grads.map((g) => {
        opt.step([p], { p: Float32Array.from(g) });
        return Array.from(p.data);
      });
    };
    closeAll(run(true), [[0.900000001, -1.9], [0.833981663, -1.835432615], [0.7836235, -1.785864145]]);
    closeAll(run(false), [[0.900000001, -1.9], [0.830414428, -1.831943781], [0.774467476, -1.77687841]]);
  });
});

describe('AdamW (Loshchilov & Hutter, decoupled weight decay)', () => {
  it('reproduces three hand-worked steps', () => {
    // t=1: p = p - 0.1 (sign(g) + 0.1 p) = [1 - 0.1*1.1, -2 - 0.1*(-1 - 0.2)] = [0.89, -1.88].
    closeAll(handRun('adamw', { lr: 0.1, weightDecay: 0.1 }), [[0.89, -1.88], [0.789321902, -1.8345663], [0.755638304, -1.86195382]]);
  });
});

describe('EXAdam (cross-moment debiasing, gradient acceleration)', () => {
  it('reproduces three hand-worked steps of the official code', () => {
    // t=1, entry 0: m = 0.01, v = 1e-5; d1 = 1 + v/(v+1e-8)*0.999 = 1.998002, d2 = 1 + m^2/(m^2+1e-8)*0.9 = 1.89991;
    //   m~ = 0.01/0.1*d1 = 0.1998002, v~ = 1e-5/0.001*d2 = 0.0189991, g~ = 0.1/0.1*d1 = 1.998002;
    //   u = (0.1998 + 1.998) / (0.1378372 + 1e-8) = 15.9449, p = 1 - 1.59449 = -0.594491.
    closeAll(handRun('exadam', { lr: 0.1 }), [[-0.594490942, -0.404940144], [-1.77919412, -0.859779012], [-1.299585, -1.77624537]], 5);
  });
  it('regression: v1\'s growing step size ln(sqrt(2) sqrt(t+1)) scales the Adam step only, not weight decay', () => {
    // lr 0.1, weight decay 0.1, p = [1], g = [0], one step: the official v1 (exadam.py at 9ff8463) decays by the plain lr,
    // p = 1 - 0.1*0.1*1 = 0.99 (the Adam step is 0 for g = 0); growing the decay too gave 1 - 0.01 ln 2 = 0.993069.
    const p: Param = { name: 'p', dims: [1], data: Float32Array.of(1) };
    createOptimizer('exadam', { lr: 0.1, weightDecay: 0.1, growingStepSize: true }).step([p], { p: Float32Array.of(0) });
    expect(p.data[0]).toBeCloseTo(0.99, 7);
  });
});

describe('AdaBelief (second moment of g - m)', () => {
  it('reproduces three hand-worked steps', () => {
    // t=1: m = 0.1 g, s = 0.001 (g - 0.1 g)^2 + eps = 0.00081 g^2; m^ = g, s^ = 0.81 g^2:
    //   u = g / (0.9 |g|) = sign(g)/0.9, p = [1 - 0.1/0.9, -2 + 0.1/0.9] = [0.8888889, -1.8888889].
    closeAll(handRun('adabelief', { lr: 0.1 }), [[0.888888889, -1.88888889], [0.783764579, -1.86051881], [0.756193608, -1.91006791]]);
  });
  it('with the package\'s rectification takes plain momentum steps while rho_t < 5', () => {
    // rho_inf = 1999; rho_1 = 1999 - 2*0.999/0.001 = 1, rho_2 = 1999 - 4*0.998001/0.001999 = 2.0, rho_3 = 3.0:
    // all below 5, so u = m / (1 - b1^t): t=1 p = [1 - 0.1*0.1, -2 + 0.1*0.2] = [0.99, -1.98].
    closeAll(handRun('adabelief', { lr: 0.1, rectify: true }), [[0.99, -1.98], [0.969473684, -1.97578947], [0.963901728, -1.98789279]]);
  });
});

describe('schedules in a chain', () => {
  it('linear warmup scales the first steps: lr_t = lr * t / warmup', () => {
    // warmup 2: t=1 uses lr 0.05 (sign step of 0.05), t=2 uses lr 0.1 with the same Adam u as above.
    const run = handRun('adam', { lr: 0.1 }, { schedule: { type: 'constant', warmupSteps: 2 } });
    expect(run[0]![0]).toBeCloseTo(0.95, 6);
    expect(run[1]![0]).toBeCloseTo(0.95 - 0.0917778, 6);
  });
});
