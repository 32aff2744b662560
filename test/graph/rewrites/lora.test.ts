import { describe, expect, it } from 'vitest';
import { GraphBuilder, Session, type Model } from '../../../src/graph/index.js';
import { injectLora, mergeLora } from '../../../src/graph/rewrites/index.js';
import { mulberry32, type Rng } from '../../../src/random.js';

const IN = 5;
const OUT = 3;

function randomArray(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
}

// y1 = MatMul(x, W1) with W1 [in, out]; y2 = Gemm(x, W2, c, transB=1, alpha=0.5) with W2 [out, in].
function twoLinears(rng: Rng): Model {
  const g = new GraphBuilder({ opset: 17 });
  const x = g.input('x', 'float32', [2, IN]);
  const w1 = g.initializer('proj.weight', randomArray(IN * OUT, rng), [IN, OUT]);
  const w2 = g.initializer('head.weight', randomArray(OUT * IN, rng), [OUT, IN]);
  const c = g.initializer('head.bias', randomArray(OUT, rng), [OUT]);
  g.op('MatMul', [x, w1], {}, { names: ['y1'], name: '/proj/MatMul' });
  g.op('Gemm', [x, w2, c], { transB: 1, alpha: 0.5 }, { names: ['y2'], name: '/head/Gemm' });
  g.output('y1');
  g.output('y2');
  return g.toModel();
}

// Plain-loop reference: y = alpha * x (W + scale * A B) (+ c), with W read as [in, out].
function reference(x: Float32Array, w: (i: number, j: number) => number, a: Float32Array, b: Float32Array, r: number, scale: number, alpha: number, c?: Float32Array): Float32Array {
  const y = new Float32Array(2 * OUT);
  for (let n = 0; n < 2; n++)
    for (let j = 0; j < OUT; j++) {
      let s = 0;
      for (let i = 0; i < IN; i++) {
        let ab = 0;
        for (let k = 0; k < r; k++) ab += a[i * r + k]! * b[k * OUT + j]!;
        s += x[n * IN + i]! * (w(i, j) + scale * ab);
      }
      y[n * OUT + j] = alpha * s + (c ? c[j]! : 0);
    }
  return y;
}

describe('LoRA injection and merge-back', () => {
  it('starts equal to the base model, computes x(W + alpha/r A B) once B is trained, and merges back to the same outputs', async () => {
    const rng = mulberry32(7);
    const base = twoLinears(rng);
    const x = randomArray(2 * IN, rng);
    const rank = 2;
    const { model, adapters, trainable } = injectLora(base, { rank, alpha: 4, targets: 'all-linear', seed: 3 });
    expect(adapters.map((a) => a.weight)).toEqual(['proj.weight', 'head.weight']);
    expect(trainable).toEqual(['proj.weight.lora_A', 'proj.weight.lora_B', 'head.weight.lora_A', 'head.weight.lora_B']);
    // PEFT init: A uniform within 1/sqrt(in), B zero.
    const a1 = model.graph.initializers.get('proj.weight.lora_A')!.data as Float32Array;
    expect(Math.max(...a1.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(IN));
    expect(new Set(a1).size).toBe(a1.length);
    expect([...(model.graph.initializers.get('proj.weight.lora_B')!.data as Float32Array)].every((v) => v === 0)).toBe(true);

    const feeds = { x: { dtype: 'float32' as const, dims: [2, IN], data: x } };
    const baseOut = await (await Session.create(base)).run(feeds);
    const s0 = await Session.create(model);
    const initial = await s0.run(feeds);
    expect(initial.y1!.data).toEqual(baseOut.y1!.data);

    // "Train": give both B matrices values, then compare with the plain-loop formula.
    const values = new Map<string, Float32Array>();
    for (const ad of adapters) {
      const b = randomArray(rank * OUT, rng);
      values.set(ad.b, b);
      model.graph.initializers.set(ad.b, { dtype: 'float32', dims: [rank, OUT], data: b });
    }
    const out = await (await Session.create(model)).run(feeds);
    const w1 = base.graph.initializers.get('proj.weight')!.data as Float32Array;
    const w2 = base.graph.initializers.get('head.weight')!.data as Float32Array;
    const c = base.graph.initializers.get('head.bias')!.data as Float32Array;
    const get = (n: string) => model.graph.initializers.get(n)!.data as Float32Array;
    const want1 = reference(x, (i, j) => w1[i * OUT + j]!, get('proj.weight.lora_A'), get('proj.weight.lora_B'), rank, 2, 1);
    const want2 = reference(x, (i, j) => w2[j * IN + i]!, get('head.weight.lora_A'), get('head.weight.lora_B'), rank, 2, 0.5, c);
    for (let i = 0; i < want1.length; i++) expect((out.y1!.data as Float32Array)[i]).toBeCloseTo(want1[i]!, 5);
    for (let i = 0; i < want2.length; i++) expect((out.y2!.data as Float32Array)[i]).toBeCloseTo(want2[i]!, 5);

    const merged = mergeLora(model, adapters, values);
    expect([...merged.graph.initializers.keys()].some((k) => k.includes('lora'))).toBe(false);
    expect(merged.graph.nodes.map((n) => n.opType)).toEqual(['MatMul', 'Gemm']);
    const mergedOut = await (await Session.create(merged)).run(feeds);
    for (let i = 0; i < want1.length; i++) expect((mergedOut.y1!.data as Float32Array)[i]).toBeCloseTo(want1[i]!, 5);
    for (let i = 0; i < want2.length; i++) expect((mergedOut.y2!.data as Float32Array)[i]).toBeCloseTo(want2[i]!, 5);
    // The source model is untouched.
    expect(base.graph.initializers.get('proj.weight')!.data).toBe(w1);
  });

  it('selects targets by module-name component on node names and rejects a pattern that matches nothing', () => {
    const base = twoLinears(mulberry32(1));
    expect(injectLora(base, { rank: 1, alpha: 1, targets: ['head'] }).adapters.map((a) => a.weight)).toEqual(['head.weight']);
    expect(() => injectLora(base, { rank: 1, alpha: 1, targets: ['q_proj'] })).toThrow(/match no MatMul/);
    expect(() => injectLora(base, { rank: 0, alpha: 1, targets: 'all-linear' })).toThrow(/rank/);
  });
});
