// The backward of Gather and GatherND adds the gradient of every gathered row back into its source
// row, and repeated indices are the rule (an embedding's repeated tokens, positions repeated over a
// batch). onnxruntime 1.30's CPU ScatterND splits its updates over the intra-op threads with no
// synchronisation and loses additions under repeats (measured on 2 threads: 3 runs in 200 without
// spinning, 30 with); the rules emit ScatterElements, a serial loop there. These gradients are
// counts, exact in float32, so one lost addition in any of 200 runs on 2 spinning threads fails.

import { describe, expect, it } from 'vitest';
import { GraphBuilder, Session, type Tensor } from '../../../src/graph/index.js';
import { buildTrainingGraph } from '../../../src/graph/autodiff/index.js';

const RUNS = 200;

/** loss = sum(gather(W, ids)) on 2 spinning threads, RUNS times: every gradient must equal `expected`. */
async function lostAdditions(build: (g: GraphBuilder, w: string) => string, wDims: number[], feeds: Record<string, Tensor>, expected: Float32Array): Promise<{ runs: number; ops: string[] }> {
  const g = new GraphBuilder({ opset: 17 });
  for (const [name, t] of Object.entries(feeds)) g.input(name, t.dtype, t.dims);
  const w = g.initializer('W', new Float32Array(wDims.reduce((a, b) => a * b, 1)).fill(0.5), wDims);
  g.output(g.reduceSum(build(g, w), undefined, false), 'loss', 'float32', []);
  const tg = buildTrainingGraph({ model: g.toModel(), loss: 'loss', trainable: ['W'] });
  const session = await Session.create(tg.model, { intraOpThreads: 2, allowSpinning: 'during-run', binding: 'c-api' });
  const W: Tensor = { dtype: 'float32', dims: wDims, data: new Float32Array(expected.length).fill(0.5) };
  let runs = 0;
  try {
    for (let r = 0; r < RUNS; r++) {
      const grad = (await session.run({ ...feeds, W }, [tg.gradients.get('W')!]))[tg.gradients.get('W')!]!.data as Float32Array;
      if (grad.some((v, i) => v !== expected[i])) runs++;
    }
  } finally {
    await session.release();
  }
  return { runs, ops: tg.model.graph.nodes.map((n) => n.opType) };
}

const ids = (dims: number[], of: (i: number) => number): Tensor => ({ dtype: 'int64', dims, data: BigInt64Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => BigInt(of(i))) });

/** Row counts of `index` repeated over the `width` columns of each row. */
function counts(rows: number, width: number, indices: number[]): Float32Array {
  const out = new Float32Array(rows * width);
  for (const r of indices) for (let j = 0; j < width; j++) out[r * width + j]! += 1;
  return out;
}

describe('Gather and GatherND gradients under repeated indices on 2 threads', () => {
  it('an embedding [V, D] gathered by [B, T] ids repeating every V: no lost additions', async () => {
    const [V, D, B, T] = [64, 256, 8, 128];
    const feeds = { ids: ids([B, T], (i) => i % V) };
    const expected = counts(V, D, Array.from({ length: B * T }, (_, i) => i % V));
    const r = await lostAdditions((g, w) => g.gather(w, 'ids', 0), [V, D], feeds, expected);
    expect(r.ops).not.toContain('ScatterND');
    expect(r.runs).toBe(0);
  });

  it('Gather along axis 1 with negative and repeated indices', async () => {
    const [R, C, N] = [64, 32, 512];
    // index -1 is column C - 1; every column repeats N / C times
    const index = (i: number) => (i % C === C - 1 ? -1 : i % C);
    const feeds = { cols: ids([N], index) };
    const expected = new Float32Array(R * C);
    for (let r = 0; r < R; r++) for (let i = 0; i < N; i++) expected[r * C + ((index(i) + C) % C)]! += 1;
    const result = await lostAdditions((g, w) => g.gather(w, 'cols', 1), [R, C], feeds, expected);
    expect(result.runs).toBe(0);
  });

  it('GatherND picking (row, column) pairs that repeat', async () => {
    const [R, C, D, N] = [8, 16, 64, 1024];
    const pair = (i: number) => [i % R, (i * 3) % C];
    const feeds = { at: ids([N, 2], (k) => pair(k >> 1)[k & 1]!) };
    const expected = counts(R * C, D, Array.from({ length: N }, (_, i) => pair(i)[0]! * C + pair(i)[1]!));
    const result = await lostAdditions((g, w) => g.op1('GatherND', [w, 'at']), [R, C, D], feeds, expected);
    expect(result.ops).not.toContain('ScatterND');
    expect(result.runs).toBe(0);
  });
});
