// SOAP on the arena: the same transform code as the TypeScript path (soap.ts), its dense
// operations run by the wasm kernels (the same float32 bits, four lanes at a time), and the rest of
// the chain (learning rate, weight decay after the step, p += u) fused into one pass.

import type { MatrixOps } from '../matrix-ops.js';
import type { Schedule } from '../schedules.js';
import { member, ptr, type KernelSpec } from './chain.js';
import type { ArenaKernels } from './module.js';

/** MatrixOps over arena arrays (every array SOAP hands them is arena state or an arena scratch). */
export function wasmMatrixOps(k: ArenaKernels): MatrixOps {
  const { x } = k;
  return {
    gemm: (a, sai, sak, b, ldb, c, ldc, m, kk, n, accumulate) => x.gemm(ptr(a), sai, sak, ptr(b), ldb, ptr(c), ldc, m, kk, n, accumulate ? 1 : 0),
    adam: (g, m, v, out, b1, b2, c1, c2, eps) => x.soap_adam(ptr(g), ptr(m), ptr(v), ptr(out), g.length, b1, b2, c1, c2, eps),
    sumsq: (a) => x.sumsq(ptr(a), a.length),
    scale: (a, s, out) => x.scale_to(ptr(a), ptr(out), a.length, s),
    transpose: (src, rows, cols, dst) => x.transpose(ptr(src), rows, cols, ptr(dst)),
    scratch: (purpose, n) => k.scratch(purpose, n),
  };
}

const soap: KernelSpec = {
  name: 'soap',
  signatures: ['chain(scaleBySoap,scaleByLearningRate,afterFirstStep(decayWeights))'],
  make: (k) => {
    const ops = wasmMatrixOps(k);
    return (params, grads, state, t, aux) => {
      // Counts as the TypeScript chain advances them (afterFirstStep's member only from step 2).
      state.count++;
      const [soapState, lrState, afterState] = state.children!;
      const updates = params.map((p, i) => {
        const u = k.scratch(`soap-u${i}`, p.data.length).subarray(0, p.data.length);
        u.set(grads[i]!);
        return u;
      });
      t.children![0]!.update(updates, soapState!, { params, grads, step: aux.step, matrixOps: ops, stateOf: () => undefined });
      lrState!.count++;
      const lrm = member(t, state, 'scaleByLearningRate');
      const lr = (lrm.hyper.lr as number) * (lrm.hyper.schedule as Schedule)(lrState!.count);
      let decay = 0;
      if (++afterState!.count > 1) {
        const d = member(t, state, 'decayWeights');
        d.state.count++;
        const h = d.hyper as { weightDecay: number; lr: number; schedule: Schedule };
        decay = h.weightDecay * h.lr * h.schedule(aux.step);
      }
      params.forEach((p, i) => k.x.apply_step(ptr(p.data), ptr(updates[i]), p.data.length, lr, 1 - decay));
    };
  },
};

export const SOAP_KERNELS: KernelSpec[] = [soap];
