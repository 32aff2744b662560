// Lion ("Symbolic Discovery of Optimization Algorithms", Program 1; google/automl lion):
// c = b1 m + (1-b1) g; u = kappa'(c); m = b2 m + (1-b2) g; then decoupled weight decay and -lr.
// Lion-K ("Lion Secretly Solves Constrained Optimization: As Lyapunov Predicts") replaces sign by
// the gradient of a convex kappa: sign is kappa = l1 norm (the l-infinity-ball constraint with
// weight decay), 'l2' is kappa = ||x||_2 whose gradient is c / ||c||_2 per tensor.

import { fail } from '../errors.js';
import { chain, emptyState, transform, type GradientTransformation } from './core.js';
import type { Schedule } from './schedules.js';
import { addDecayedWeights, scaleByLearningRate } from './transforms.js';

export interface LionHyper {
  lr: number;
  betas: [number, number];
  weightDecay: number;
  kappa: 'sign' | 'l2';
}

/** Paper defaults: b1 0.9, b2 0.99; lr 3-10x smaller and wd 3-10x larger than AdamW's. */
export const LION_DEFAULTS: LionHyper = { lr: 1e-4, betas: [0.9, 0.99], weightDecay: 1e-1, kappa: 'sign' };

/** Gradients of kappa, applied in place to the interpolated momentum c. */
export const KAPPA_GRADIENTS: Record<LionHyper['kappa'], (c: Float32Array) => void> = {
  sign: (c) => {
    for (let j = 0; j < c.length; j++) c[j] = Math.sign(c[j]!);
  },
  l2: (c) => {
    let sq = 0;
    for (let j = 0; j < c.length; j++) sq += c[j]! * c[j]!;
    const inv = sq > 0 ? 1 / Math.sqrt(sq) : 0;
    for (let j = 0; j < c.length; j++) c[j]! *= inv;
  },
};

export function scaleByLion(b1: number, b2: number, kappa: LionHyper['kappa'] = 'sign'): GradientTransformation {
  const grad = KAPPA_GRADIENTS[kappa];
  if (!grad) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `Lion kappa "${kappa}" is not one of ${Object.keys(KAPPA_GRADIENTS).join(', ')}`, { field: 'kappa' });
  return transform(
    'scaleByLion',
    { b1, b2, kappa },
    (params, alloc) => ({ ...emptyState(params), slots: params.map((p) => ({ m: alloc.f32(p.data.length) })) }),
    (updates, state) => {
      state.count++;
      for (let i = 0; i < updates.length; i++) {
        const u = updates[i]!;
        const m = state.slots[i]!.m as Float32Array;
        for (let j = 0; j < u.length; j++) {
          const g = u[j]!;
          u[j] = b1 * m[j]! + (1 - b1) * g;
          m[j] = b2 * m[j]! + (1 - b2) * g;
        }
        grad(u);
      }
    },
  );
}

export function lion(h: LionHyper, schedule: Schedule): GradientTransformation {
  return chain(scaleByLion(h.betas[0], h.betas[1], h.kappa), addDecayedWeights(h.weightDecay), scaleByLearningRate(h.lr, schedule));
}
