// The optimizer cases the kernel tests run (every registered optimizer, and the variants with kernel
// code paths of their own), and the gradients they are stepped with.

import { mulberry32 } from '../../src/random.js';
import type { Param } from '../../src/optim/index.js';

/** Every registered optimizer (and the variants with their own kernel code paths) and the kernel it runs. */
export const CASES: [string, Record<string, unknown>, string][] = [
  ['sgd', { lr: 1e-2, weightDecay: 0.1 }, 'momentum'],
  ['sgd', { lr: 1e-2, nesterov: true, dampening: 0 }, 'momentum'],
  ['sgd', { lr: 1e-2, momentum: 0 }, 'momentum'],
  ['adam', { lr: 1e-2 }, 'adam'],
  ['adam', { lr: 1e-2, weightDecay: 0.1, amsgrad: true }, 'adam'],
  ['adamw', { lr: 1e-2, weightDecay: 0.1 }, 'adam'],
  ['lion', { lr: 1e-3, weightDecay: 0.5 }, 'lion'],
  ['exadam', { lr: 1e-2, weightDecay: 0.1 }, 'exadam'],
  ['exadam', { lr: 1e-2, weightDecay: 0.1, growingStepSize: true }, 'exadam'],
  ['spam', { lr: 1e-2, weightDecay: 0.1, resetInterval: 6, warmupSteps: 3, clipWarmupSteps: 2, threshold: 50 }, 'spam'],
  ['spam', { lr: 1e-2, correctBias: false, resetInterval: 6, warmupSteps: 3, clipWarmupSteps: 2 }, 'spam'],
  ['stable-spam', { lr: 1e-2, weightDecay: 0.1, resetInterval: 7 }, 'stable-spam'],
  ['stable-spam', { lr: 1e-2, resetInterval: 7, totalSteps: 20, etaMin: 0.5 }, 'stable-spam'],
  ['adabelief', { lr: 1e-2, weightDecay: 0.1 }, 'adabelief'],
  ['adabelief', { lr: 1e-2, weightDecay: 0.1, rectify: true, amsgrad: true }, 'adabelief'],
  ['adabelief', { lr: 1e-2, weightDecay: 0.1, weightDecouple: false }, 'adabelief'],
  ['adabelief', { lr: 1e-2, weightDecay: 0.01, fixedDecay: true }, 'adabelief'],
  ['adamp', { lr: 1e-2, weightDecay: 0.1 }, 'projected'],
  ['adamp', { lr: 1e-2, weightDecay: 0.1, nesterov: true, delta: 10 }, 'projected'],
  ['sgdp', { lr: 1e-2, weightDecay: 0.1, delta: 10 }, 'projected'],
  ['sgd-sai', { lr: 1e-2, weightDecay: 0.1 }, 'momentum'],
  ['adamw8bit', { lr: 1e-2, weightDecay: 0.1 }, 'adam8bit'],
  ['adamw8bit', { lr: 1e-2, blockSize: 2048, percentileClipping: 5 }, 'adam8bit'],
  ['adam8bit', { lr: 1e-2 }, 'adam8bit'],
  ['sophia', { lr: 1e-2, hessianInterval: 3 }, 'sophia'],
  ['adahessian', { lr: 1e-2, weightDecay: 0.1 }, 'adahessian'],
  ['adahessian', { lr: 1e-2, hessianPower: 0.5, spatialAverageBlockSize: [-1, 10, 7, -1] }, 'adahessian'],
  ['onebit-adam', { lr: 1e-2, freezeStep: 8, weightDecay: 0.1 }, 'onebit-adam'],
  ['soap', { lr: 1e-2, precondFrequency: 5, maxPrecondDim: 64 }, 'soap'],
  ['soap', { lr: 1e-2, precondFrequency: 3, mergeDims: true, maxPrecondDim: 40, normalizeGrads: true, precondition1d: true }, 'soap'],
];

export function gradsAt(params: Param[], t: number): Float32Array[] {
  const rnd = mulberry32(t).next;
  // Mostly noise around the parameters; every 7th step a spike (SPAM, Stable-SPAM), every 4th step gradients
  // orthogonal to each row of p (AdamP's projection fires).
  return params.map((p) => {
    const g = Float32Array.from(p.data, (x) => x + 0.3 * (rnd() - 0.5) + (t % 7 === 0 ? 40 * (rnd() - 0.5) : 0));
    if (t % 4 === 0 && p.dims.length > 1) {
      const rows = p.dims[0]!;
      const w = g.length / rows;
      for (let r = 0; r < rows; r++) {
        let pg = 0, pp = 0;
        for (let j = r * w; j < (r + 1) * w; j++) (pg += p.data[j]! * g[j]!), (pp += p.data[j]! * p.data[j]!);
        for (let j = r * w; j < (r + 1) * w; j++) g[j]! -= (pg / pp) * p.data[j]!;
      }
    }
    return g;
  });
}
