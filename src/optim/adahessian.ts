// AdaHessian ("ADAHESSIAN: An Adaptive Second Order Optimizer for Machine Learning"; official
// amirgholami/adahessian): D = z * (H z) for a Rademacher z (Hutchinson), averaged over the spatial
// dimensions of conv kernels (4-D tensors, |D| as the code); m = b1 m + (1-b1) g;
// v = b2 v + (1-b2) D^2; u = (m / (1-b1^t)) / ((sqrt(v) / sqrt(1-b2^t))^k + eps), Hessian power k;
// weight decay decoupled as the code's p - lr (u + wd p). The estimate is needed every step.

import { chain, emptyState, transform, type GradientTransformation } from './core.js';
import type { Schedule } from './schedules.js';
import { addDecayedWeights, scaleByLearningRate } from './transforms.js';

export interface AdaHessianHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  hessianPower: number;
}

export const ADAHESSIAN_DEFAULTS: AdaHessianHyper = { lr: 0.15, betas: [0.9, 0.999], eps: 1e-4, weightDecay: 0, hessianPower: 1 };

/** Mean of |D| over the last two (spatial) dims of a [out, in, kh, kw] kernel, broadcast back. */
export function spatialAverage(d: Float32Array, dims: number[]): Float32Array {
  if (dims.length !== 4) return d;
  const area = dims[2]! * dims[3]!;
  const out = new Float32Array(d.length);
  for (let s = 0; s < d.length; s += area) {
    let sum = 0;
    for (let j = s; j < s + area; j++) sum += Math.abs(d[j]!);
    out.fill(sum / area, s, s + area);
  }
  return out;
}

export function scaleByAdaHessian(b1: number, b2: number, eps: number, k: number): GradientTransformation {
  return transform(
    'scaleByAdaHessian',
    { b1, b2, eps, hessianPower: k },
    (params, alloc) => ({ ...emptyState(params), slots: params.map((p) => ({ m: alloc.f32(p.data.length), v: alloc.f32(p.data.length) })) }),
    (updates, state, ctx) => {
      const t = ++state.count;
      const bc1 = 1 - b1 ** t;
      const bc2 = 1 - b2 ** t;
      for (let i = 0; i < updates.length; i++) {
        const u = updates[i]!;
        const m = state.slots[i]!.m as Float32Array;
        const v = state.slots[i]!.v as Float32Array;
        const d = spatialAverage(ctx.hessianDiag![i]!, ctx.params[i]!.dims);
        for (let j = 0; j < u.length; j++) {
          m[j] = b1 * m[j]! + (1 - b1) * u[j]!;
          v[j] = b2 * v[j]! + (1 - b2) * d[j]! * d[j]!;
          u[j] = m[j]! / bc1 / ((Math.sqrt(v[j]!) / Math.sqrt(bc2)) ** k + eps);
        }
      }
    },
    { needsHessian: () => true },
  );
}

export function adahessian(h: AdaHessianHyper, schedule: Schedule): GradientTransformation {
  return chain(scaleByAdaHessian(h.betas[0], h.betas[1], h.eps, h.hessianPower), addDecayedWeights(h.weightDecay), scaleByLearningRate(h.lr, schedule));
}
