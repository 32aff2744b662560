import { it } from 'vitest';
import { createOptimizer, hutchinsonDiag, type Param } from '../../src/optim/index.js';
import { rosenbrock } from './problems.js';
it('tune', () => {
  const pr = rosenbrock();
  for (const [name, lrs] of [['stable-spam', [0.005, 0.01, 0.02, 0.05]], ['adahessian', [0.01, 0.03, 0.05, 0.2, 0.5]]] as const)
    for (const lr of lrs) for (const steps of [4000, 8000]) {
      const params: Param[] = pr.init();
      const opt = createOptimizer(name, { weightDecay: 0, lr }, { hessian: hutchinsonDiag((p) => pr.grad(p), { seed: 5 }) });
      for (let t = 0; t < steps; t++) opt.step(params, pr.grad(params));
      console.log(name, lr, steps, pr.loss(params), Array.from(params[0]!.data));
    }
});
