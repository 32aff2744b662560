// 1-bit Adam ("1-bit Adam: Communication Efficient Large-Scale Training with Adam's Convergence
// Speed", Algorithm 1; DeepSpeed OnebitAdam). Warmup: plain Adam on the all-reduced (mean) gradient.
// Then v is frozen and only momentum is exchanged, compressed to sign plus one scale per tensor
// (scale = ||x||_2 / sqrt(n), sign(0) = +1 as DeepSpeed's packing) with error feedback on both
// sides: worker k compresses b1 m + (1-b1) g_k + e_k and keeps the residual in e_k; the server
// averages the workers' compressed momenta, compresses again with its own residual e_s, and that
// is the new momentum every worker uses. u = m / (sqrt(v) + eps), no bias correction (as the paper
// and DeepSpeed). The workers are simulated in one process: `step(params, meanGrads, {workerGrads})`.
// State holds m, v and the error buffers of every simulated worker and the server.

import { fail } from '../errors.js';
import { chain, emptyState, transform, type GradientTransformation } from './core.js';
import type { Schedule } from './schedules.js';
import { addDecayedWeights, scaleByLearningRate } from './transforms.js';

export interface OneBitAdamHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  /** Steps of full-precision Adam before compression starts (the paper's warmup). */
  freezeStep: number;
  workers: number;
}

export const ONEBIT_ADAM_DEFAULTS: OneBitAdamHyper = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, freezeStep: 100, workers: 1 };

/** In place: x <- scale * sign(x) with scale = ||x||_2 / sqrt(n); returns the scale. */
export function compressSign(x: Float32Array): number {
  let sq = 0;
  for (let j = 0; j < x.length; j++) sq += x[j]! * x[j]!;
  const scale = Math.sqrt(sq / x.length);
  for (let j = 0; j < x.length; j++) x[j] = x[j]! >= 0 ? scale : -scale;
  return scale;
}

export function scaleByOneBitAdam(b1: number, b2: number, eps: number, freezeStep: number, workers: number): GradientTransformation {
  return transform(
    'scaleByOneBitAdam',
    { b1, b2, eps, freezeStep, workers },
    (params, alloc) => ({
      ...emptyState(params),
      slots: params.map((p) => {
        const n = p.data.length;
        const s: Record<string, Float32Array> = { m: alloc.f32(n), v: alloc.f32(n), serverError: alloc.f32(n) };
        for (let k = 0; k < workers; k++) s[`workerError${k}`] = alloc.f32(n);
        return s;
      }),
    }),
    (updates, state, ctx) => {
      const t = ++state.count;
      const perWorker = ctx.workerGrads ?? [updates.map((u) => u.slice())];
      if (perWorker.length !== workers) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `onebit-adam is configured for ${workers} workers but step() got gradients of ${perWorker.length}`, { field: 'workerGrads' });
      for (let i = 0; i < updates.length; i++) {
        const u = updates[i]!;
        const slot = state.slots[i] as Record<string, Float32Array>;
        const m = slot.m!;
        const v = slot.v!;
        if (t <= freezeStep) {
          for (let j = 0; j < u.length; j++) {
            m[j] = b1 * m[j]! + (1 - b1) * u[j]!;
            v[j] = b2 * v[j]! + (1 - b2) * u[j]! * u[j]!;
          }
        } else {
          const avg = new Float32Array(u.length);
          const local = new Float32Array(u.length);
          for (let k = 0; k < workers; k++) {
            const g = perWorker[k]![i]!;
            const e = slot[`workerError${k}`]!;
            for (let j = 0; j < u.length; j++) local[j] = b1 * m[j]! + (1 - b1) * g[j]! + e[j]!;
            const before = local.slice();
            compressSign(local);
            for (let j = 0; j < u.length; j++) {
              e[j] = before[j]! - local[j]!;
              avg[j]! += local[j]! / workers;
            }
          }
          const es = slot.serverError!;
          for (let j = 0; j < u.length; j++) avg[j]! += es[j]!;
          const before = avg.slice();
          compressSign(avg);
          for (let j = 0; j < u.length; j++) {
            es[j] = before[j]! - avg[j]!;
            m[j] = avg[j]!;
          }
        }
        for (let j = 0; j < u.length; j++) u[j] = m[j]! / (Math.sqrt(v[j]!) + eps);
      }
    },
  );
}

export function onebitAdam(h: OneBitAdamHyper, schedule: Schedule): GradientTransformation {
  if (!Number.isInteger(h.workers) || h.workers < 1) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `onebit-adam workers must be a positive integer, got ${h.workers}`, { field: 'workers' });
  return chain(scaleByOneBitAdam(h.betas[0], h.betas[1], h.eps, h.freezeStep, h.workers), addDecayedWeights(h.weightDecay), scaleByLearningRate(h.lr, schedule));
}
