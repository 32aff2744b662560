// The rewrites that keep alignkit's graphs wholly on the WebGPU provider (src/graph/webgpu/decompose.ts),
// checked on the CPU: the rewritten DPO training graph has no LogSoftmax or Sum node left and gives
// the same loss and gradients as the original.

import { describe, expect, it } from 'vitest';
import { GraphBuilder, Session } from '../../src/graph/index.js';
import { decomposeForWebGpu } from '../../src/graph/webgpu/decompose.js';
import { mismatches, stepCase } from './helpers.js';

describe('decomposeForWebGpu', () => {
  it('rewrites LogSoftmax (any axis) and Sum (1 to 3 inputs, broadcasting) into ops with WebGPU kernels, same values', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [2, 3, 5]);
    const y = g.input('y', 'float32', [5]);
    g.output(g.logSoftmax(x, -1), 'ls_last');
    g.output(g.logSoftmax(x, 1), 'ls_mid');
    g.output(g.op('Sum', [x])[0]!, 'sum1');
    g.output(g.op('Sum', [x, y, x])[0]!, 'sum3');
    const model = g.toModel();
    const rewritten = decomposeForWebGpu(model);
    expect(rewritten.graph.nodes.map((n) => n.opType)).not.toContain('LogSoftmax');
    expect(rewritten.graph.nodes.map((n) => n.opType)).not.toContain('Sum');
    expect(model.graph.nodes.map((n) => n.opType)).toContain('LogSoftmax');
    const feeds = {
      x: { dtype: 'float32' as const, dims: [2, 3, 5], data: Float32Array.from({ length: 30 }, (_, i) => Math.sin(i) * 40) },
      y: { dtype: 'float32' as const, dims: [5], data: Float32Array.of(1, -2, 3, -4, 5) },
    };
    const [a, b] = await Promise.all([Session.create(model), Session.create(rewritten)]);
    const [want, got] = [await a.run(feeds), await b.run(feeds)];
    const arrays = (o: typeof want) => new Map(Object.entries(o).map(([k, t]) => [k, t.data as Float32Array]));
    expect(mismatches(arrays(want), arrays(got), 1e-5, 1e-6)).toEqual([]);
    expect(got.sum3!.data).toEqual(want.sum3!.data);
  });

  it('leaves the DPO training graph\'s loss and gradients unchanged', async () => {
    const c = stepCase('dpo');
    const model = c.graph.training.model;
    const rewritten = decomposeForWebGpu(model);
    expect(model.graph.nodes.filter((n) => n.opType === 'LogSoftmax' || n.opType === 'Sum').length).toBeGreaterThan(0);
    expect(rewritten.graph.nodes.filter((n) => n.opType === 'LogSoftmax' || n.opType === 'Sum')).toEqual([]);
    const feeds = { ...c.batches[0]!, ...Object.fromEntries([...c.graph.training.gradients.keys()].map((k) => [k, c.forward.graph.initializers.get(k)!])) };
    const fetch = [c.graph.training.lossOutput, ...c.graph.training.gradients.values()];
    const [a, b] = await Promise.all([Session.create(model, { intraOpThreads: 1 }), Session.create(rewritten, { intraOpThreads: 1 })]);
    const [want, got] = [await a.run(feeds, fetch), await b.run(feeds, fetch)];
    const arrays = (o: typeof want) => new Map(Object.entries(o).map(([k, t]) => [k, t.data as Float32Array]));
    expect(mismatches(arrays(want), arrays(got), 1e-6, 1e-5)).toEqual([]);
  });
});
