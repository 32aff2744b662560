// Training on the WebGPU device (in CI: lavapipe) against onnxruntime-node on the CPU, for a DPO
// and a reward-model graph: one micro-batch's gradients, one full AdamW and one full Lion step (the
// update folded into the graph, parameters and state on the GPU), gradient accumulation, and
// `alignkit train` end to end. Adam and Lion turn a gradient into roughly lr * sign(gradient), so
// where a gradient is at the level of float32 noise the two devices may step in opposite
// directions; the end-to-end check compares those coordinates through the state (m, v) and the
// update of src/optim applied to the device's own gradients, which must agree everywhere.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Trainer } from '../../src/train/index.js';
import { DeviceTrainer } from '../../src/train/device/index.js';
import { resolveRunConfig, runTraining, RUN_FILES } from '../../src/train/run/index.js';
import { gpuHere, gpuTitle, maxAbs, maxAbsDiff, mismatches, MODELS, newOptimizer, ROOT, stepCase } from './helpers.js';

const here = await gpuHere();
const gpu = { provider: 'webgpu' as const, adapter: String(here.adapter?.index ?? 0) };
const cpu = { intraOpThreads: 1 };

describe.skipIf(!here.adapter)(gpuTitle('a training step on the device equals the CPU', here), () => {
  for (const kind of ['dpo', 'rm'] as const) {
    const c = stepCase(kind);

    it(`${c.name}: one micro-batch's loss, metrics and gradients`, async () => {
      const ref = await Trainer.create({ training: c.graph.training, source: c.forward, optimizer: newOptimizer('adamw'), session: cpu });
      const dev = await DeviceTrainer.create({ training: c.graph.training, source: c.forward, optimizer: newOptimizer('adamw'), session: gpu });
      try {
        const want = await ref.evaluate(c.batches[0]!);
        const got = await dev.evaluate(c.batches[0]!);
        expect(got.loss).toBeCloseTo(want.loss, 5);
        for (const m of ref.metricNames) expect(got.metrics[m], m).toBeCloseTo(want.metrics[m]!, 4);
        const grads = await dev.gradients(c.batches[0]!);
        expect(grads.size).toBe(want.gradients.size);
        expect(mismatches(want.gradients, grads, 1e-6, 1e-4)).toEqual([]);
      } finally {
        await Promise.all([ref.release(), dev.release()]);
      }
    });

    for (const optimizer of ['adamw', 'lion'])
      it(`${c.name}: one full ${optimizer} step, parameters and state updated on the device`, async () => {
        const ref = await Trainer.create({ training: c.graph.training, source: c.forward, optimizer: newOptimizer(optimizer), session: cpu });
        const dev = await DeviceTrainer.create({ training: c.graph.training, source: c.forward, optimizer: newOptimizer(optimizer), session: gpu });
        const host = newOptimizer(optimizer);
        try {
          const grads = await dev.gradients(c.batches[0]!);
          const params = dev.params.map((p) => ({ ...p, data: Float32Array.from(p.data) }));
          host.step(params, grads);
          // The CPU's gradient at the starting parameters: the one its step takes.
          const cpuGrad = (await ref.evaluate(c.batches[0]!)).gradients;
          const [a, b] = [await ref.step([c.batches[0]!]), await dev.step([c.batches[0]!])];
          expect(b.loss).toBeCloseTo(a.loss, 5);
          await dev.sync();
          const got = dev.values();
          // The folded update equals src/optim's on the same gradients, in every coordinate.
          expect(mismatches(new Map(params.map((p) => [p.name, p.data])), got, 1e-6, 0)).toEqual([]);
          // Against the CPU run: the state within float32 tolerance, and the parameters wherever the
          // gradient is zero or well above float32 noise (most of them; the rest may step the other way).
          const state = ref.optimizer.state();
          for (const [k, t] of dev.optimizer.state()) expect(maxAbsDiff(t.data as Float32Array, state.get(k)!.data as Float32Array), k).toBeLessThanOrEqual(1e-6 + 1e-4 * maxAbs(state.get(k)!.data as Float32Array));
          let compared = 0;
          let total = 0;
          for (const p of ref.params) {
            const g0 = cpuGrad.get(p.name)!;
            const g1 = grads.get(p.name)!;
            const start = c.forward.graph.initializers.get(p.name)!.data as Float32Array;
            const q = got.get(p.name)!;
            for (let i = 0; i < q.length; i++) {
              total++;
              // Zero on both devices steps 0 on both; a mathematically zero gradient (GPT-2's key bias)
              // may come out as +-1e-9 on one device and take a whole signed step there.
              const zero = g0[i] === 0 && g1[i] === 0;
              if (!zero && Math.abs(g0[i]!) < 1e-4) continue;
              compared++;
              expect(Math.abs((q[i]! - start[i]!) - (p.data[i]! - start[i]!)), `${p.name}[${i}]`).toBeLessThanOrEqual(2e-6);
            }
          }
          expect(compared / total).toBeGreaterThan(0.5);
        } finally {
          await Promise.all([ref.release(), dev.release()]);
        }
      });
  }

  it('dpo on tiny-gpt2: two accumulated micro-batches per step, three steps, losses and SGD parameters as on the CPU', async () => {
    const c = stepCase('dpo');
    const ref = await Trainer.create({ training: c.graph.training, source: c.forward, optimizer: newOptimizer('sgd'), session: cpu });
    const dev = await DeviceTrainer.create({ training: c.graph.training, source: c.forward, optimizer: newOptimizer('sgd'), session: gpu });
    try {
      for (const mb of [c.batches.slice(0, 2), c.batches.slice(1, 3), c.batches.slice(0, 2)]) {
        const [a, b] = [await ref.step(mb), await dev.step(mb)];
        expect(b.loss).toBeCloseTo(a.loss, 5);
      }
      await dev.sync();
      expect(mismatches(new Map(ref.params.map((p) => [p.name, p.data])), dev.values(), 1e-6, 1e-4)).toEqual([]);
    } finally {
      await Promise.all([ref.release(), dev.release()]);
    }
  });
});

describe.skipIf(!here.adapter)(gpuTitle('alignkit train --device webgpu', here), () => {
  for (const kind of ['dpo', 'rm'] as const)
    it(`train ${kind}: the reference pass and per-step losses as with --device cpu, a checkpoint the CPU resumes, an exported model`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `alignkit-gpu-${kind}-`));
      const data = kind === 'dpo' ? 'ultrafeedback_binarized_sample_train.60.jsonl' : 'hh_rlhf_harmless_base_test.200.jsonl';
      fs.copyFileSync(path.join(ROOT, 'data/samples', data), path.join(dir, data));
      const config = (device: 'cpu' | 'webgpu', out: string, over: Record<string, unknown> = {}) => resolveRunConfig({
        kind, model: path.join(MODELS, kind === 'dpo' ? 'tiny-gpt2' : 'tiny-gpt2-rm'), data: path.join(dir, data), output: path.join(dir, out),
        limit: 12, evalFraction: 0.25, batchSize: 4, microBatchSize: 2, maxLength: 48, maxPromptLength: 24, steps: 3, lr: 3e-3,
        // No reference cache: each run's reference pass runs on its own device.
        optimizer: 'sgd', progress: false, threads: 1, referenceCache: false, device, ...(device === 'webgpu' && { adapter: gpu.adapter }), ...over,
      });
      const lines: string[] = [];
      const stream = Object.assign(new (await import('node:stream')).PassThrough(), { isTTY: false });
      stream.on('data', (b: Buffer) => lines.push(String(b)));
      const [a, b] = [await runTraining(config('cpu', 'cpu')), await runTraining(config('webgpu', 'gpu'), { stream })];
      expect(lines.join('')).toMatch(/alignkit train: training on webgpu \(.+\): forward, loss, backward and the sgd update in one graph/);
      const losses = (o: string) => fs.readFileSync(path.join(dir, o, RUN_FILES.metrics), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { loss?: number; grad_norm?: number }).filter((r) => r.loss !== undefined);
      const [la, lb] = [losses('cpu'), losses('gpu')];
      expect(lb.length).toBe(3);
      lb.forEach((r, i) => {
        expect(r.loss).toBeCloseTo(la[i]!.loss!, 4);
        expect(r.grad_norm).toBeCloseTo(la[i]!.grad_norm!, 3);
      });
      expect(b.finalEval!['eval/loss']).toBeCloseTo(a.finalEval!['eval/loss']!, 4);
      expect(fs.existsSync(path.join(dir, 'gpu', 'onnx/model.onnx'))).toBe(true);
      expect(mismatches(a.values, b.values, 1e-6, 1e-4)).toEqual([]);
      // The device run's checkpoint (step 3) resumes on the CPU for two more steps.
      fs.cpSync(path.join(dir, 'gpu'), path.join(dir, 'resumed'), { recursive: true });
      const resumed = await runTraining(config('cpu', 'resumed', { steps: 5, resume: true }));
      expect(resumed.steps).toBe(5);
    });
});
