// SPAM ("SPAM: Spike-Aware Adam with Momentum Reset for Stable LLM Training"; official
// TianjinYellow/SPAM-Optimizer, AdamW in galore_torch/SPAM.py):
//   chain(spikeAwareClip, periodicReset(scaleByAdam, 'beforeUpdate'), scaleByResetWarmup, lr, decayWeights(afterStep)).
// As the official code does: eps next to the uncorrected sqrt(v) (eps 1e-6), both bias corrections
// dropped with `correctBias: false` (its correct_bias); the bias-correction count is not reset at a
// momentum reset; clipping is skipped for the first `clipWarmupSteps` steps and for that many steps
// after each reset (v is zero then, so every entry would look like a spike); weight decay is applied
// to the updated parameter, p = (p - lr u)(1 - lr wd), and is not scaled by the warmup.
// Sparse momentum (density < 1): moments only for a random subset of each matrix's entries,
// re-drawn at every reset (sparse.ts).

import { fail } from '../errors.js';
import { chain, emptyState, transform, type GradientTransformation } from './core.js';
import { sparseMoments } from './sparse.js';
import type { Schedule } from './schedules.js';
import { scaleByAdam } from './adam.js';
import { periodicReset, scaleByResetWarmup } from './reset.js';
import { decayWeights, scaleByLearningRate } from './transforms.js';

export interface SpamHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  /** theta: an entry with g^2 > theta v is a spike, replaced by sign(g) sqrt(theta v). */
  threshold: number;
  /** DeltaT: momentum reset interval (0 = never). */
  resetInterval: number;
  /** N: cosine warmup steps after a reset. */
  warmupSteps: number;
  clipWarmupSteps: number;
  /** The code's correct_bias: false drops Adam's bias corrections. */
  correctBias: boolean;
  /** Fraction of each matrix's entries that keep moments (1 = dense); re-drawn at each reset. */
  density: number;
  seed: number;
}

/** Paper: theta 5000, DeltaT 500, N 150; official eps 1e-6 and grad_accu_steps 20. */
export const SPAM_DEFAULTS: SpamHyper = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-6, weightDecay: 0, threshold: 5000, resetInterval: 500, warmupSteps: 150, clipWarmupSteps: 20, correctBias: true, density: 1, seed: 0 };

/** Spike-aware clipping against the second moment of the named sibling (before it updates). */
export function spikeAwareClip(threshold: number, momentsOf: string, resetInterval: number, clipWarmupSteps: number): GradientTransformation {
  return transform('spikeAwareClip', { threshold, resetInterval, clipWarmupSteps }, (params) => emptyState(params), (updates, state, ctx) => {
    const t = ++state.count;
    if (threshold === 0 || t < clipWarmupSteps) return;
    if (resetInterval > 0 && t % resetInterval < clipWarmupSteps) return;
    const moments = ctx.stateOf(momentsOf);
    if (!moments) return;
    for (let i = 0; i < updates.length; i++) {
      const u = updates[i]!;
      const v = moments.slots[i]!.v as Float32Array;
      for (let j = 0; j < u.length; j++) {
        const limit = threshold * v[j]!;
        if (u[j]! * u[j]! > limit) u[j] = Math.sign(u[j]!) * Math.sqrt(limit);
      }
    }
  });
}

export function spam(h: SpamHyper, schedule: Schedule): GradientTransformation {
  if (!(h.density > 0 && h.density <= 1)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `spam density must be in (0, 1], got ${h.density}`, { field: 'density' });
  const moments = chain(
    spikeAwareClip(h.threshold, 'scaleByAdam', h.resetInterval, h.clipWarmupSteps),
    periodicReset(scaleByAdam(h.betas[0], h.betas[1], h.eps, { epsOutsideCorrection: true, biasCorrection: h.correctBias }), h.resetInterval, 'beforeUpdate'),
  );
  return chain(
    h.density < 1 ? sparseMoments(moments, h.density, h.resetInterval, h.seed) : moments,
    scaleByResetWarmup(h.resetInterval, h.warmupSteps),
    scaleByLearningRate(h.lr, schedule),
    decayWeights(h.weightDecay, { lr: h.lr, schedule, afterStep: true }),
  );
}
