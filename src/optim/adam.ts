// Adam ("Adam: A Method for Stochastic Optimization", Algorithm 1), AMSGrad ("On the Convergence of
// Adam and Beyond": divide by the running maximum of v) and AdamW ("Decoupled Weight Decay
// Regularization"): AdamW = chain(scaleByAdam, addDecayedWeights, scaleByLearningRate), Adam with an
// L2 penalty puts addDecayedWeights first. Bias correction and eps placement as torch.optim.Adam.

import { chain, emptyState, transform, type GradientTransformation, type ParamSlots } from './core.js';
import type { Schedule } from './schedules.js';
import { addDecayedWeights, scaleByLearningRate } from './transforms.js';

export interface AdamHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
}

export const ADAM_DEFAULTS: AdamHyper = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false };
export const ADAMW_DEFAULTS: AdamHyper = { ...ADAM_DEFAULTS, weightDecay: 1e-2 };

export interface ScaleByAdamOptions {
  /** AMSGrad: divide by the running maximum of v. */
  amsgrad?: boolean;
  /**
   * Put eps next to the uncorrected sqrt(v): u = (m / (1-b1^t)) * sqrt(1-b2^t) / (sqrt(v) + eps), as
   * Hugging Face's AdamW (and SPAM's and SOAP's code built on it) do.
   */
  epsOutsideCorrection?: boolean;
  /** AdamP's Nesterov form: the numerator is b1 m_t + (1-b1) g_t (clovaai/AdamP `nesterov=True`). */
  nesterov?: boolean;
  /** false drops both bias corrections (SPAM's `correct_bias=False`). */
  biasCorrection?: boolean;
  /**
   * b1 at step t is b1 * b1Schedule(t), t the optimizer's step (Stable-SPAM's cosine `total_T`
   * schedule); the bias correction is then 1 - (b1 b1Schedule(t))^k with this transform's own count k.
   */
  b1Schedule?: Schedule;
}

/**
 * m = b1 m + (1-b1) u; v = b2 v + (1-b2) u^2; u = (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps), with
 * the options above.
 */
export function scaleByAdam(b1: number, b2: number, eps: number, opts: ScaleByAdamOptions = {}): GradientTransformation {
  const { amsgrad = false, epsOutsideCorrection = false, nesterov = false, biasCorrection = true, b1Schedule } = opts;
  return transform(
    'scaleByAdam',
    { b1, b2, eps, amsgrad, epsOutsideCorrection, nesterov, biasCorrection, b1Schedule },
    (params, alloc) => {
      const s = emptyState(params);
      s.slots = params.map((p): ParamSlots => {
        const n = p.data.length;
        return amsgrad ? { m: alloc.f32(n), v: alloc.f32(n), vmax: alloc.f32(n) } : { m: alloc.f32(n), v: alloc.f32(n) };
      });
      return s;
    },
    (updates, state, ctx) => {
      const t = ++state.count;
      const b1t = b1Schedule ? b1 * b1Schedule(ctx.step ?? t) : b1;
      const bc1 = biasCorrection ? 1 - b1t ** t : 1;
      const bc2 = biasCorrection ? 1 - b2 ** t : 1;
      const sq2 = Math.sqrt(bc2);
      for (let i = 0; i < updates.length; i++) {
        const u = updates[i]!;
        const { m, v, vmax } = state.slots[i] as { m: Float32Array; v: Float32Array; vmax?: Float32Array };
        for (let j = 0; j < u.length; j++) {
          const g = u[j]!;
          m[j] = b1t * m[j]! + (1 - b1t) * g;
          v[j] = b2 * v[j]! + (1 - b2) * g * g;
          let vj = v[j]!;
          if (vmax) vj = vmax[j] = Math.max(vmax[j]!, vj);
          const num = nesterov ? b1t * m[j]! + (1 - b1t) * g : m[j]!;
          u[j] = epsOutsideCorrection ? ((num / bc1) * sq2) / (Math.sqrt(vj) + eps) : num / bc1 / (Math.sqrt(vj / bc2) + eps);
        }
      }
    },
  );
}

export function adam(h: AdamHyper, schedule: Schedule): GradientTransformation {
  return chain(addDecayedWeights(h.weightDecay), scaleByAdam(h.betas[0], h.betas[1], h.eps, { amsgrad: h.amsgrad }), scaleByLearningRate(h.lr, schedule));
}

export function adamw(h: AdamHyper, schedule: Schedule): GradientTransformation {
  return chain(scaleByAdam(h.betas[0], h.betas[1], h.eps, { amsgrad: h.amsgrad }), addDecayedWeights(h.weightDecay), scaleByLearningRate(h.lr, schedule));
}
