// Stable-SPAM ("Stable-SPAM: How to Train in 4-Bit More Stably than 16-Bit Adam"; official
// TianjinYellow/StableSPAM, galore_torch/stablespam.py):
//   chain(adaptiveSpikeClip (AdaClip), adaptiveGradNorm (AdaGN), periodicReset(scaleByAdam, 'afterUpdate'), wd, lr).
// AdaClip: m_max = g3 m_max + (1-g3) max|g|, bias-corrected; entries with |g| above it are scaled by
// m_max_hat / max|g|. AdaGN: running mean of ||g|| and of ||g||^2 (g1, g2), bias-corrected; g is
// rescaled to norm m_hat / (sqrt(v_hat) + eps). Both per parameter tensor, as the code does.
// As the code: the reset step's Adam update runs on the old moments with bias correction 1
// (reset.ts), the AdaClip/AdaGN bias corrections restart with Adam's count at every reset
// (`stepsSinceReset`), and with `totalSteps` (the code's total_T) g1 and b1 are both multiplied by
// s(t) = etaMin + (1 - etaMin)(1 + cos(pi t / (totalSteps + 1))) / 2 (its CosineDecay over
// torch's CosineAnnealingLR with T_max = total_T + 1). Weight decay p *= 1 - lr wd before the step
// is the chain's decoupled term.

import { chain, emptyState, transform, type GradientTransformation, type Param, type TransformState } from './core.js';
import type { Schedule } from './schedules.js';
import { scaleByAdam } from './adam.js';
import { periodicReset, stepsSinceReset } from './reset.js';
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
  /** The code's total_T: length of the cosine schedule of g1 and b1 (0: no schedule, the code's None). */
  totalSteps: number;
  /** The code's eta_min: the schedule's floor. */
  etaMin: number;
}

/** Official defaults: gamma1 0.7, gamma2 0.9, gamma3 (theta) 0.999, update_proj_gap 1000, total_T None, eta_min 0.5. */
export const STABLE_SPAM_DEFAULTS: StableSpamHyper = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, gamma1: 0.7, gamma2: 0.9, gamma3: 0.999, resetInterval: 1000, totalSteps: 0, etaMin: 0.5 };

/** Stable-SPAM's momentum schedule s(t) (1 throughout when totalSteps is 0). */
export function stableSpamSchedule(totalSteps: number, etaMin: number): Schedule {
  if (totalSteps <= 0) return () => 1;
  return (t) => etaMin + ((1 - etaMin) * (1 + Math.cos((Math.PI * t) / (totalSteps + 1)))) / 2;
}

/** Per-tensor running statistics: one float64 per name and parameter. */
function perTensorScalars(names: string[]) {
  return (params: Param[]): TransformState => ({ ...emptyState(params), slots: params.map(() => Object.fromEntries(names.map((n) => [n, new Float64Array(1)]))) });
}

export function adaptiveSpikeClip(gamma3: number, resetInterval = 0): GradientTransformation {
  return transform('adaptiveSpikeClip', { gamma3, resetInterval }, perTensorScalars(['mMax']), (updates, state) => {
    const k = stepsSinceReset(++state.count, resetInterval);
    for (let i = 0; i < updates.length; i++) {
      const u = updates[i]!;
      const mMax = state.slots[i]!.mMax as Float64Array;
      let max = 0;
      for (let j = 0; j < u.length; j++) max = Math.max(max, Math.abs(u[j]!));
      mMax[0] = gamma3 * mMax[0]! + (1 - gamma3) * max;
      const limit = mMax[0]! / (1 - gamma3 ** k);
      if (max <= limit) continue;
      const s = limit / max;
      for (let j = 0; j < u.length; j++) if (Math.abs(u[j]!) > limit) u[j]! *= s;
    }
  });
}

export function adaptiveGradNorm(gamma1: number, gamma2: number, eps: number, resetInterval = 0, schedule: Schedule = () => 1): GradientTransformation {
  return transform('adaptiveGradNorm', { gamma1, gamma2, eps, resetInterval, schedule }, perTensorScalars(['mNorm', 'vNorm']), (updates, state) => {
    const t = ++state.count;
    const k = stepsSinceReset(t, resetInterval);
    const g1 = gamma1 * schedule(t);
    for (let i = 0; i < updates.length; i++) {
      const u = updates[i]!;
      const { mNorm, vNorm } = state.slots[i] as { mNorm: Float64Array; vNorm: Float64Array };
      let sq = 0;
      for (let j = 0; j < u.length; j++) sq += u[j]! * u[j]!;
      const norm = Math.sqrt(sq);
      mNorm[0] = g1 * mNorm[0]! + (1 - g1) * norm;
      vNorm[0] = gamma2 * vNorm[0]! + (1 - gamma2) * sq;
      const target = mNorm[0]! / (1 - g1 ** k) / (Math.sqrt(vNorm[0]! / (1 - gamma2 ** k)) + eps);
      if (norm > 0) for (let j = 0; j < u.length; j++) u[j]! *= target / norm;
    }
  });
}

export function stableSpam(h: StableSpamHyper, schedule: Schedule): GradientTransformation {
  const momentum = stableSpamSchedule(h.totalSteps, h.etaMin);
  return chain(
    adaptiveSpikeClip(h.gamma3, h.resetInterval),
    adaptiveGradNorm(h.gamma1, h.gamma2, h.eps, h.resetInterval, momentum),
    periodicReset(scaleByAdam(h.betas[0], h.betas[1], h.eps, { b1Schedule: momentum }), h.resetInterval, 'afterUpdate'),
    addDecayedWeights(h.weightDecay),
    scaleByLearningRate(h.lr, schedule),
  );
}
