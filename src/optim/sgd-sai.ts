// SGD-SaI ("No More Adam: Learning Rate Scaling at Initialization is All You Need"; official
// AnonymousAlethiometer/SGD_SaI, release 1.0.3, sgd_sai/sgd_sai.py): at the first step each
// parameter tensor gets gsnr = ||g|| / (std(g) + eps) (std with N-1, NaN for one element taken as
// 0, as torch's std and nan_to_num), a fixed scale of its learning rate: step_size = lr * gsnr, not
// normalised; afterwards SGD with an EMA momentum whose first value is the raw gradient, and
// decoupled weight decay not scaled by gsnr.
//   chain(trace(momentum, dampening = momentum), scaleBySnr, addDecayedWeights, lr)
// One state buffer (momentum) plus one number per tensor: half of AdamW's memory.

import { chain, emptyState, transform, type GradientTransformation } from './core.js';
import type { Schedule } from './schedules.js';
import { addDecayedWeights, scaleByLearningRate, trace } from './transforms.js';

export interface SgdSaiHyper {
  lr: number;
  momentum: number;
  eps: number;
  weightDecay: number;
}

export const SGD_SAI_DEFAULTS: SgdSaiHyper = { lr: 1e-2, momentum: 0.9, eps: 1e-8, weightDecay: 1e-2 };

/** ||g|| / (std(g) + eps) with torch's unbiased std. */
export function gradientSnr(g: Float32Array, eps: number): number {
  let sum = 0, sq = 0;
  for (let j = 0; j < g.length; j++) {
    sum += g[j]!;
    sq += g[j]! * g[j]!;
  }
  const mean = sum / g.length;
  let dev = 0;
  for (let j = 0; j < g.length; j++) dev += (g[j]! - mean) ** 2;
  const std = g.length > 1 ? Math.sqrt(dev / (g.length - 1)) : 0;
  return Math.sqrt(sq) / (std + eps);
}

export function scaleBySnr(eps: number): GradientTransformation {
  return transform(
    'scaleBySnr',
    { eps },
    (params) => ({ ...emptyState(params), slots: params.map(() => ({ gsnr: new Float64Array(1) })) }),
    (updates, state, ctx) => {
      if (++state.count === 1) for (let i = 0; i < updates.length; i++) (state.slots[i]!.gsnr as Float64Array)[0] = gradientSnr(ctx.grads[i]!, eps);
      for (let i = 0; i < updates.length; i++) {
        const s = (state.slots[i]!.gsnr as Float64Array)[0]!;
        const u = updates[i]!;
        for (let j = 0; j < u.length; j++) u[j]! *= s;
      }
    },
  );
}

export function sgdSai(h: SgdSaiHyper, schedule: Schedule): GradientTransformation {
  return chain(trace(h.momentum, false, h.momentum), scaleBySnr(h.eps), addDecayedWeights(h.weightDecay), scaleByLearningRate(h.lr, schedule));
}
