// AdamP and SGDP ("AdamP: Slowing Down the Slowdown for Momentum Optimizers on Scale-invariant
// Weights"; official clovaai/AdamP). For a weight with more than one dimension, if the largest
// |cosine| between gradient and weight, channel-wise (rows of [dims0, rest]) and then layer-wise,
// is below delta / sqrt(view width), the weight is taken as scale-invariant: the radial component
// (along each row of p) is removed from the step and weight decay is scaled by wdRatio.
//   AdamP = chain(scaleByAdam (nesterov: numerator b1 m + (1-b1) g, the code's option), projectRadial, addDecayedWeights(wd, ratio), lr)
//   SGDP  = chain(trace (zero-initialised buffer as the code), projectRadial, addDecayedWeights(wd / (1 - momentum), ratio), lr)
// The 1/(1 - momentum) on SGDP's weight decay is the official code's.

import { chain, emptyState, transform, type GradientTransformation } from './core.js';
import type { Schedule } from './schedules.js';
import { scaleByAdam } from './adam.js';
import { addDecayedWeights, scaleByLearningRate, trace } from './transforms.js';

export interface AdamPHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  delta: number;
  wdRatio: number;
  nesterov: boolean;
}

export interface SgdPHyper {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  eps: number;
  weightDecay: number;
  delta: number;
  wdRatio: number;
}

export const ADAMP_DEFAULTS: AdamPHyper = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, delta: 0.1, wdRatio: 0.1, nesterov: false };
export const SGDP_DEFAULTS: SgdPHyper = { lr: 0.1, momentum: 0.9, dampening: 0, nesterov: false, eps: 1e-8, weightDecay: 0, delta: 0.1, wdRatio: 0.1 };

/** Row views of a tensor: channel-wise [dims0, rest] then layer-wise [1, n]. */
const VIEWS: ((n: number, dims: number[]) => number)[] = [(n, dims) => dims[0]!, () => 1];

function projectIfScaleInvariant(p: Float32Array, g: Float32Array, u: Float32Array, rows: number, delta: number, eps: number): boolean {
  const width = p.length / rows;
  let maxCos = 0;
  for (let r = 0; r < rows; r++) {
    let pg = 0, pp = 0, gg = 0;
    for (let j = r * width; j < (r + 1) * width; j++) {
      pg += p[j]! * g[j]!;
      pp += p[j]! * p[j]!;
      gg += g[j]! * g[j]!;
    }
    // torch.nn.functional.cosine_similarity clamps each norm by eps.
    maxCos = Math.max(maxCos, Math.abs(pg) / (Math.max(Math.sqrt(pp), eps) * Math.max(Math.sqrt(gg), eps)));
  }
  if (maxCos >= delta / Math.sqrt(width)) return false;
  for (let r = 0; r < rows; r++) {
    let pp = 0;
    for (let j = r * width; j < (r + 1) * width; j++) pp += p[j]! * p[j]!;
    const inv = 1 / (Math.sqrt(pp) + eps);
    let dot = 0;
    for (let j = r * width; j < (r + 1) * width; j++) dot += p[j]! * inv * u[j]!;
    for (let j = r * width; j < (r + 1) * width; j++) u[j]! -= p[j]! * inv * dot;
  }
  return true;
}

export function projectRadial(delta: number, eps: number, wdRatio: number): GradientTransformation {
  return transform(
    'projectRadial',
    { delta, eps, wdRatio },
    (params) => ({ ...emptyState(params), slots: params.map(() => ({ wdRatio: Float32Array.of(1) })) }),
    (updates, state, ctx) => {
      state.count++;
      for (let i = 0; i < updates.length; i++) {
        const p = ctx.params[i]!;
        let ratio = 1;
        if (p.dims.length > 1) {
          for (const view of VIEWS) {
            if (projectIfScaleInvariant(p.data, ctx.grads[i]!, updates[i]!, view(p.data.length, p.dims), delta, eps)) {
              ratio = wdRatio;
              break;
            }
          }
        }
        (state.slots[i]!.wdRatio as Float32Array)[0] = ratio;
      }
    },
  );
}

export function adamp(h: AdamPHyper, schedule: Schedule): GradientTransformation {
  return chain(scaleByAdam(h.betas[0], h.betas[1], h.eps, { nesterov: h.nesterov }), projectRadial(h.delta, h.eps, h.wdRatio), addDecayedWeights(h.weightDecay, 'projectRadial'), scaleByLearningRate(h.lr, schedule));
}

export function sgdp(h: SgdPHyper, schedule: Schedule): GradientTransformation {
  return chain(
    trace(h.momentum, h.nesterov, h.dampening, false),
    projectRadial(h.delta, h.eps, h.wdRatio),
    addDecayedWeights(h.weightDecay / (1 - h.momentum), 'projectRadial'),
    scaleByLearningRate(h.lr, schedule),
  );
}
