// SGD with momentum and Nesterov, as torch.optim.SGD defines them (weight decay as an L2 term added
// to the gradient before the momentum): chain(addDecayedWeights, trace, scaleByLearningRate).

import { chain, type GradientTransformation } from './core.js';
import type { Schedule } from './schedules.js';
import { addDecayedWeights, scaleByLearningRate, trace } from './transforms.js';

export interface SgdHyper {
  lr: number;
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;
}

export const SGD_DEFAULTS: SgdHyper = { lr: 1e-2, momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0 };

export function sgd(h: SgdHyper, schedule: Schedule): GradientTransformation {
  return chain(addDecayedWeights(h.weightDecay), trace(h.momentum, h.nesterov, h.dampening), scaleByLearningRate(h.lr, schedule));
}
