// Sophia ("Sophia: A Scalable Stochastic Second-order Optimizer for Language Model Pre-training";
// official Liuhong99/Sophia, SophiaG): m = b1 m + (1-b1) g; every k steps h = b2 h + (1-b2) h_est;
// u = clip(m / max(gamma h, eps), -1, 1), then decoupled weight decay and -lr. As the code: no bias
// correction, and the Hessian is refreshed after steps k, 2k, ... (we ask for it at the start of
// steps k+1, 2k+1, ..., at the same parameters), so until then every step is a sign step.
// The estimate comes from the training loop (see hessian.ts: Hutchinson or Gauss-Newton-Bartlett).

import { chain, emptyState, transform, type GradientTransformation } from './core.js';
import type { Schedule } from './schedules.js';
import { addDecayedWeights, scaleByLearningRate } from './transforms.js';

const f = Math.fround;

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
      // Single-precision operations in the kernel's order (f = Math.fround): m / (gamma h) amplifies an ulp of a
      // cancelling m by up to 1 / eps, so the two paths only follow one trajectory when m is bit-identical.
      const [b1f, b2f, c1f, c2f, gf, epsf] = [b1, b2, 1 - b1, 1 - b2, gamma, eps].map(f);
      for (let i = 0; i < updates.length; i++) {
        const u = updates[i]!;
        const m = state.slots[i]!.m as Float32Array;
        const h = state.slots[i]!.h as Float32Array;
        const est = refresh?.[i];
        if (est) for (let j = 0; j < u.length; j++) h[j] = f(b2f * h[j]!) + f(c2f * est[j]!);
        for (let j = 0; j < u.length; j++) {
          m[j] = f(b1f * m[j]!) + f(c1f * u[j]!);
          const r = f(m[j]! / Math.max(f(gf * h[j]!), epsf));
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
