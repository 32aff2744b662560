// The optimizer folded into the training graph (src/train/device), checked on the CPU provider so it
// runs everywhere: for SGD, Adam, AdamW and Lion on a DPO and a reward-model graph, a DeviceTrainer
// step equals src/optim's own update applied to the same gradients, micro-batch accumulation equals
// the CPU Trainer's averaging, the saved state is the CPU optimizer's format (a checkpoint resumes on
// either trainer), a non-finite loss changes nothing, and an optimizer without device rules is
// refused by name. The same classes on lavapipe are compared with the CPU in train.slow.test.ts.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlignkitError } from '../../src/errors.js';
import { loadCheckpoint, saveCheckpoint, Trainer } from '../../src/train/index.js';
import { DeviceTrainer, deviceOptimizers } from '../../src/train/device/index.js';
import { maxAbs, maxAbsDiff, mismatches, newOptimizer, stepCase } from './helpers.js';

const cases = { dpo: stepCase('dpo'), rm: stepCase('rm') };
const cpu = { provider: 'cpu' as const, intraOpThreads: 1 };

async function deviceTrainer(kind: 'dpo' | 'rm', optimizer: string, hyper?: Record<string, unknown>) {
  const c = cases[kind];
  return DeviceTrainer.create({ training: c.graph.training, source: c.forward, optimizer: newOptimizer(optimizer, hyper), session: cpu });
}

describe('the optimizer update as graph nodes (CPU provider)', () => {
  it('lists the registry optimizers whose chains have device rules', () => {
    expect(deviceOptimizers()).toEqual(['sgd', 'adam', 'adamw', 'lion']);
  });

  const matrix = [
    ['dpo', 'adamw', {}], ['dpo', 'lion', {}],
    ['rm', 'adam', { weightDecay: 0.01, amsgrad: true }], ['rm', 'lion', { kappa: 'l2' }], ['rm', 'sgd', { momentum: 0.9, nesterov: true, weightDecay: 0.01 }],
  ] as const;
  for (const [kind, optimizer, hyper] of matrix)
    it(`${kind}: two ${optimizer} ${JSON.stringify(hyper)} steps equal src/optim's update of the same gradients`, async () => {
      const c = cases[kind];
      const dev = await deviceTrainer(kind, optimizer, hyper);
      const host = newOptimizer(optimizer, hyper);
      const params = dev.params.map((p) => ({ ...p, data: Float32Array.from(p.data) }));
      try {
        for (const batch of c.batches.slice(0, 2)) {
          const grads = await dev.gradients(batch);
          host.step(params, grads);
          await dev.step([batch]);
        }
        await dev.sync();
        const moved = Math.max(...params.map((p) => maxAbsDiff(p.data, c.forward.graph.initializers.get(p.name)!.data as Float32Array)));
        expect(moved).toBeGreaterThan(1e-3);
        // float32 graph arithmetic against the TypeScript loops' float64 intermediates: a few ulps of the update.
        expect(mismatches(new Map(params.map((p) => [p.name, p.data])), dev.values(), 1e-6, 0)).toEqual([]);
        const want = host.state();
        const got = dev.optimizer.state();
        expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
        for (const [k, t] of want) expect(maxAbsDiff(t.data as Float32Array, got.get(k)!.data as Float32Array), k).toBeLessThanOrEqual(1e-6 * Math.max(1, maxAbs(t.data as Float32Array)));
        expect(dev.optimizer.stepCount).toBe(2);
      } finally {
        await dev.release();
      }
    });

  it('averages accumulated micro-batches as the CPU Trainer does (SGD: the step is -lr * mean gradient)', async () => {
    const c = cases.dpo;
    const dev = await deviceTrainer('dpo', 'sgd', { momentum: 0 });
    const ref = await Trainer.create({ training: c.graph.training, source: c.forward, optimizer: newOptimizer('sgd', { momentum: 0 }), session: cpu });
    try {
      const [a, b] = [await ref.step(c.batches.slice(0, 2)), await dev.step(c.batches.slice(0, 2))];
      expect(b.loss).toBeCloseTo(a.loss, 6);
      for (const m of ref.metricNames) expect(b.metrics[m]).toBeCloseTo(a.metrics[m]!, 5);
      await dev.sync();
      expect(mismatches(new Map(ref.params.map((p) => [p.name, p.data])), dev.values(), 1e-7, 1e-6)).toEqual([]);
      // The accumulation graph and the one-micro-batch graph share the parameters on the device.
      const [x, y] = [await ref.step([c.batches[2]!]), await dev.step([c.batches[2]!])];
      expect(y.loss).toBeCloseTo(x.loss, 6);
    } finally {
      await Promise.all([dev.release(), ref.release()]);
    }
  });

  it('writes checkpoints the CPU Trainer resumes from (and reads its checkpoints)', async () => {
    const c = cases.rm;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-device-ckpt-')), 'ckpt.safetensors');
    const dev = await deviceTrainer('rm', 'adamw');
    const ref = await Trainer.create({ training: c.graph.training, source: c.forward, optimizer: newOptimizer('adamw'), session: cpu });
    const back = await deviceTrainer('rm', 'adamw');
    try {
      await dev.step([c.batches[0]!]);
      expect(() => saveCheckpoint(file, dev)).toThrow(/sync\(\)/);
      await dev.sync();
      saveCheckpoint(file, dev, { note: 'device' });
      expect(loadCheckpoint(file, ref)).toEqual({ note: 'device' });
      expect(ref.stepCount).toBe(1);
      expect(ref.optimizer.stepCount).toBe(1);
      const [a, b] = [await ref.step([c.batches[1]!]), await dev.step([c.batches[1]!])];
      expect(b.loss).toBeCloseTo(a.loss, 6);
      saveCheckpoint(file, ref);
      loadCheckpoint(file, back);
      const [x, y] = [await ref.step([c.batches[2]!]), await back.step([c.batches[2]!])];
      expect(y.loss).toBeCloseTo(x.loss, 6);
      expect(back.optimizer.stepCount).toBe(3);
    } finally {
      await Promise.all([dev.release(), ref.release(), back.release()]);
    }
  });

  it('stops a step whose loss is not finite before any parameter or state changes', async () => {
    const c = cases.dpo;
    const dev = await deviceTrainer('dpo', 'adamw');
    try {
      await dev.step([c.batches[0]!]);
      await dev.sync();
      const before = new Map([...dev.values()].map(([k, v]) => [k, Float32Array.from(v)]));
      const ref = Object.keys(c.batches[1]!).find((k) => k.includes('ref'))!;
      const bad = { ...c.batches[1]!, [ref]: { dtype: 'float32' as const, dims: [1], data: Float32Array.of(NaN) } };
      const err = await dev.step([bad]).then(() => undefined, (e: unknown) => e);
      expect(isAlignkitError(err) && err.code).toBe('ALIGNKIT_ERR_NON_FINITE');
      expect(dev.stepCount).toBe(1);
      expect(dev.optimizer.stepCount).toBe(1);
      await dev.sync();
      expect(mismatches(before, dev.values(), 0, 0)).toEqual([]);
    } finally {
      await dev.release();
    }
  });

  it('refuses an optimizer whose chain has no device rule, naming it and the ones that run on the device', async () => {
    const err = await deviceTrainer('dpo', 'soap').then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).toMatch(/optimizer soap .*cannot update on the WebGPU device: its chain has \w+, which has no device rule; optimizers that run on the device: sgd, adam, adamw, lion/);
  });
});
