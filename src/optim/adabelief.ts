// AdaBelief ("AdaBelief Optimizer: Adapting Stepsizes by the Belief in Observed Gradients";
// official juntang-zhuang/Adabelief-Optimizer, adabelief-pytorch 0.2.1): s = b2 s + (1-b2) (g - m_t)^2
// + eps (the code adds eps into the stored s), u = (m / (1-b1^t)) / (sqrt(s / (1-b2^t)) + eps).
// Options as the package names them: `amsgrad` divides by the running maximum of s (the package's
// max over s + eps); weight decay decoupled (`weightDecouple`, default) as p *= 1 - lr wd, or with
// `fixedDecay` p *= 1 - wd, or an L2 term added to the gradient when not decoupled; `rectify` is
// the package's RAdam rectification (not in the paper's Algorithm 1, so off by default here while
// the package defaults it on): while the SMA length rho_t < 5 the step is plain momentum
// m / (1-b1^t), or no step with `degeneratedToSgd: false`; the rectified step divides by
// sqrt(s) + eps (s, not its AMSGrad maximum, as the package).

import { chain, emptyState, transform, type GradientTransformation, type ParamSlots } from './core.js';
import type { Schedule } from './schedules.js';
import { addDecayedWeights, decayWeights, scaleByLearningRate } from './transforms.js';

export interface AdaBeliefHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  rectify: boolean;
  amsgrad: boolean;
  weightDecouple: boolean;
  fixedDecay: boolean;
  degeneratedToSgd: boolean;
}

export const ADABELIEF_DEFAULTS: AdaBeliefHyper = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-16, weightDecay: 0, rectify: false, amsgrad: false, weightDecouple: true, fixedDecay: false, degeneratedToSgd: true };

export interface ScaleByBeliefOptions {
  rectify?: boolean;
  amsgrad?: boolean;
  degeneratedToSgd?: boolean;
}

export function scaleByBelief(b1: number, b2: number, eps: number, opts: ScaleByBeliefOptions = {}): GradientTransformation {
  const { rectify = false, amsgrad = false, degeneratedToSgd = true } = opts;
  const rhoInf = 2 / (1 - b2) - 1;
  return transform(
    'scaleByBelief',
    { b1, b2, eps, rectify, amsgrad, degeneratedToSgd },
    (params, alloc) => ({
      ...emptyState(params),
      slots: params.map((p): ParamSlots => {
        const n = p.data.length;
        return amsgrad ? { m: alloc.f32(n), s: alloc.f32(n), smax: alloc.f32(n) } : { m: alloc.f32(n), s: alloc.f32(n) };
      }),
    }),
    (updates, state) => {
      const t = ++state.count;
      const bc1 = 1 - b1 ** t;
      const bc2 = 1 - b2 ** t;
      const sq2 = Math.sqrt(bc2);
      const rho = rhoInf - (2 * t * b2 ** t) / bc2;
      // RAdam's variance rectification term r_t, in the form the official code computes it.
      const r = Math.sqrt((bc2 * (rho - 4) * (rho - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rho));
      const sgd = degeneratedToSgd ? 1 / bc1 : 0;
      for (let i = 0; i < updates.length; i++) {
        const u = updates[i]!;
        const { m, s, smax } = state.slots[i] as { m: Float32Array; s: Float32Array; smax?: Float32Array };
        for (let j = 0; j < u.length; j++) {
          const g = u[j]!;
          m[j] = b1 * m[j]! + (1 - b1) * g;
          const d = g - m[j]!;
          s[j] = b2 * s[j]! + (1 - b2) * d * d + eps;
          if (rectify) u[j] = rho >= 5 ? ((r / bc1) * m[j]!) / (Math.sqrt(s[j]!) + eps) : sgd * m[j]!;
          else u[j] = m[j]! / bc1 / (Math.sqrt((smax ? (smax[j] = Math.max(smax[j]!, s[j]!)) : s[j]!)) / sq2 + eps);
        }
        // The rectified path still keeps the AMSGrad maximum (the package updates it on every step).
        if (rectify && smax) for (let j = 0; j < u.length; j++) smax[j] = Math.max(smax[j]!, s[j]!);
      }
    },
  );
}

export function adabelief(h: AdaBeliefHyper, schedule: Schedule): GradientTransformation {
  const belief = scaleByBelief(h.betas[0], h.betas[1], h.eps, { rectify: h.rectify, amsgrad: h.amsgrad, degeneratedToSgd: h.degeneratedToSgd });
  const lr = scaleByLearningRate(h.lr, schedule);
  if (!h.weightDecouple) return chain(addDecayedWeights(h.weightDecay), belief, lr);
  if (h.fixedDecay) return chain(belief, lr, decayWeights(h.weightDecay));
  return chain(belief, addDecayedWeights(h.weightDecay), lr);
}
