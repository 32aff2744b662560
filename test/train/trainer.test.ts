import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/graph/index.js';
import { createOptimizer, WasmArena } from '../../src/optim/index.js';
import {
  loadCheckpoint, prepareCausalLmTraining, saveCheckpoint, TokenWindowSampler, Trainer,
} from '../../src/train/index.js';
import { loadTorchReference } from '../fixtures/torch/reference.js';
import { shakespeareTokens, TINY_GPT2_ONNX } from './helpers.js';

const source = loadModel(TINY_GPT2_ONNX);
const prepared = prepareCausalLmTraining(source, { loss: 'next-token' });
const tokens = await shakespeareTokens(12_000);

async function newTrainer(optimizer = createOptimizer('adamw', { lr: 3e-3, weightDecay: 0.01 })): Promise<Trainer> {
  return Trainer.create({ training: prepared.training, source: prepared.forward, optimizer });
}

describe('Trainer', () => {
  it('lowers the next-token loss on tinyshakespeare within 20 steps', async () => {
    const trainer = await newTrainer();
    const sampler = new TokenWindowSampler(tokens, { batch: 4, sequence: 32, seed: 1 });
    const losses: number[] = [];
    for (let i = 0; i < 20; i++) losses.push((await trainer.step([sampler.next()])).loss);
    const first = (losses[0]! + losses[1]! + losses[2]!) / 3;
    const last = (losses[17]! + losses[18]! + losses[19]!) / 3;
    expect(last).toBeLessThan(first - 1);
    expect(trainer.stepCount).toBe(20);
    await trainer.release();
  });

  it('averages micro-batch gradients: one SGD step moves each parameter by -lr * mean(g1, g2)', async () => {
    const lr = 0.05;
    const trainer = await newTrainer(createOptimizer('sgd', { lr }));
    const sampler = new TokenWindowSampler(tokens, { batch: 2, sequence: 16, seed: 5 });
    const a = sampler.next();
    const b = sampler.next();
    const ga = (await trainer.evaluate(a)).gradients;
    const gaCopy = new Map([...ga].map(([k, v]) => [k, Float32Array.from(v)]));
    // evaluate's gradient arrays are the trainer's own (the next run overwrites them): keep copies.
    const gb = new Map([...(await trainer.evaluate(b)).gradients].map(([k, v]) => [k, Float32Array.from(v)]));
    const before = new Map(trainer.params.map((p) => [p.name, Float32Array.from(p.data)]));
    await trainer.step([a, b]);
    for (const p of trainer.params) {
      const g1 = gaCopy.get(p.name)!;
      const g2 = gb.get(p.name)!;
      const p0 = before.get(p.name)!;
      for (let i = 0; i < p.data.length; i += 97) expect(p.data[i]).toBeCloseTo(p0[i]! - lr * (g1[i]! + g2[i]!) / 2, 6);
    }
    await trainer.release();
  });

  it('resumes from a checkpoint to the same parameters, bit for bit, as an uninterrupted run', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-ckpt-'));
    const file = path.join(dir, 'ckpt.safetensors');
    const run = async (steps: number, resume: boolean) => {
      const trainer = await newTrainer();
      const sampler = new TokenWindowSampler(tokens, { batch: 2, sequence: 16, seed: 9 });
      if (resume) sampler.restore(loadCheckpoint(file, trainer).sampler as never);
      while (trainer.stepCount < steps) await trainer.step([sampler.next()]);
      return { trainer, sampler };
    };
    const full = await run(6, false);
    const half = await run(3, false);
    saveCheckpoint(file, half.trainer, { sampler: half.sampler.position });
    expect(fs.readdirSync(dir)).toEqual(['ckpt.safetensors']);
    const resumed = await run(6, true);
    expect(resumed.trainer.stepCount).toBe(6);
    expect(resumed.trainer.optimizer.stepCount).toBe(6);
    for (const [i, p] of full.trainer.params.entries()) expect(resumed.trainer.params[i]!.data, p.name).toEqual(p.data);
    // And the resumed state differs from where it started (the test can fail).
    expect(half.trainer.params[0]!.data).not.toEqual(full.trainer.params[0]!.data);
    await Promise.all([full, half, resumed].map((r) => r.trainer.release()));
  });

  it('trains a tied embedding and its transposed head copy as one parameter when asked', async () => {
    const gpt = loadModel(loadTorchReference('tiny-gpt2-opset17').onnxFile);
    const prep = prepareCausalLmTraining(gpt, { loss: 'next-token' });
    const trainer = await Trainer.create({ training: prep.training, source: prep.forward, optimizer: createOptimizer('adamw', { lr: 1e-2 }), tie: true });
    expect(trainer.params).toHaveLength(prep.trainable.length - 1);
    expect(trainer.parameterMap.groups).toHaveLength(1);
    const head = trainer.parameterMap.groups[0]!.members.find((m) => m.transposed)!.name;
    const sampler = new TokenWindowSampler(Array.from({ length: 200 }, (_, i) => (i * 7) % 48), { batch: 2, sequence: 8, seed: 2 });
    await trainer.step([sampler.next()]);
    const values = trainer.values();
    const emb = values.get('wte.weight')!;
    const headT = values.get(head)!;
    expect(emb).not.toEqual(prep.forward.graph.initializers.get('wte.weight')!.data);
    for (let v = 0; v < 48; v++) for (let d = 0; d < 16; d++) expect(headT[d * 48 + v]).toBe(emb[v * 16 + d]);
    await trainer.release();
  });

  it('keeps parameters and gradients in a WebAssembly arena that onnxruntime reads directly, matching the heap run', async () => {
    const run = async (arena?: WasmArena) => {
      const trainer = await Trainer.create({
        training: prepared.training, source: prepared.forward, allocator: arena,
        // The TypeScript update path on both sides: this test is about onnxruntime reading and the
        // trainer writing arena memory; the fused kernel's agreement is src/optim's to test.
        optimizer: createOptimizer('adamw', { lr: 3e-3 }, arena ? { arena, kernels: false } : {}),
      });
      const sampler = new TokenWindowSampler(tokens, { batch: 2, sequence: 16, seed: 21 });
      for (let i = 0; i < 3; i++) await trainer.step([sampler.next()]);
      await trainer.release();
      return trainer.params;
    };
    const arena = new WasmArena(8 << 20);
    const inArena = await run(arena);
    expect(arena.contains(inArena[0]!.data)).toBe(true);
    const onHeap = await run();
    for (const [i, p] of onHeap.entries()) {
      const q = inArena[i]!.data;
      expect(q, p.name).toEqual(p.data);
    }
  });

  it('feeds frozen weights (LoRA base) from their arrays or bakes them into the session, with the same result', async () => {
    const lora = prepareCausalLmTraining(source, { loss: 'next-token', lora: { rank: 4, alpha: 8, targets: 'all-linear', seed: 1 } });
    const run = async (feedFrozenFrom: number) => {
      const trainer = await Trainer.create({ training: lora.training, source: lora.forward, optimizer: createOptimizer('adamw', { lr: 1e-2 }), feedFrozenFrom });
      const sampler = new TokenWindowSampler(tokens, { batch: 2, sequence: 16, seed: 4 });
      const losses = [];
      for (let i = 0; i < 3; i++) losses.push((await trainer.step([sampler.next()])).loss);
      await trainer.release();
      return { losses, params: trainer.params };
    };
    const fed = await run(0);
    const baked = await run(Infinity);
    // Baked weights let onnxruntime fold and pre-pack: equal up to float32 reordering.
    fed.losses.forEach((l, i) => expect(l).toBeCloseTo(baked.losses[i]!, 5));
    for (const [i, p] of baked.params.entries()) expect(fed.params[i]!.data.reduce((m, x, j) => Math.max(m, Math.abs(x - p.data[j]!)), 0), p.name).toBeLessThan(1e-5);
    // And the adapters did train (LoRA's B starts at zero).
    expect(fed.params.filter((p) => p.name.endsWith('lora_B')).some((p) => p.data.some((x) => x !== 0))).toBe(true);
  });

  it('shares the source tensors with its parameters when asked, keeping the starting values otherwise', async () => {
    const prep = prepareCausalLmTraining(loadModel(TINY_GPT2_ONNX), { loss: 'next-token' });
    const name = prep.trainable[0]!;
    const start = prep.forward.graph.initializers.get(name)!.data;
    const kept = await Trainer.create({ training: prep.training, source: prep.forward, optimizer: createOptimizer('sgd', { lr: 0.1 }) });
    expect(prep.forward.graph.initializers.get(name)!.data).toBe(start);
    await kept.release();
    const shared = await Trainer.create({ training: prep.training, source: prep.forward, optimizer: createOptimizer('sgd', { lr: 0.1 }), shareSource: true });
    const param = shared.params.find((p) => p.name === name)!;
    expect(prep.forward.graph.initializers.get(name)!.data).toBe(param.data);
    expect(param.data).toEqual(start);
    await shared.release();
  });
});
