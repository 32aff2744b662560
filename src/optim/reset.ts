// Momentum reset as a transform wrapper (SPAM, Stable-SPAM) and SPAM's cosine warmup of the update
// after each reset, as a multiplier transform. The two official codes reset differently:
// - 'beforeUpdate' (SPAM, galore_torch/SPAM.py): at a reset step the moments are zeroed before the
//   update and the bias-correction count keeps running;
// - 'afterUpdate' (Stable-SPAM, galore_torch/stablespam.py): the reset step's update still runs on
//   the old moments (the code rebinds state["exp_avg"] to fresh zeros while the step keeps its
//   local references) with the bias-correction count restarted at 1; the zeros take over from the
//   next step, which counts 2.

import { emptyState, transform, type GradientTransformation, type TransformState } from './core.js';

export type ResetTiming = 'beforeUpdate' | 'afterUpdate';

/** Zero every state array of a transformation and its children (counts untouched). */
export function zeroState(s: TransformState): void {
  for (const slots of s.slots) for (const a of Object.values(slots)) a.fill(0);
  for (const c of s.children ?? []) zeroState(c);
}

export function periodicReset(inner: GradientTransformation, period: number, timing: ResetTiming): GradientTransformation {
  return transform(
    'periodicReset',
    { period, timing },
    (params, alloc) => ({ ...emptyState(params), children: [inner.init(params, alloc)] }),
    (updates, state, ctx) => {
      const t = ++state.count;
      const innerState = state.children![0]!;
      const reset = period > 0 && t % period === 0;
      if (reset && timing === 'beforeUpdate') zeroState(innerState);
      if (reset && timing === 'afterUpdate') innerState.count = 0;
      inner.update(updates, innerState, ctx);
      if (reset && timing === 'afterUpdate') zeroState(innerState);
    },
    { children: [inner] },
  );
}

/**
 * The step count Stable-SPAM's AdaClip and AdaGN bias corrections read at optimizer step t: their
 * code shares Adam's per-parameter `state['step']`, which a reset sets to 1 after they ran, so it
 * is t up to the first reset and t - R + 1 after the last reset step R < t.
 */
export function stepsSinceReset(t: number, period: number): number {
  if (period <= 0 || t <= period) return t;
  return ((t - 1) % period) + 2;
}

/**
 * SPAM's warmup after a reset (official CosineDecay(0.99, N) over CosineAnnealingLR(T_max = N + 1)):
 * k steps after a reset the update is scaled by 1 - 0.99 (1 + cos(pi k / (N + 1))) / 2 for k < N,
 * by 1 afterwards and before the first reset.
 */
export function resetWarmupFactor(t: number, period: number, warmupSteps: number): number {
  if (period <= 0 || t < period) return 1;
  const k = t % period;
  if (k >= warmupSteps) return 1;
  return 1 - (0.99 * (1 + Math.cos((Math.PI * k) / (warmupSteps + 1)))) / 2;
}

export function scaleByResetWarmup(period: number, warmupSteps: number): GradientTransformation {
  return transform('scaleByResetWarmup', { period, warmupSteps }, (params) => emptyState(params), (updates, state) => {
    const s = resetWarmupFactor(++state.count, period, warmupSteps);
    if (s === 1) return;
    for (const u of updates) for (let j = 0; j < u.length; j++) u[j]! *= s;
  });
}
