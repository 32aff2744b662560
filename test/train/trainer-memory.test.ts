// Issue 13, memory: onnxruntime-node returns a JavaScript copy of every gradient it wrote in place.
// The Trainer runs its graph through onnxruntime's C API by default, which makes no such copy; on
// the binding (`binding: 'node'`) it has V8 collect those copies right after each run once the
// gradients are large (`releaseCopiesFrom`, 256 MiB by default); the tiny fixture turns it on with 0
// to exercise the same path on a real session.

import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/graph/index.js';
import { createOptimizer } from '../../src/optim/index.js';
import { prepareCausalLmTraining, TokenWindowSampler, Trainer } from '../../src/train/index.js';
import { shakespeareTokens, TINY_GPT2_ONNX } from './helpers.js';

const prepared = prepareCausalLmTraining(loadModel(TINY_GPT2_ONNX), { loss: 'next-token' });
const tokens = await shakespeareTokens(4_000);

const create = (releaseCopiesFrom?: number, binding: 'node' | 'c-api' = 'node') =>
  Trainer.create({
    training: prepared.training, source: prepared.forward, optimizer: createOptimizer('adamw', { lr: 1e-3 }), session: { binding },
    ...(releaseCopiesFrom !== undefined && { releaseCopiesFrom }),
  });

describe('Trainer memory', () => {
  it('regression: a step leaves no gradient-sized copy of the run outputs in ArrayBuffer memory (onnxruntime-node copies every output)', async () => {
    const trainer = await create(0);
    const gradientBytes = trainer.params.reduce((n, p) => n + p.data.byteLength, 0);
    expect(trainer.releasedCopyBytes).toBe(gradientBytes);
    const sampler = new TokenWindowSampler(tokens, { batch: 2, sequence: 16, seed: 3 });
    await trainer.step([sampler.next()]);
    const baseline = process.memoryUsage().arrayBuffers;
    // Without the release each step adds one copy of every gradient until V8 happens to collect.
    for (let i = 0; i < 3; i++) {
      await trainer.step([sampler.next()]);
      expect(process.memoryUsage().arrayBuffers - baseline, `step ${i + 2}`).toBeLessThan(gradientBytes / 2);
    }
    const evaluated = await trainer.evaluate(sampler.next());
    expect(process.memoryUsage().arrayBuffers - baseline).toBeLessThan(gradientBytes / 2);
    // The gradients themselves are the trainer's arrays, written in place and still readable.
    expect([...evaluated.gradients.values()].some((g) => g.some((x) => x !== 0))).toBe(true);
    await trainer.release();
  });

  it('through the C API (the default) a step makes no copy of its outputs, and nothing is collected', async () => {
    const trainer = await Trainer.create({ training: prepared.training, source: prepared.forward, optimizer: createOptimizer('adamw', { lr: 1e-3 }), releaseCopiesFrom: 0 });
    expect(trainer.releasedCopyBytes).toBe(0);
    const gradientBytes = trainer.params.reduce((n, p) => n + p.data.byteLength, 0);
    const sampler = new TokenWindowSampler(tokens, { batch: 2, sequence: 16, seed: 3 });
    await trainer.step([sampler.next()]);
    const baseline = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 3; i++) await trainer.step([sampler.next()]);
    expect(process.memoryUsage().arrayBuffers - baseline).toBeLessThan(gradientBytes / 2);
    const evaluated = await trainer.evaluate(sampler.next());
    expect([...evaluated.gradients.values()].some((g) => g.some((x) => x !== 0))).toBe(true);
    await trainer.release();
  });

  it('allocates the optimizer state at creation unless prepareOptimizer is false (a trainer that only evaluates)', async () => {
    const spec = { training: prepared.training, source: prepared.forward };
    const eager = createOptimizer('adamw', { lr: 1e-3 });
    const t1 = await Trainer.create({ ...spec, optimizer: eager });
    const stateNames = [...eager.state().keys()].filter((k) => k !== '#stepCount');
    expect(stateNames.length).toBeGreaterThanOrEqual(2 * t1.params.length);
    const lazy = createOptimizer('adamw', { lr: 1e-3 });
    const t2 = await Trainer.create({ ...spec, optimizer: lazy, prepareOptimizer: false });
    expect([...lazy.state().keys()]).toEqual(['#stepCount']);
    const sampler = new TokenWindowSampler(tokens, { batch: 2, sequence: 16, seed: 4 });
    const batch = sampler.next();
    await t1.step([batch]);
    await t2.step([batch]);
    expect([...lazy.state().keys()]).toEqual([...eager.state().keys()]);
    expect(t2.params[0]!.data).toEqual(t1.params[0]!.data);
    await t1.release();
    await t2.release();
  });

  it('collects only from the default 256 MiB of gradients on (a collection is not worth a small step)', async () => {
    const trainer = await create();
    expect(trainer.releasedCopyBytes).toBe(0);
    await trainer.release();
  });
});
