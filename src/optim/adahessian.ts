// AdaHessian ("ADAHESSIAN: An Adaptive Second Order Optimizer for Machine Learning"; official
// amirgholami/adahessian, instruction/adahessian.py, the version for transformer parameters): D =
// z * (H z) for a Rademacher z (Hutchinson), |D| averaged over blocks of each tensor (below);
// m = b1 m + (1-b1) g; v = b2 v + (1-b2) D^2; u = (m / (1-b1^t)) / ((sqrt(v) / sqrt(1-b2^t))^k + eps),
// Hessian power k; weight decay decoupled as the code's p - lr (u + wd p). The estimate is needed
// every step.

import { fail } from '../errors.js';
import { chain, emptyState, transform, type GradientTransformation } from './core.js';
import type { Schedule } from './schedules.js';
import { addDecayedWeights, scaleByLearningRate } from './transforms.js';

export interface AdaHessianHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  hessianPower: number;
  /**
   * The code's spatial_average_block_size for tensors of rank 1, 2, 3, 4: -1 averages |D| over no
   * dimension (rank 1), each row (rank 2), the last dimension (rank 3, a 1-D conv kernel) or the
   * last two (rank 4, a 2-D conv kernel); a positive b averages over consecutive blocks of b elements.
   */
  spatialAverageBlockSize: [number, number, number, number];
}

export const ADAHESSIAN_DEFAULTS: AdaHessianHyper = { lr: 0.15, betas: [0.9, 0.999], eps: 1e-4, weightDecay: 0, hessianPower: 1, spatialAverageBlockSize: [-1, -1, -1, -1] };

/** Trailing dimensions averaged by default, by rank (instruction/adahessian.py get_trace). */
const DEFAULT_AVERAGED_DIMS: Record<number, number> = { 1: 0, 2: 1, 3: 1, 4: 2 };

/** Length of the consecutive blocks |D| is averaged over, for a tensor of these dims. */
export function averagingBlock(dims: number[], blockSizes: readonly number[], name = 'parameter'): number {
  const rank = Math.max(1, dims.length);
  const n = dims.reduce((a, b) => a * b, 1);
  if (rank > 4) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `adahessian: "${name}" has rank ${rank}; the official spatial averaging covers ranks 1-4 (set its block size by reshaping the parameter)`, { field: name });
  const b = blockSizes[rank - 1]!;
  if (b !== -1) {
    if (!(Number.isInteger(b) && b > 0 && n % b === 0)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `adahessian spatialAverageBlockSize[${rank - 1}] = ${b} must be -1 or a positive divisor of "${name}"'s ${n} elements`, { field: `spatialAverageBlockSize[${rank - 1}]` });
    return b;
  }
  return dims.slice(dims.length - DEFAULT_AVERAGED_DIMS[rank]!).reduce((a, x) => a * x, 1);
}

/** Mean of |D| over consecutive blocks of `block` elements, broadcast back (block 1: |D| itself). */
export function spatialAverage(d: Float32Array, block: number, out = new Float32Array(d.length)): Float32Array {
  for (let s = 0; s < d.length; s += block) {
    let sum = 0;
    for (let j = s; j < s + block; j++) sum += Math.abs(d[j]!);
    out.fill(sum / block, s, s + block);
  }
  return out;
}

export function scaleByAdaHessian(b1: number, b2: number, eps: number, k: number, blockSizes: readonly number[] = ADAHESSIAN_DEFAULTS.spatialAverageBlockSize): GradientTransformation {
  return transform(
    'scaleByAdaHessian',
    { b1, b2, eps, hessianPower: k, spatialAverageBlockSize: blockSizes },
    (params, alloc) => {
      for (const p of params) averagingBlock(p.dims, blockSizes, p.name);
      return { ...emptyState(params), slots: params.map((p) => ({ m: alloc.f32(p.data.length), v: alloc.f32(p.data.length) })) };
    },
    (updates, state, ctx) => {
      const t = ++state.count;
      const bc1 = 1 - b1 ** t;
      const sq2k = Math.sqrt(1 - b2 ** t) ** k;
      for (let i = 0; i < updates.length; i++) {
        const u = updates[i]!;
        const m = state.slots[i]!.m as Float32Array;
        const v = state.slots[i]!.v as Float32Array;
        const p = ctx.params[i]!;
        const d = spatialAverage(ctx.hessianDiag![i]!, averagingBlock(p.dims, blockSizes, p.name));
        for (let j = 0; j < u.length; j++) {
          m[j] = b1 * m[j]! + (1 - b1) * u[j]!;
          v[j] = b2 * v[j]! + (1 - b2) * d[j]! * d[j]!;
          u[j] = m[j]! / bc1 / (Math.sqrt(v[j]!) ** k / sq2k + eps);
        }
      }
    },
    { needsHessian: () => true },
  );
}

export function adahessian(h: AdaHessianHyper, schedule: Schedule): GradientTransformation {
  return chain(scaleByAdaHessian(h.betas[0], h.betas[1], h.eps, h.hessianPower, h.spatialAverageBlockSize), addDecayedWeights(h.weightDecay), scaleByLearningRate(h.lr, schedule));
}
