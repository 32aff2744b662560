// EXAdam ("EXAdam: The Power of Adaptive Cross-Moments"; official AhmedMostafa16/EXAdam):
// d1 = 1 + v/(v+eps) b2^t, d2 = 1 + m^2/(m^2+eps) b1^t; m~ = m/(1-b1^t) d1; v~ = v/(1-b2^t) d2;
// g~ = g/(1-b1^t) d1 (gradient acceleration); u = (m~ + g~) / (sqrt(v~) + eps).
// The official code applies weight decay decoupled (p -= lr wd p) though it calls it L2: we follow
// the code. The growing step size lr ln(sqrt(2) sqrt(t+1)) of the paper's first version (the
// repository's first exadam.py, commit 9ff8463) was dropped by the current code and paper;
// `growingStepSize: true` adds it back as its own transform, scaling only the Adam step: that code
// decays with the plain lr, so the chain applies weight decay after the growth factor.

import { chain, emptyState, transform, type GradientTransformation } from './core.js';
import type { Schedule } from './schedules.js';
import { addDecayedWeights, scaleByLearningRate } from './transforms.js';

export interface ExAdamHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  growingStepSize: boolean;
}

export const EXADAM_DEFAULTS: ExAdamHyper = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, growingStepSize: false };

export function scaleByExAdam(b1: number, b2: number, eps: number): GradientTransformation {
  return transform(
    'scaleByExAdam',
    { b1, b2, eps },
    (params, alloc) => ({ ...emptyState(params), slots: params.map((p) => ({ m: alloc.f32(p.data.length), v: alloc.f32(p.data.length) })) }),
    (updates, state) => {
      const t = ++state.count;
      const b1t = b1 ** t;
      const b2t = b2 ** t;
      const bc1 = 1 - b1t;
      const bc2 = 1 - b2t;
      for (let i = 0; i < updates.length; i++) {
        const u = updates[i]!;
        const m = state.slots[i]!.m as Float32Array;
        const v = state.slots[i]!.v as Float32Array;
        for (let j = 0; j < u.length; j++) {
          const g = u[j]!;
          m[j] = b1 * m[j]! + (1 - b1) * g;
          v[j] = b2 * v[j]! + (1 - b2) * g * g;
          const mj = m[j]!;
          const vj = v[j]!;
          const d1 = 1 + (vj / (vj + eps)) * b2t;
          const d2 = 1 + ((mj * mj) / (mj * mj + eps)) * b1t;
          const mTilde = (mj / bc1) * d1;
          const vTilde = (vj / bc2) * d2;
          const gTilde = (g / bc1) * d1;
          u[j] = (mTilde + gTilde) / (Math.sqrt(vTilde) + eps);
        }
      }
    },
  );
}

/** EXAdam v1's growing step size: u *= ln(sqrt(2) sqrt(t+1)). */
export function scaleByLogGrowth(): GradientTransformation {
  return transform('scaleByLogGrowth', {}, (params) => emptyState(params), (updates, state) => {
    const t = ++state.count;
    const s = Math.log(Math.SQRT2 * Math.sqrt(t + 1));
    for (const u of updates) for (let j = 0; j < u.length; j++) u[j]! *= s;
  });
}

export function exadam(h: ExAdamHyper, schedule: Schedule): GradientTransformation {
  const growth = h.growingStepSize ? [scaleByLogGrowth()] : [];
  return chain(scaleByExAdam(h.betas[0], h.betas[1], h.eps), ...growth, addDecayedWeights(h.weightDecay), scaleByLearningRate(h.lr, schedule));
}
