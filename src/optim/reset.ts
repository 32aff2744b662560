// Momentum reset as a transform wrapper (SPAM, Stable-SPAM): every `period` steps the wrapped
// transform's state arrays are zeroed before its update. SPAM keeps the bias-correction count
// running; Stable-SPAM restarts it, so the reset step is step 1 again. And SPAM's cosine warmup of
// the update after each reset, as a multiplier transform.

import { emptyState, transform, type GradientTransformation, type TransformState } from './core.js';

function zero(s: TransformState): void {
  for (const slots of s.slots) for (const a of Object.values(slots)) a.fill(0);
  for (const c of s.children ?? []) zero(c);
}

export function periodicReset(inner: GradientTransformation, period: number, restartCount: boolean): GradientTransformation {
  return transform(
    'periodicReset',
    { period, restartCount },
    (params, alloc) => ({ ...emptyState(params), children: [inner.init(params, alloc)] }),
    (updates, state, ctx) => {
      const t = ++state.count;
      const innerState = state.children![0]!;
      if (period > 0 && t % period === 0) {
        zero(innerState);
        if (restartCount) innerState.count = 0;
      }
      inner.update(updates, innerState, ctx);
    },
    { children: [inner] },
  );
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
