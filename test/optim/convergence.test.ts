// Every registered optimizer on three standard problems, with hyperparameters suited to each
// problem (the same for all optimizers of a kind where possible). Expected behaviour: the
// quadratic's loss drops by 1000x, Rosenbrock's iterate ends within 0.05 of (1, 1), logistic
// regression gets within 0.01 nats of its optimum (found by Newton's method in float64, not by one
// of the optimizers under test).

import { describe, expect, it } from 'vitest';
import { createOptimizer, hutchinsonDiag, OPTIMIZERS, type Param } from '../../src/optim/index.js';
import { preferenceLogistic, quadratic, rosenbrock, type Problem } from './problems.js';

function run(problem: Problem, name: string, hyper: Record<string, unknown>, steps: number): Param[] {
  const params: Param[] = problem.init();
  const opt = createOptimizer(name, { weightDecay: 0, ...hyper }, { hessian: hutchinsonDiag((p) => problem.grad(p), { seed: 5 }) });
  for (let t = 0; t < steps; t++) opt.step(params, problem.grad(params));
  return params;
}

function minimise(problem: Problem, name: string, hyper: Record<string, unknown>, steps: number): number {
  return problem.loss(run(problem, name, hyper, steps));
}

// Per problem: steps, and hyperparameters per optimizer (lr chosen for the problem's scale).
const QUAD: Record<string, Record<string, unknown>> = {
  sgd: { lr: 0.005 }, adam: { lr: 0.05 }, adamw: { lr: 0.05 }, lion: { lr: 0.005 }, exadam: { lr: 0.02 }, spam: { lr: 0.05 },
  'stable-spam': { lr: 0.05 }, adabelief: { lr: 0.05 }, adamp: { lr: 0.05 }, sgdp: { lr: 0.005 }, 'sgd-sai': { lr: 0.01 },
  adam8bit: { lr: 0.05, minQuantizedSize: 1 }, adamw8bit: { lr: 0.05, minQuantizedSize: 1 }, sophia: { lr: 0.05, hessianInterval: 2, gamma: 0.05 },
  adahessian: { lr: 0.3 }, soap: { lr: 0.05 }, 'onebit-adam': { lr: 0.02, freezeStep: 100 },
};
const ROSEN: Record<string, Record<string, unknown>> = {
  sgd: { lr: 1e-3 }, adam: { lr: 0.02 }, adamw: { lr: 0.02 }, lion: { lr: 0.002 }, exadam: { lr: 0.005 }, spam: { lr: 0.02 },
  'stable-spam': { lr: 0.02 }, adabelief: { lr: 0.02 }, adamp: { lr: 0.02 }, sgdp: { lr: 1e-3 }, 'sgd-sai': { lr: 2e-3 },
  adam8bit: { lr: 0.02, minQuantizedSize: 1 }, adamw8bit: { lr: 0.02, minQuantizedSize: 1 }, sophia: { lr: 0.02, hessianInterval: 2 },
  adahessian: { lr: 0.5 }, soap: { lr: 0.02 }, 'onebit-adam': { lr: 0.01, freezeStep: 1000 },
};
/** AdaHessian's Hutchinson estimate of Rosenbrock's indefinite Hessian is noisy: it needs more steps. */
const ROSEN_STEPS: Record<string, number> = { adahessian: 8000 };
const LOGIT: Record<string, Record<string, unknown>> = Object.fromEntries(Object.keys(QUAD).map((k) => [k, { ...QUAD[k], lr: ['sgd', 'sgdp', 'sgd-sai'].includes(k) ? 1 : k === 'lion' ? 0.01 : k === 'adahessian' ? 0.2 : 0.05 }]));

describe('convergence on standard problems', () => {
  it('every registered optimizer has settings for every problem', () => {
    for (const table of [QUAD, ROSEN, LOGIT]) expect(Object.keys(table).sort()).toEqual(Object.keys(OPTIMIZERS).sort());
  });

  const quad = quadratic();
  it.each(Object.keys(QUAD))('%s: ill-conditioned quadratic (condition number 100) loses 1000x of its loss', (name) => {
    const f0 = quad.loss(quad.init());
    expect(minimise(quad, name, QUAD[name]!, 600)).toBeLessThan(f0 / 1000);
  });

  const rosen = rosenbrock();
  it.each(Object.keys(ROSEN))('%s: Rosenbrock from (-1.2, 1) gets within 0.05 of the minimum (1, 1)', (name) => {
    const [x, y] = run(rosen, name, ROSEN[name]!, ROSEN_STEPS[name] ?? 4000)[0]!.data as unknown as [number, number];
    expect(Math.hypot(x - 1, y - 1)).toBeLessThan(0.05);
  });

  const logit = preferenceLogistic();
  const optimum = logit.optimum();
  it('the logistic-regression optimum is a stationary point found in float64', () => {
    expect(optimum.gradNorm).toBeLessThan(1e-12);
    expect(optimum.loss).toBeLessThan(Math.log(2) - 0.02);
    // Every optimizer's loss is at least the optimum's (up to float32 weights).
    expect(minimise(logit, 'adam', { lr: 0.05 }, 300)).toBeGreaterThan(optimum.loss - 1e-6);
  });
  it.each(Object.keys(LOGIT))('%s: logistic regression on UltraFeedback pairs gets within 0.01 nats of the optimum', (name) => {
    expect(minimise(logit, name, LOGIT[name]!, 300)).toBeLessThan(optimum.loss + 0.01);
  });
});
