// Embedding gradients put together outside the run (src/graph/autodiff/row-scatters.ts,
// src/train/row-scatters.ts): the rewritten graph, the transpose kernel over the arena's threads,
// and a Trainer's gradients against the same graph with the scatter-add left inside.
import { describe, expect, it } from 'vitest';
import { loadModel, producers } from '../../src/graph/index.js';
import { rowScattersOutside } from '../../src/graph/autodiff/row-scatters.js';
import { buildGpt2, buildLlama } from '../../src/models/fixtures/index.js';
import { createOptimizer, WasmArena } from '../../src/optim/index.js';
import { prepareCausalLmTraining, TokenWindowSampler, Trainer, type TrainingGraphLike } from '../../src/train/index.js';
import { assembleRowScatter, transposerFor } from '../../src/train/row-scatters.js';
import type { Model } from '../../src/graph/index.js';
import { createLoss } from '../../src/losses/index.js';
import { buildBatch, buildRunGraph, rowGroupsFor, RUN_DEFAULTS, type RunItem } from '../../src/train/run/index.js';
import { TINY_GPT2_ONNX } from './helpers.js';
import { TINY_LM } from './run/helpers.js';

const GPT2 = buildGpt2({ vocabSize: 96, nPositions: 32, nEmbd: 16, nLayer: 1, nHead: 2, layerNormEpsilon: 1e-5 }, { kind: 'lm' }, 0);
const LLAMA = buildLlama({ vocabSize: 96, hiddenSize: 16, intermediateSize: 32, numLayers: 1, numHeads: 2, numKvHeads: 1, ropeTheta: 10000, rmsNormEps: 1e-6, attentionBias: false, tieWordEmbeddings: false }, 0);

/** Repeated tokens (rows added twice) and every position of a 12-token window. */
const TOKENS = Array.from({ length: 600 }, (_, i) => (i % 7 === 0 ? 5 : (i * 31 + (i >> 2)) % 96));

function kinds(model: Model, transposed: boolean): Record<string, string> {
  const { training } = prepareCausalLmTraining(model, { loss: 'next-token' });
  const { scatters } = rowScattersOutside(training, { transposed });
  return Object.fromEntries([...scatters].map(([p, s]) => [p, s.dense ? (s.dense.transposed ? 'transposed' : 'dense') : 'zeros']));
}

describe('rowScattersOutside', () => {
  it('takes each embedding gradient\'s scatter out of the graph: a tied head\'s dense part (turned around when asked), zeros for an untied table', () => {
    expect(kinds(GPT2, true)).toEqual({ 'transformer.wte.weight': 'transposed', 'transformer.wpe.weight': 'zeros' });
    expect(kinds(GPT2, false)).toEqual({ 'transformer.wte.weight': 'dense', 'transformer.wpe.weight': 'zeros' });
    expect(kinds(LLAMA, true)).toEqual({ 'model.embed_tokens.weight': 'zeros' });
    // The committed fixture computes its head's gradient as Transpose([d, V]): the Transpose goes.
    expect(kinds(loadModel(TINY_GPT2_ONNX), true)).toEqual({ 'transformer.wte.weight': 'transposed', 'transformer.wpe.weight': 'zeros' });
  });

  it('leaves no scatter-add behind a gradient output and names every part as an output', () => {
    const { training } = prepareCausalLmTraining(GPT2, { loss: 'next-token' });
    const { training: out, scatters } = rowScattersOutside(training);
    const graph = out.model.graph;
    const outputs = new Set(graph.outputs.map((o) => o.name));
    const prod = producers(graph);
    for (const [param, plan] of scatters) {
      expect(outputs.has(training.gradients.get(param)!)).toBe(false);
      for (const v of [plan.rows, plan.updates, ...(plan.dense ? [plan.dense.output] : [])]) expect(outputs.has(v), v).toBe(true);
    }
    expect(graph.nodes.filter((n) => n.opType === 'ScatterElements' && n.inputs.some((i) => prod.get(i)?.opType === 'Expand'))).toHaveLength(0);
    expect(graph.nodes.some((n) => n.opType === 'ConstantOfShape' && !n.outputs.some((o) => graph.nodes.some((m) => m.inputs.includes(o))))).toBe(false);
    // The source training graph is untouched.
    expect(training.model.graph.outputs.some((o) => o.name === training.gradients.get('transformer.wte.weight'))).toBe(true);
  });
});

describe('transposerFor', () => {
  it('turns odd-sized matrices around on the arena\'s threads exactly as the plain loop does', () => {
    for (const threads of [1, 2]) {
      const arena = new WasmArena(32 << 20, { threads, splitFrom: 4096 });
      const { transpose, fast } = transposerFor(arena);
      expect(fast).toBe(true);
      for (const [rows, cols] of [[3, 5], [517, 1030], [768, 1003], [1, 9000]] as const) {
        const src = arena.f32(rows * cols).map((_, i) => i * 0.5 - 7);
        const dst = arena.f32(rows * cols);
        transpose(src, rows, cols, dst);
        for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) if (dst[c * rows + r] !== src[r * cols + c]) throw new Error(`threads ${threads}, ${rows}x${cols}: [${r}, ${c}]`);
      }
      arena.close();
    }
    const heap = transposerFor(undefined);
    expect(heap.fast).toBe(false);
    const dst = new Float32Array(6);
    heap.transpose(Float32Array.from([1, 2, 3, 4, 5, 6]), 2, 3, dst);
    expect([...dst]).toEqual([1, 4, 2, 5, 3, 6]);
  });
});

describe('assembleRowScatter', () => {
  it('adds each update row to its row, repeats included, onto zeros or the dense part', () => {
    const rows = BigInt64Array.from([2n, 0n, 2n]);
    const updates = Float32Array.from([1, 2, 10, 20, 100, 200]);
    const target = new Float32Array(6).fill(9);
    assembleRowScatter('w', { rows: 'r', updates: 'u', dims: [3, 2] }, target, { rows, updates }, transposerFor(undefined).transpose);
    expect([...target]).toEqual([10, 20, 0, 0, 101, 202]);
    const dense = Float32Array.from([1, 1, 1, 1, 1, 1]);
    assembleRowScatter('w', { dense: { output: 'd', transposed: false }, rows: 'r', updates: 'u', dims: [3, 2] }, dense, { rows, updates }, transposerFor(undefined).transpose);
    expect([...dense]).toEqual([11, 21, 1, 1, 102, 203]);
    // [cols, rows] = [[1, 2, 3], [4, 5, 6]] turned into [rows, cols] first.
    const turned = new Float32Array(6);
    assembleRowScatter('w', { dense: { output: 'd', transposed: true }, rows: 'r', updates: 'u', dims: [3, 2] }, turned, { transposed: Float32Array.from([1, 2, 3, 4, 5, 6]), rows, updates }, transposerFor(undefined).transpose);
    expect([...turned]).toEqual([11, 24, 2, 5, 104, 208]);
  });

  it('names the parameter and the row when an index is outside the table', () => {
    expect(() => assembleRowScatter('wte', { rows: 'r', updates: 'u', dims: [3, 2] }, new Float32Array(6), { rows: BigInt64Array.from([1n, 3n]), updates: new Float32Array(4) }, transposerFor(undefined).transpose))
      .toThrow(/gradient of wte: row index 3 at 1 is outside \[0, 3\)/);
    expect(() => assembleRowScatter('wte', { rows: 'r', updates: 'u', dims: [3, 2] }, new Float32Array(6), { rows: BigInt64Array.from([1n]), updates: new Float32Array(3) }, transposerFor(undefined).transpose))
      .toThrow(/1 rows but 3 update values/);
  });
});

async function gradients(training: TrainingGraphLike, source: Model, rowScatters: boolean, arena?: WasmArena): Promise<Map<string, Float32Array>> {
  const trainer = await Trainer.create({ training, source, optimizer: createOptimizer('sgd', { lr: 0.1 }, arena ? { arena } : undefined), allocator: arena, rowScatters });
  const batch = new TokenWindowSampler(TOKENS, { batch: 3, sequence: 12, seed: 4 }).next();
  const { gradients: g } = await trainer.evaluate(batch);
  const copy = new Map([...g].map(([k, v]) => [k, Float32Array.from(v)]));
  await trainer.release();
  return copy;
}

describe('Trainer with embedding gradients assembled outside the run', () => {
  for (const [name, model] of [['GPT-2 (tied head)', GPT2], ['Llama (untied)', LLAMA], ['the committed fixture', loadModel(TINY_GPT2_ONNX)]] as const) {
    it(`gives the gradients of the in-graph scatter: ${name}, on the heap and in a two-thread arena`, async () => {
      const { training, forward } = prepareCausalLmTraining(model, { loss: 'next-token' });
      const inGraph = await gradients(training, forward, false);
      for (const arena of [undefined, new WasmArena(64 << 20, { threads: 2, splitFrom: 4096 })]) {
        const outside = await gradients(training, forward, true, arena);
        for (const [p, g] of inGraph) {
          const h = outside.get(p)!;
          const scale = g.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
          let worst = 0;
          for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs(g[i]! - h[i]!));
          // The swapped head product may sum in another order; everything else is the same arithmetic.
          expect(worst, `${p} (${arena ? 'arena' : 'heap'})`).toBeLessThanOrEqual(1e-6 * scale);
        }
        arena?.close();
      }
    });
  }
});

describe('the DPO run graph (logits from the shortest prompt on)', () => {
  it('has its tied head turned around too, and the Trainer gives the in-graph scatter\'s gradients', async () => {
    const loss = createLoss('dpo');
    const groups = rowGroupsFor(loss, 'causal-lm');
    const items: RunItem[] = [6, 9].map((p, i) => ({
      id: `item-${i}`, prompt: Array.from({ length: p }, (_, k) => 5 + ((i * 31 + k * 17) % 400)),
      responses: [[7, 8, 9, 7, 11], [12, 13, 12, 14]], label: 1, margin: 0, udmWeight: 1,
    }));
    const graph = buildRunGraph(loadModel(`${TINY_LM}/onnx/model.onnx`), { role: 'causal-lm', loss, groups, rows: items.length, train: 'full', lora: RUN_DEFAULTS.lora, seed: 1 });
    // The head's product loses a dim in shape inference here: the plan reads the parameter's own dims.
    const kinds = Object.fromEntries([...rowScattersOutside(graph.training).scatters].map(([p, s]) => [p, s.dense?.transposed ?? 'zeros']));
    expect(kinds).toEqual({ 'transformer.wte.weight': true, 'transformer.wpe.weight': 'zeros' });
    const reference = new Map(groups.filter((g) => g.reference).map((g) => [g.reference!, Float64Array.from(items, (_, i) => -20 - i)]));
    const batch = buildBatch({ forward: graph.forward, items, groups, loss, fed: graph.fedInputs, reference, padId: 0 }, [0, 1], {}).feeds;
    const run = async (rowScatters: boolean, arena?: WasmArena) => {
      const trainer = await Trainer.create({ training: graph.training, source: graph.forward, optimizer: createOptimizer('sgd', { lr: 0.1 }, arena ? { arena } : undefined), allocator: arena, rowScatters });
      const g = new Map([...(await trainer.evaluate(batch)).gradients].map(([k, v]) => [k, Float32Array.from(v)]));
      await trainer.release();
      return g;
    };
    const inGraph = await run(false);
    const arena = new WasmArena(64 << 20, { threads: 2, splitFrom: 4096 });
    const outside = await run(true, arena);
    arena.close();
    for (const p of ['transformer.wte.weight', 'transformer.wpe.weight']) {
      const [g, h] = [inGraph.get(p)!, outside.get(p)!];
      const scale = g.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
      expect(scale).toBeGreaterThan(0);
      let worst = 0;
      for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs(g[i]! - h[i]!));
      expect(worst, p).toBeLessThanOrEqual(1e-6 * scale);
    }
  });
});
