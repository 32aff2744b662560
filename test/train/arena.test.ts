// Real training on the kernel path (issue 13): parameters, gradients and optimizer state live in one
// WebAssembly memory (src/optim trainingArena), onnxruntime reads the parameters from it and writes
// every gradient straight into it, and AdamW runs as the fused wasm kernel, in the Trainer and in
// `alignkit train`; an optimizer without a kernel runs its TypeScript path on the same arrays.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/graph/index.js';
import { createOptimizer, trainingArena, type WasmArena } from '../../src/optim/index.js';
import { prepareCausalLmTraining, TokenWindowSampler, Trainer, trainableValues } from '../../src/train/index.js';
import { runTraining } from '../../src/train/run/index.js';
import { smallConfig, tempDir } from './run/helpers.js';
import { shakespeareTokens, TINY_GPT2_ONNX } from './helpers.js';

const prepared = prepareCausalLmTraining(loadModel(TINY_GPT2_ONNX), { loss: 'next-token' });
const tokens = await shakespeareTokens(4_000);

async function trainOn(arena: WasmArena | undefined, optimizer: string, steps: number, kernels = true) {
  const opt = createOptimizer(optimizer, { lr: 3e-3, weightDecay: 0.01 }, arena ? { arena, kernels } : {});
  const trainer = await Trainer.create({ training: prepared.training, source: prepared.forward, optimizer: opt, allocator: arena });
  const sampler = new TokenWindowSampler(tokens, { batch: 2, sequence: 16, seed: 3 });
  const losses: number[] = [];
  const afterFirst: Float32Array[] = [];
  for (let i = 0; i < steps; i++) {
    losses.push((await trainer.step([sampler.next()])).loss);
    if (i === 0) afterFirst.push(...trainer.params.map((p) => Float32Array.from(p.data)));
  }
  const evaluated = await trainer.evaluate(sampler.next());
  await trainer.release();
  return { trainer, opt, evaluated, losses, afterFirst };
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

describe('training in the optimizer arena', () => {
  it('runs AdamW as the fused kernel on parameters and gradients onnxruntime reads and writes in the arena', async () => {
    const arena = trainingArena(trainableValues(prepared.training, prepared.forward))!;
    const run = await trainOn(arena, 'adamw', 3);
    const { trainer, opt, evaluated } = run;
    // AdamW runs src/optim's Adam kernel (decoupled decay is one of its specialisations).
    expect(opt.kernelNames()).toEqual(['adam']);
    for (const p of trainer.params) expect(arena.contains(p.data), p.name).toBe(true);
    // The gradients the run produced are arena memory itself: written in place, not copied in.
    for (const [name, g] of evaluated.gradients) expect(arena.contains(g), name).toBe(true);
    // The kernel computes in float32 where the TypeScript chain uses float64: one step agrees to
    // rounding; later steps drift only where gradients are zero up to noise (Adam normalises noise
    // to full-size steps), so the trajectory is compared through the losses.
    const heap = await trainOn(undefined, 'adamw', 3);
    expect(heap.opt.kernelNames()).toEqual(['']);
    heap.afterFirst.forEach((p, i) => expect(maxAbsDiff(p, run.afterFirst[i]!), trainer.params[i]!.name).toBeLessThan(1e-6));
    heap.losses.forEach((l, i) => expect(Math.abs(l - run.losses[i]!) / l).toBeLessThan(1e-4));
  });

  it('runs an optimizer on its TypeScript path (kernels off) over the arena arrays, as on the heap', async () => {
    const arena = trainingArena(trainableValues(prepared.training, prepared.forward))!;
    const inArena = await trainOn(arena, 'adabelief', 2, false);
    const onHeap = await trainOn(undefined, 'adabelief', 2);
    expect(inArena.opt.kernelNames()).toEqual(['']);
    for (const [i, p] of onHeap.trainer.params.entries()) expect(inArena.trainer.params[i]!.data, p.name).toEqual(p.data);
  });

  it('is what `alignkit train` uses: the run reports the Adam kernel for AdamW (regression: the run created its optimizer without an arena)', async () => {
    const dir = tempDir('arena');
    const result = await runTraining(smallConfig('dpo', dir, { steps: 2, output: path.join(dir, 'out') }));
    expect(result.optimizerKernels).toEqual(['adam']);
  });
});
