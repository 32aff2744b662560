// 8-bit Adam/AdamW ("8-bit Optimizers via Block-wise Quantization"; bitsandbytes Adam8bit/AdamW8bit
// with block-wise state, csrc/kernels.cu kOptimizerStatic8bit2StateBlockwise): m and v are stored as
// uint8 codes into the signed / unsigned dynamic maps, one float32 absmax per block (256 as current
// bitsandbytes, 2048 as in the paper). Each step dequantizes, runs the float32 Adam update and
// requantizes with the block's new absmax; the first moment keeps its sign through quantization
// (quantizeKeepSign). Tensors with fewer than `minQuantizedSize` (bitsandbytes' min_8bit_size, 4096)
// elements keep float32 state (kOptimizer32bit2State), as bitsandbytes does.
// As the kernels: weight decay multiplies the updated parameter, p = (p + u)(1 - lr wd), for both
// Adam8bit and AdamW8bit (the two differ only in their default weight decay). bitsandbytes disagrees
// with itself here (commit 95f9af3): its pure-PyTorch reference (backends/triton/kernels_optim.py,
// which the fixtures without decay come from) and default CPU ops decay p before adding u; the CUDA
// kernels that users' runs execute decay after, and those are followed. `percentileClipping`
// < 100 scales each gradient by its norm's percentile over the last 100 steps (bitsandbytes 0.49's
// percentile_clipping); `maxUnorm` > 0 caps the Adam update's norm at maxUnorm * ||p|| on the
// tensors with float32 state (the block-wise kernel has no update norm). Not followed: the kernels
// zero the moments and skip the update of entries whose gradient is NaN or infinite.
//   chain(percentileClipping?, scaleByAdam8bit, clipUpdateNorm?, lr, decayWeights(afterStep))

import { fail } from '../errors.js';
import { chain, emptyState, transform, type GradientTransformation, type Param, type ParamSlots } from './core.js';
import type { Schedule } from './schedules.js';
import { decayWeights, scaleByLearningRate } from './transforms.js';
import { SIGNED_MAP, UNSIGNED_MAP, lookupTableOf, quantize, quantizeKeepSign } from './quant8.js';

const f = Math.fround;

export interface Adam8bitHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  blockSize: number;
  minQuantizedSize: number;
  /** bitsandbytes' percentile_clipping: 100 is off; p < 100 clips each tensor's gradient norm at the p-th smallest of its last 100. */
  percentileClipping: number;
  /** bitsandbytes' max_unorm: 0 is off; else ||u|| <= maxUnorm * ||p|| on tensors with float32 state. */
  maxUnorm: number;
}

export const ADAM8BIT_DEFAULTS: Adam8bitHyper = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, blockSize: 256, minQuantizedSize: 4096, percentileClipping: 100, maxUnorm: 0 };
export const ADAMW8BIT_DEFAULTS: Adam8bitHyper = { ...ADAM8BIT_DEFAULTS, weightDecay: 1e-2 };

export function scaleByAdam8bit(b1: number, b2: number, eps: number, blockSize = 256, minQuantizedSize = 4096): GradientTransformation {
  return transform(
    'scaleByAdam8bit',
    { b1, b2, eps, blockSize, minQuantizedSize },
    (params, alloc) => {
      const s = emptyState(params);
      s.slots = params.map((p): ParamSlots => {
        const n = p.data.length;
        if (n < minQuantizedSize) return { m: alloc.f32(n), v: alloc.f32(n) };
        const blocks = Math.ceil(n / blockSize);
        // Code of 0 in each map, so a fresh state dequantizes to zeros whatever its absmax.
        const mq = alloc.u8(n).fill(SIGNED_MAP.indexOf(0));
        const vq = alloc.u8(n).fill(UNSIGNED_MAP.indexOf(0));
        return { mq, vq, mAbsmax: alloc.f32(blocks), vAbsmax: alloc.f32(blocks) };
      });
      return s;
    },
    (updates, state) => {
      const t = ++state.count;
      const bc1 = 1 - b1 ** t;
      const bc2 = 1 - b2 ** t;
      const [b1f, b2f, c1f, c2f, epsf, ibc1, ibc2] = [b1, b2, 1 - b1, 1 - b2, eps, 1 / bc1, 1 / bc2].map(f);
      const ms = new Float32Array(blockSize);
      const vs = new Float32Array(blockSize);
      const signedLut = lookupTableOf(SIGNED_MAP);
      const unsignedLut = lookupTableOf(UNSIGNED_MAP);
      for (let i = 0; i < updates.length; i++) {
        const u = updates[i]!;
        const slot = state.slots[i]!;
        if (slot.m) {
          const m = slot.m as Float32Array;
          const v = slot.v as Float32Array;
          for (let j = 0; j < u.length; j++) {
            const g = u[j]!;
            m[j] = b1 * m[j]! + (1 - b1) * g;
            v[j] = b2 * v[j]! + (1 - b2) * g * g;
            u[j] = m[j]! / bc1 / (Math.sqrt(v[j]! / bc2) + eps);
          }
          continue;
        }
        const mq = slot.mq as Uint8Array;
        const vq = slot.vq as Uint8Array;
        const mAbs = slot.mAbsmax as Float32Array;
        const vAbs = slot.vAbsmax as Float32Array;
        for (let start = 0, b = 0; start < u.length; start += blockSize, b++) {
          const len = Math.min(blockSize, u.length - start);
          const am = mAbs[b]!;
          const av = vAbs[b]!;
          let nm = 0;
          let nv = 0;
          // Single-precision operations in the kernel's order (f = Math.fround): the moments, and so the
          // quantization codes, are then bit-identical to the wasm kernel's, not a midpoint apart.
          for (let k = 0; k < len; k++) {
            const j = start + k;
            const g = u[j]!;
            const m = (ms[k] = f(f(b1f * f(SIGNED_MAP[mq[j]!]! * am)) + f(c1f * g)));
            const v = (vs[k] = f(f(b2f * f(UNSIGNED_MAP[vq[j]!]! * av)) + f(c2f * f(g * g))));
            nm = Math.max(nm, Math.abs(m));
            nv = Math.max(nv, v);
            u[j] = f(f(m * ibc1) / f(f(Math.sqrt(f(v * ibc2))) + epsf));
          }
          for (let k = 0; k < len; k++) {
            mq[start + k] = nm > 0 ? quantizeKeepSign(ms[k]! / nm, SIGNED_MAP, signedLut) : quantize(0, SIGNED_MAP, signedLut);
            vq[start + k] = quantize(nv > 0 ? vs[k]! / nv : 0, UNSIGNED_MAP, unsignedLut);
          }
          mAbs[b] = nm;
          vAbs[b] = nv;
        }
      }
    },
  );
}

/**
 * bitsandbytes' percentile clipping (functional.percentile_clipping over the kPercentileClipping
 * kernel, 0.49): each tensor keeps its last 100 squared gradient norms (all 100 set to the first
 * one at step 1, then slot t mod 100); when ||g|| exceeds the `percentile`-th smallest stored norm,
 * g is scaled down to it.
 */
export function percentileClipping(percentile: number): GradientTransformation {
  if (!(Number.isInteger(percentile) && percentile >= 0 && percentile <= 100)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `percentileClipping must be an integer in [0, 100], got ${percentile}`, { field: 'percentileClipping' });
  return transform(
    'percentileClipping',
    { percentile },
    (params) => ({ ...emptyState(params), slots: params.map(() => ({ gnorms: new Float32Array(100) })) }),
    (updates, state) => {
      const t = ++state.count;
      for (let i = 0; i < updates.length; i++) {
        const u = updates[i]!;
        const gnorms = state.slots[i]!.gnorms as Float32Array;
        let sq = 0;
        for (let j = 0; j < u.length; j++) sq += u[j]! * u[j]!;
        if (t === 1) gnorms.fill(sq);
        else gnorms[t % 100] = sq;
        const current = Math.sqrt(gnorms[t % 100]!);
        const clip = Math.sqrt(Float32Array.from(gnorms).sort()[percentile]!);
        // One float32 factor, as the kernel multiplies by its float gnorm_scale.
        const s = f(clip / current);
        if (current > clip) for (let j = 0; j < u.length; j++) u[j]! *= s;
      }
    },
  );
}

/**
 * bitsandbytes' max_unorm (kOptimizer32bit2State with the update norm of
 * kPreconditionOptimizer32bit2State): if ||u|| > maxUnorm * ||p||, u is scaled to that norm. Only
 * tensors `appliesTo` accepts (bitsandbytes: those with float32 state).
 */
export function clipUpdateNorm(maxUnorm: number, appliesTo: (p: Param) => boolean = () => true): GradientTransformation {
  return transform('clipUpdateNorm', { maxUnorm }, (params) => emptyState(params), (updates, state, ctx) => {
    state.count++;
    if (maxUnorm <= 0) return;
    for (let i = 0; i < updates.length; i++) {
      const p = ctx.params[i]!;
      if (!appliesTo(p)) continue;
      const u = updates[i]!;
      let uu = 0;
      let pp = 0;
      for (let j = 0; j < u.length; j++) {
        uu += u[j]! * u[j]!;
        pp += p.data[j]! * p.data[j]!;
      }
      const limit = maxUnorm * Math.sqrt(pp);
      const norm = Math.sqrt(uu);
      if (norm > limit) for (let j = 0; j < u.length; j++) u[j]! *= limit / norm;
    }
  });
}

function validBlock(h: Adam8bitHyper): Adam8bitHyper {
  if (!Number.isInteger(h.blockSize) || h.blockSize < 1 || h.blockSize > 4096) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `8-bit Adam blockSize must be an integer in [1, 4096], got ${h.blockSize}`, { field: 'blockSize' });
  return h;
}

export function adamw8bit(h: Adam8bitHyper, schedule: Schedule): GradientTransformation {
  validBlock(h);
  const clip = h.percentileClipping < 100 ? [percentileClipping(h.percentileClipping)] : [];
  const unorm = h.maxUnorm > 0 ? [clipUpdateNorm(h.maxUnorm, (p) => p.data.length < h.minQuantizedSize)] : [];
  return chain(
    ...clip,
    scaleByAdam8bit(h.betas[0], h.betas[1], h.eps, h.blockSize, h.minQuantizedSize),
    ...unorm,
    scaleByLearningRate(h.lr, schedule),
    decayWeights(h.weightDecay, { lr: h.lr, schedule, afterStep: true }),
  );
}

/** bitsandbytes' Adam8bit runs the same kernel as AdamW8bit (weight decay after the update); only the default decay differs. */
export const adam8bit = adamw8bit;
