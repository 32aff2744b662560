// Parameters living in the WasmArena are read by a real onnxruntime session straight from the
// wasm memory (a non-shared WebAssembly.Memory view), and an in-place kernel step is visible to
// the next run without rebuilding the tensor: one copy of the weights, no transfer per step.

import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, Session } from '../../src/graph/index.js';
import { createOptimizer, WasmArena } from '../../src/optim/index.js';

describe('WasmArena with onnxruntime', () => {
  it('a session reads arena parameters in place, before and after an optimizer step', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [1, 4]);
    const w = g.input('w', 'float32', [4, 1]);
    g.output(g.matMul(x, w), 'y', 'float32', [1, 1]);
    const session = await Session.create(g.toModel());

    const arena = new WasmArena(1 << 20);
    const param = arena.param('w', [4, 1], [1, 2, 3, 4]);
    const grad = arena.f32(4);
    const wTensor = new ort.Tensor('float32', param.data, [4, 1]);
    const feeds = { x: new ort.Tensor('float32', Float32Array.of(1, 1, 1, 1), [1, 4]), w: wTensor };
    expect(Array.from((await session.run(feeds)).y!.data as Float32Array)).toEqual([10]);

    const opt = createOptimizer('lion', { lr: 0.5, weightDecay: 0 }, { arena });
    grad.set([1, -1, 1, -1]);
    opt.step([param], { w: grad });
    expect(opt.kernelNames()).toEqual(['lion']);
    // Lion: sign(0.1 g) = g here, w = [1, 2, 3, 4] - 0.5 [1, -1, 1, -1] = [0.5, 2.5, 2.5, 4.5]; sum 10.
    expect(Array.from(param.data)).toEqual([0.5, 2.5, 2.5, 4.5]);
    grad.set([1, 1, 1, 1]);
    opt.step([param], { w: grad });
    // c = 0.9 m + 0.1 g with m = 0.01 [1, -1, 1, -1]: entries 0.109 / 0.091 > 0, all signs +1: w -= 0.5: sum 8.
    expect(Array.from((await session.run(feeds)).y!.data as Float32Array)).toEqual([8]);
    expect(wTensor.data).toBe(param.data);
  });
});
