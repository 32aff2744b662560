// 8-bit Adam/AdamW ("8-bit Optimizers via Block-wise Quantization"; bitsandbytes Adam8bit with
// block-wise state): m and v are stored as uint8 codes into the signed / unsigned dynamic maps,
// one float32 absmax per block (256 as current bitsandbytes, 2048 as in the paper). Each step
// dequantizes, runs the float32 Adam update and requantizes with the block's new absmax. Tensors
// with fewer than `minQuantizedSize` (4096) elements keep float32 state, as bitsandbytes does.
// Deliberate difference from the bitsandbytes kernel: weight decay is the chain's decoupled
// addDecayedWeights (p -= lr (u + wd p)) instead of p *= 1 - lr wd after the step, which differs by
// lr^2 wd u, so 8-bit AdamW and AdamW share one weight-decay transform.

import { fail } from '../errors.js';
import { chain, emptyState, transform, type GradientTransformation, type ParamSlots } from './core.js';
import type { Schedule } from './schedules.js';
import { addDecayedWeights, scaleByLearningRate } from './transforms.js';
import { SIGNED_LUT, SIGNED_MAP, UNSIGNED_LUT, UNSIGNED_MAP, quantize } from './quant8.js';

export interface Adam8bitHyper {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  blockSize: number;
  minQuantizedSize: number;
}

export const ADAM8BIT_DEFAULTS: Adam8bitHyper = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, blockSize: 256, minQuantizedSize: 4096 };
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
      const ms = new Float32Array(blockSize);
      const vs = new Float32Array(blockSize);
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
          for (let k = 0; k < len; k++) {
            const j = start + k;
            const g = u[j]!;
            ms[k] = b1 * (SIGNED_MAP[mq[j]!]! * am) + (1 - b1) * g;
            vs[k] = b2 * (UNSIGNED_MAP[vq[j]!]! * av) + (1 - b2) * g * g;
            const m = ms[k]!;
            const v = vs[k]!;
            nm = Math.max(nm, Math.abs(ms[k]!));
            nv = Math.max(nv, vs[k]!);
            u[j] = m / bc1 / (Math.sqrt(v / bc2) + eps);
          }
          const im = nm > 0 ? 1 / nm : 0;
          const iv = nv > 0 ? 1 / nv : 0;
          for (let k = 0; k < len; k++) {
            mq[start + k] = quantize(ms[k]! * im, SIGNED_MAP, SIGNED_LUT);
            vq[start + k] = quantize(vs[k]! * iv, UNSIGNED_MAP, UNSIGNED_LUT);
          }
          mAbs[b] = nm;
          vAbs[b] = nv;
        }
      }
    },
  );
}

function validBlock(h: Adam8bitHyper): Adam8bitHyper {
  if (!Number.isInteger(h.blockSize) || h.blockSize < 1 || h.blockSize > 4096) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `8-bit Adam blockSize must be an integer in [1, 4096], got ${h.blockSize}`, { field: 'blockSize' });
  return h;
}

export function adam8bit(h: Adam8bitHyper, schedule: Schedule): GradientTransformation {
  validBlock(h);
  return chain(addDecayedWeights(h.weightDecay), scaleByAdam8bit(h.betas[0], h.betas[1], h.eps, h.blockSize, h.minQuantizedSize), scaleByLearningRate(h.lr, schedule));
}

export function adamw8bit(h: Adam8bitHyper, schedule: Schedule): GradientTransformation {
  validBlock(h);
  return chain(scaleByAdam8bit(h.betas[0], h.betas[1], h.eps, h.blockSize, h.minQuantizedSize), addDecayedWeights(h.weightDecay), scaleByLearningRate(h.lr, schedule));
}
