// Kernels for momentum SGD (torch's SGD, SGD-SaI) and the projected AdamP/SGDP, whose per-row
// cosine similarities come from one fused reduction pass before the update.

import type { GradientTransformation, Param } from '../core.js';
import { gradientSnr } from '../sgd-sai.js';
import { hasMember, learningRate, member, ptr, tickAll, type KernelSpec } from './chain.js';
import { scratchF64 } from './module.js';

/** chain(addDecayedWeights, trace, lr) and SGD-SaI's chain(trace, scaleBySnr, addDecayedWeights, lr). */
const momentum: KernelSpec = {
  name: 'momentum',
  signatures: ['chain(addDecayedWeights,trace,scaleByLearningRate)', 'chain(trace,scaleBySnr,addDecayedWeights,scaleByLearningRate)'],
  make: ({ x }) => (params, grads, state, t) => {
    tickAll(state);
    const tr = member(t, state, 'trace');
    const { momentum: mu, nesterov, dampening, firstIsGrad } = tr.hyper as { momentum: number; nesterov: boolean; dampening: number; firstIsGrad: boolean };
    const first = firstIsGrad && tr.state.count === 1 ? 1 : 0;
    const lr = learningRate(t, state);
    const wd = member(t, state, 'addDecayedWeights').hyper.weightDecay as number;
    const snr = hasMember(t, 'scaleBySnr') ? member(t, state, 'scaleBySnr') : undefined;
    params.forEach((p, i) => {
      let step = lr;
      let decay = 0;
      let l2 = wd;
      if (snr) {
        const gsnr = snr.state.slots[i]!.gsnr as Float64Array;
        if (snr.state.count === 1) gsnr[0] = gradientSnr(grads[i]!, snr.hyper.eps as number);
        [step, decay, l2] = [lr * gsnr[0]!, lr * wd, 0];
      }
      x.momentum_step(ptr(p.data), ptr(grads[i]), ptr(tr.state.slots[i]!.momentum), p.data.length, l2, mu, 1 - dampening, nesterov ? 1 : 0, first, step, decay);
    });
  },
};

/** AdamP / SGDP: the radial projection's test (channel-wise, then layer-wise) from fused row dot products. */
const projected: KernelSpec = {
  name: 'projected',
  signatures: ['chain(scaleByAdam,projectRadial,addDecayedWeights,scaleByLearningRate)', 'chain(trace,projectRadial,addDecayedWeights,scaleByLearningRate)'],
  accepts: (t: GradientTransformation) => {
    const a = t.children![0]!;
    if (a.name === 'trace') return a.hyper.firstIsGrad === false;
    const h = a.hyper;
    return !h.amsgrad && !h.epsOutsideCorrection && h.biasCorrection !== false && h.b1Schedule === undefined;
  },
  make: (k) => (params, grads, state, t) => {
    tickAll(state);
    const adam = t.children![0]!.name === 'scaleByAdam';
    const first = member(t, state, adam ? 'scaleByAdam' : 'trace');
    const pr = member(t, state, 'projectRadial');
    const { delta, eps, wdRatio } = pr.hyper as { delta: number; eps: number; wdRatio: number };
    const lr = learningRate(t, state);
    const wd = member(t, state, 'addDecayedWeights').hyper.weightDecay as number;
    let kind = 1;
    let c = { b1: 0, b2: 0, c1: 0, c2: 0, eps: 0, k1: 1, k2: 1, nesterov: 0 };
    if (adam) {
      const h = first.hyper as { b1: number; b2: number; eps: number; nesterov: boolean };
      const n = first.state.count;
      kind = 0;
      c = { b1: h.b1, b2: h.b2, c1: 1 - h.b1, c2: 1 - h.b2, eps: h.eps, k1: 1 / (1 - h.b1 ** n), k2: 1 / (1 - h.b2 ** n), nesterov: h.nesterov ? 1 : 0 };
    } else {
      const h = first.hyper as { momentum: number; dampening: number; nesterov: boolean };
      c = { ...c, b1: h.momentum, c1: 1 - h.dampening, nesterov: h.nesterov ? 1 : 0 };
    }
    params.forEach((p: Param, i) => {
      const n = p.data.length;
      const slot = first.state.slots[i]!;
      const buf = adam ? slot.m : slot.momentum;
      const { rows, width, inv } = projection(k, p, grads[i]!, delta, eps);
      (pr.state.slots[i]!.wdRatio as Float32Array)[0] = inv ? wdRatio : 1;
      if (inv) k.x.projected_step(ptr(p.data), ptr(grads[i]), ptr(buf), ptr(slot.v), rows, width, kind, c.b1, c.b2, c.c1, c.c2, c.eps, c.k1, c.k2, c.nesterov, ptr(inv), ptr(k.scratch('projected-row', width)), lr, lr * wd * wdRatio);
      else if (adam) k.x.adam_step(ptr(p.data), ptr(grads[i]), ptr(buf), ptr(slot.v), 0, n, lr, c.b1, c.b2, c.c1, c.c2, c.eps, c.k1, c.k2, 0, lr * wd, 0, 0, Number.POSITIVE_INFINITY, 1, 1, c.nesterov);
      else k.x.momentum_step(ptr(p.data), ptr(grads[i]), ptr(buf), n, 0, c.b1, c.c1, c.nesterov, 0, lr, lr * wd);
    });
  },
};

/**
 * AdamP's test (adamp.py _projection): the largest |cos(g, p)| over the rows of [dims0, rest] below
 * delta / sqrt(width) projects each row; else the same over the whole tensor as one row. Returns
 * the rows of the projection and 1 / (||p_row|| + eps) for each, or no `inv` when not scale-invariant.
 */
function projection(k: Parameters<KernelSpec['make']>[0], p: Param, g: Float32Array, delta: number, eps: number): { rows: number; width: number; inv?: Float32Array } {
  const n = p.data.length;
  if (p.dims.length <= 1) return { rows: 1, width: n };
  const rows = p.dims[0]!;
  const width = n / rows;
  const dots = scratchF64(k.arena, 'row-dots', 3 * rows);
  k.x.row_dots(ptr(p.data), ptr(g), rows, width, ptr(dots));
  const cos = (pg: number, pp: number, gg: number) => Math.abs(pg) / (Math.max(Math.sqrt(pp), eps) * Math.max(Math.sqrt(gg), eps));
  let maxCos = 0;
  let [spg, spp, sgg] = [0, 0, 0];
  for (let r = 0; r < rows; r++) {
    maxCos = Math.max(maxCos, cos(dots[3 * r]!, dots[3 * r + 1]!, dots[3 * r + 2]!));
    spg += dots[3 * r]!;
    spp += dots[3 * r + 1]!;
    sgg += dots[3 * r + 2]!;
  }
  if (maxCos < delta / Math.sqrt(width)) {
    const inv = k.scratch('row-inv', rows).subarray(0, rows);
    for (let r = 0; r < rows; r++) inv[r] = 1 / (Math.sqrt(dots[3 * r + 1]!) + eps);
    return { rows, width, inv };
  }
  if (cos(spg, spp, sgg) < delta / Math.sqrt(n)) return { rows: 1, width: n, inv: k.scratch('row-inv', 1).subarray(0, 1).fill(1 / (Math.sqrt(spp) + eps)) };
  return { rows: 1, width: n };
}

export const SGD_FAMILY_KERNELS: KernelSpec[] = [momentum, projected];
