// Parameter groups (no weight decay on norms and biases, a smaller lr for embeddings), schedules
// (constant / linear / cosine with warmup), lr(), and the errors a user can cause.

import { describe, expect, it } from 'vitest';
import { createOptimizer, makeSchedule, NO_DECAY_ON_NORMS_AND_BIASES, type Param } from '../../src/optim/index.js';

describe('schedules', () => {
  it('linear warmup, then constant / linear / cosine decay to minLrRatio', () => {
    const constant = makeSchedule({ type: 'constant', warmupSteps: 4 });
    expect([1, 2, 4, 5, 100].map(constant)).toEqual([0.25, 0.5, 1, 1, 1]);
    const linear = makeSchedule({ type: 'linear', warmupSteps: 2, totalSteps: 12, minLrRatio: 0.1 });
    // After warmup: 0.1 + 0.9 (1 - (t - 2)/10): t=7 -> 0.1 + 0.9*0.5 = 0.55; t=12 -> 0.1.
    expect(linear(1)).toBe(0.5);
    expect(linear(7)).toBeCloseTo(0.55, 12);
    expect(linear(12)).toBeCloseTo(0.1, 12);
    expect(linear(50)).toBeCloseTo(0.1, 12);
    const cosine = makeSchedule({ type: 'cosine', warmupSteps: 0, totalSteps: 10 });
    // 0.5 (1 + cos(pi (t/10))): t=5 -> 0.5, t=10 -> 0.
    expect(cosine(5)).toBeCloseTo(0.5, 12);
    expect(cosine(10)).toBeCloseTo(0, 12);
  });
  it('rejects a decay without totalSteps, naming the field', () => {
    expect(() => makeSchedule({ type: 'cosine', warmupSteps: 10 })).toThrow(/schedule.totalSteps must be a number greater than warmupSteps \(10\)/);
    expect(() => makeSchedule({ type: 'step' as 'constant' })).toThrow(/schedule type "step" is not one of constant, linear, cosine/);
  });
  it('Optimizer.lr() follows the schedule', () => {
    const p: Param = { name: 'w', dims: [1], data: Float32Array.of(1) };
    const opt = createOptimizer('adamw', { lr: 0.1 }, { schedule: { type: 'cosine', warmupSteps: 2, totalSteps: 6 } });
    const lrs: number[] = [];
    for (let t = 0; t < 6; t++) {
      opt.step([p], { w: Float32Array.of(1) });
      lrs.push(opt.lr());
    }
    // warmup 0.05, 0.1; then 0.1 * 0.5 (1 + cos(pi (t-2)/4)) for t = 3..6: 0.0853553, 0.05, 0.0146447, 0.
    [0.05, 0.1, 0.0853553, 0.05, 0.0146447, 0].forEach((x, i) => expect(lrs[i]).toBeCloseTo(x, 6));
  });
});

describe('parameter groups', () => {
  it('no weight decay on norms and biases; a smaller lr for the embedding', () => {
    const params: Param[] = [
      { name: 'embed.weight', dims: [2], data: Float32Array.of(1, 1) },
      { name: 'h.0.attn.weight', dims: [2], data: Float32Array.of(1, 1) },
      { name: 'h.0.attn.bias', dims: [2], data: Float32Array.of(1, 1) },
      { name: 'h.0.ln_1.weight', dims: [2], data: Float32Array.of(1, 1) },
    ];
    const zero = Object.fromEntries(params.map((p) => [p.name, new Float32Array(2)]));
    const opt = createOptimizer('adamw', { lr: 0.1, weightDecay: 0.5 }, { groups: [{ match: /^embed\./, hyper: { lr: 0.01 } }, NO_DECAY_ON_NORMS_AND_BIASES] });
    opt.step(params, zero);
    // Zero gradients: only weight decay moves a weight, p -= lr * wd * p.
    expect(params[0]!.data[0]).toBeCloseTo(1 - 0.01 * 0.5, 7); // embedding: its own lr
    expect(params[1]!.data[0]).toBeCloseTo(1 - 0.1 * 0.5, 7); // ordinary weight: decayed
    expect(params[2]!.data[0]).toBe(1); // bias: no decay
    expect(params[3]!.data[0]).toBe(1); // layer norm: no decay
  });
  it('a group with a bad hyperparameter is refused at construction, naming the group', () => {
    expect(() => createOptimizer('adamw', {}, { groups: [{ match: 'bias', hyper: { weightDecya: 0 } }] })).toThrow(/no hyperparameter "weightDecya" \(in groups\[0\]\)/);
  });
  it('a missing or mis-sized gradient names the parameter', () => {
    const p: Param = { name: 'w', dims: [2], data: Float32Array.of(1, 1) };
    const opt = createOptimizer('sgd');
    expect(() => opt.step([p], {})).toThrow(/grads has no entry for parameter "w"/);
    expect(() => opt.step([p], { w: new Float32Array(3) })).toThrow(/grads for "w" has 3 elements, the parameter has 2/);
  });
});
