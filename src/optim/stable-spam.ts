// Stable-SPAM ("Stable-SPAM: How to Train in 4-Bit More Stably than 16-Bit Adam"; official
// TianjinYellow/StableSPAM, galore_torch/stablespam.py):
//   chain(adaptiveSpikeClip (AdaClip), adaptiveGradNorm (AdaGN), periodicReset(scaleByAdam), wd, lr).
// AdaClip: m_max = g3 m_max + (1-g3) max|g|, bias-corrected; entries with |g| above it are scaled by
// m_max_hat / max|g|. AdaGN: running mean of ||g|| and of ||g||^2 (g1, g2), bias-corrected; g is
// rescaled to norm m_hat / (sqrt(v_hat) + eps). Both per parameter tensor, as the code does.
// Deliberate differences from the code: the reset takes effect in the step it happens (the code
// zeroes the stored moments but that step still updates the old ones: a bug), and each transform
// keeps its own step count (the code's AdaClip/AdaGN bias corrections reuse Adam's reset count).

import { chain, emptyState, transform, type GradientTransformation, type Param, type TransformState } from './core.js';
import type { Schedule } from './schedules.js';
import { scaleByAdam } from './adam.js';
import { periodicReset } from './reset.js';
import { addDecayedWeights, scaleByLearningRate } from './transforms.js';

export interface StableSpamHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  gamma1: number;
  gamma2: number;
  gamma3: number;
  resetInterval: number;
}

/** Official defaults: gamma1 0.7, gamma2 0.9, gamma3 (theta) 0.999, update_proj_gap 1000. */
export const STABLE_SPAM_DEFAULTS: StableSpamHyper = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, gamma1: 0.7, gamma2: 0.9, gamma3: 0.999, resetInterval: 1000 };

/** Per-tensor running statistics: one float64 per name and parameter. */
function perTensorScalars(names: string[]) {
  return (params: Param[]): TransformState => ({ ...emptyState(params), slots: params.map(() => Object.fromEntries(names.map((n) => [n, new Float64Array(1)]))) });
}

export function adaptiveSpikeClip(gamma3: number): GradientTransformation {
  return transform('adaptiveSpikeClip', { gamma3 }, perTensorScalars(['mMax']), (updates, state) => {
    const t = ++state.count;
    for (let i = 0; i < updates.length; i++) {
      const u = updates[i]!;
      const mMax = state.slots[i]!.mMax as Float64Array;
      let max = 0;
      for (let j = 0; j < u.length; j++) max = Math.max(max, Math.abs(u[j]!));
      mMax[0] = gamma3 * mMax[0]! + (1 - gamma3) * max;
      const limit = mMax[0]! / (1 - gamma3 ** t);
      if (max <= limit) continue;
      const s = limit / max;
      for (let j = 0; j < u.length; j++) if (Math.abs(u[j]!) > limit) u[j]! *= s;
    }
  });
}

export function adaptiveGradNorm(gamma1: number, gamma2: number, eps: number): GradientTransformation {
  return transform('adaptiveGradNorm', { gamma1, gamma2, eps }, perTensorScalars(['mNorm', 'vNorm']), (updates, state) => {
    const t = ++state.count;
    for (let i = 0; i < updates.length; i++) {
      const u = updates[i]!;
      const { mNorm, vNorm } = state.slots[i] as { mNorm: Float64Array; vNorm: Float64Array };
      let sq = 0;
      for (let j = 0; j < u.length; j++) sq += u[j]! * u[j]!;
      const norm = Math.sqrt(sq);
      mNorm[0] = gamma1 * mNorm[0]! + (1 - gamma1) * norm;
      vNorm[0] = gamma2 * vNorm[0]! + (1 - gamma2) * sq;
      const target = mNorm[0]! / (1 - gamma1 ** t) / (Math.sqrt(vNorm[0]! / (1 - gamma2 ** t)) + eps);
      if (norm > 0) for (let j = 0; j < u.length; j++) u[j]! *= target / norm;
    }
  });
}

export function stableSpam(h: StableSpamHyper, schedule: Schedule): GradientTransformation {
  return chain(
    adaptiveSpikeClip(h.gamma3),
    adaptiveGradNorm(h.gamma1, h.gamma2, h.eps),
    periodicReset(scaleByAdam(h.betas[0], h.betas[1], h.eps), h.resetInterval, true),
    addDecayedWeights(h.weightDecay),
    scaleByLearningRate(h.lr, schedule),
  );
}
