// Kernels for Sophia's and AdaHessian's updates; the Hessian diagonal arrives in the arena.

import { averagingBlock } from '../adahessian.js';
import { sophiaNeedsHessian } from '../sophia.js';
import { learningRate, member, ptr, tickAll, type KernelSpec } from './chain.js';

const sophia: KernelSpec = {
  name: 'sophia',
  signatures: ['chain(scaleBySophia,addDecayedWeights,scaleByLearningRate)'],
  make: ({ x }) => (params, grads, state, t, aux) => {
    tickAll(state);
    const s = member(t, state, 'scaleBySophia');
    const { b1, b2, gamma, eps, hessianInterval } = s.hyper as { b1: number; b2: number; gamma: number; eps: number; hessianInterval: number };
    const refresh = sophiaNeedsHessian(s.state.count, hessianInterval) ? aux.hessianDiag : undefined;
    const lr = learningRate(t, state);
    const wd = member(t, state, 'addDecayedWeights').hyper.weightDecay as number;
    params.forEach((p, i) => {
      const slot = s.state.slots[i]!;
      x.sophia_step(ptr(p.data), ptr(grads[i]), ptr(slot.m), ptr(slot.h), ptr(refresh?.[i]), p.data.length, b1, b2, 1 - b1, 1 - b2, gamma, eps, lr, wd);
    });
  },
};

const adahessian: KernelSpec = {
  name: 'adahessian',
  signatures: ['chain(scaleByAdaHessian,addDecayedWeights,scaleByLearningRate)'],
  // sqrt(v)^k without libm: k = 1 and k = 1/2 (sqrt of sqrt).
  accepts: (t) => [1, 0.5].includes(t.children![0]!.hyper.hessianPower as number),
  make: ({ x }) => (params, grads, state, t, aux) => {
    tickAll(state);
    const a = member(t, state, 'scaleByAdaHessian');
    const { b1, b2, eps, hessianPower: k, spatialAverageBlockSize } = a.hyper as { b1: number; b2: number; eps: number; hessianPower: number; spatialAverageBlockSize: number[] };
    const n = a.state.count;
    const lr = learningRate(t, state);
    const wd = member(t, state, 'addDecayedWeights').hyper.weightDecay as number;
    const isq2k = 1 / Math.sqrt(1 - b2 ** n) ** k;
    params.forEach((p, i) => {
      const slot = a.state.slots[i]!;
      x.adahessian_step(ptr(p.data), ptr(grads[i]), ptr(aux.hessianDiag![i]), ptr(slot.m), ptr(slot.v), p.data.length, averagingBlock(p.dims, spatialAverageBlockSize, p.name), b1, b2, 1 - b1, 1 - b2, 1 / (1 - b1 ** n), isq2k, eps, lr, wd, k === 0.5 ? 1 : 0);
    });
  },
};

export const SECOND_ORDER_KERNELS: KernelSpec[] = [sophia, adahessian];
