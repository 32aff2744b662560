// Sophia ("Sophia: A Scalable Stochastic Second-order Optimizer for Language Model Pre-training";
// official Liuhong99/Sophia, SophiaG): m = b1 m + (1-b1) g; every k steps h = b2 h + (1-b2) h_est;
// u = clip(m / max(gamma h, eps), -1, 1), then decoupled weight decay and -lr. As the code: no bias
// correction, and the Hessian is refreshed after steps k, 2k, ... (we ask for it at the start of
// steps k+1, 2k+1, ..., at the same parameters), so until then every step is a sign step.
// The estimate comes from the training loop (see hessian.ts: Hutchinson or Gauss-Newton-Bartlett).

import { chain, emptyState, transform, type GradientTransformation } from './core.js';
import type { Schedule } from './schedules.js';
import { addDecayedWeights, scaleByLearningRate } from './transforms.js';

export interface SophiaHyper {
  lr: number;
  betas: [number, number];
  gamma: number;
  eps: number;
  weightDecay: number;
  /** k: Hessian refresh interval in steps. */
  hessianInterval: number;
}

export const SOPHIA_DEFAULTS: SophiaHyper = { lr: 1e-4, betas: [0.965, 0.99], gamma: 0.01, eps: 1e-12, weightDecay: 1e-1, hessianInterval: 10 };

export function sophiaNeedsHessian(step: number, k: number): boolean {
  return step > 1 && (step - 1) % k === 0;
}

export function scaleBySophia(b1: number, b2: number, gamma: number, eps: number, k: number): GradientTransformation {
  return transform(
    'scaleBySophia',
    { b1, b2, gamma, eps, hessianInterval: k },
    (params, alloc) => ({ ...emptyState(params), slots: params.map((p) => ({ m: alloc.f32(p.data.length), h: alloc.f32(p.data.length) })) }),
    (updates, state, ctx) => {
      const t = ++state.count;
      const refresh = sophiaNeedsHessian(t, k) ? ctx.hessianDiag : undefined;
      for (let i = 0; i < updates.length; i++) {
        const u = updates[i]!;
        const m = state.slots[i]!.m as Float32Array;
        const h = state.slots[i]!.h as Float32Array;
        const est = refresh?.[i];
        if (est) for (let j = 0; j < u.length; j++) h[j] = b2 * h[j]! + (1 - b2) * est[j]!;
        for (let j = 0; j < u.length; j++) {
          m[j] = b1 * m[j]! + (1 - b1) * u[j]!;
          const r = m[j]! / Math.max(gamma * h[j]!, eps);
          u[j] = Math.max(-1, Math.min(1, r));
        }
      }
    },
    { needsHessian: (step) => sophiaNeedsHessian(step, k) },
  );
}

export function sophia(h: SophiaHyper, schedule: Schedule): GradientTransformation {
  return chain(scaleBySophia(h.betas[0], h.betas[1], h.gamma, h.eps, h.hessianInterval), addDecayedWeights(h.weightDecay), scaleByLearningRate(h.lr, schedule));
}
