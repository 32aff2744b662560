// AdaBelief ("AdaBelief Optimizer: Adapting Stepsizes by the Belief in Observed Gradients";
// official juntang-zhuang/Adabelief-Optimizer, pytorch 0.2): s = b2 s + (1-b2) (g - m_t)^2 + eps
// (the code adds eps into the stored s), u = (m / (1-b1^t)) / (sqrt(s / (1-b2^t)) + eps); decoupled
// weight decay. `rectify` is the package's RAdam rectification (not in the paper's algorithm):
// while the SMA length rho_t < 5 the step is plain momentum m / (1-b1^t).

import { chain, emptyState, transform, type GradientTransformation } from './core.js';
import type { Schedule } from './schedules.js';
import { addDecayedWeights, scaleByLearningRate } from './transforms.js';

export interface AdaBeliefHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  rectify: boolean;
}

export const ADABELIEF_DEFAULTS: AdaBeliefHyper = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-16, weightDecay: 0, rectify: false };

export function scaleByBelief(b1: number, b2: number, eps: number, rectify: boolean): GradientTransformation {
  const rhoInf = 2 / (1 - b2) - 1;
  return transform(
    'scaleByBelief',
    { b1, b2, eps, rectify },
    (params, alloc) => ({ ...emptyState(params), slots: params.map((p) => ({ m: alloc.f32(p.data.length), s: alloc.f32(p.data.length) })) }),
    (updates, state) => {
      const t = ++state.count;
      const bc1 = 1 - b1 ** t;
      const bc2 = 1 - b2 ** t;
      const rho = rhoInf - (2 * t * b2 ** t) / bc2;
      // RAdam's variance rectification term r_t, in the form the official code computes it.
      const r = Math.sqrt((bc2 * (rho - 4) * (rho - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rho));
      for (let i = 0; i < updates.length; i++) {
        const u = updates[i]!;
        const m = state.slots[i]!.m as Float32Array;
        const s = state.slots[i]!.s as Float32Array;
        for (let j = 0; j < u.length; j++) {
          const g = u[j]!;
          m[j] = b1 * m[j]! + (1 - b1) * g;
          const d = g - m[j]!;
          s[j] = b2 * s[j]! + (1 - b2) * d * d + eps;
          if (!rectify) u[j] = m[j]! / bc1 / (Math.sqrt(s[j]! / bc2) + eps);
          else if (rho >= 5) u[j] = ((r / bc1) * m[j]!) / (Math.sqrt(s[j]!) + eps);
          else u[j] = m[j]! / bc1;
        }
      }
    },
  );
}

export function adabelief(h: AdaBeliefHyper, schedule: Schedule): GradientTransformation {
  return chain(scaleByBelief(h.betas[0], h.betas[1], h.eps, h.rectify), addDecayedWeights(h.weightDecay), scaleByLearningRate(h.lr, schedule));
}
