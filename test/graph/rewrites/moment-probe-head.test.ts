// The moment-probing reward head (src/graph/rewrites/moment-probe-head.ts) on the fixture GPT-2s:
// its scores equal the formula computed here in plain TypeScript (float64) from the backbone's own
// hidden states, padding never changes a score, its gradients pass the finite-difference check,
// and the `head` trainable selection picks exactly its parameters.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, loadModel, Session, type Model, type Tensor } from '../../../src/graph/index.js';
import { checkGradientCase, checkGradients } from '../../../src/graph/autodiff/index.js';
import {
  addMomentProbeHead, buildMomentProbeHead, finalHiddenState, momentProbeConfig, momentProbeParameters, MOMENT_PROBE_PARAMS, scoreHead, stripKvCache,
  type MomentProbeConfig,
} from '../../../src/graph/rewrites/index.js';
import { tokenFeeds } from '../../../src/train/feeds.js';
import { mulberry32, normalSample } from '../../../src/random.js';
import { DATA } from '../../helpers/paths.js';

const TINY_RM = path.join(DATA, 'models/tiny-gpt2-rm/onnx/model.onnx');
const TINY_LM = path.join(DATA, 'models/tiny-gpt2/onnx/model.onnx');

// Three rows of lengths 6, 3 and 1, right-padded to 6. Pad positions hold arbitrary ids on purpose:
// with the mask at 0 they must not matter.
const ROWS = [[11, 52, 7, 300, 41, 9], [5, 6, 77], [123]];
const T = 6;

function batch(rows: number[][], padIds: (b: number, t: number) => number) {
  const ids: number[] = [];
  const mask: number[] = [];
  rows.forEach((r, b) => {
    for (let t = 0; t < T; t++) {
      ids.push(t < r.length ? r[t]! : padIds(b, t));
      mask.push(t < r.length ? 1 : 0);
    }
  });
  return { inputIds: ids, attentionMask: mask, dims: [rows.length, T] as [number, number] };
}

/** Replace the head's initial values (LayerNorm at identity, zero biases) by random ones, so every parameter shows in the scores. */
function randomizeHead(model: Model, seed: number): void {
  const rand = mulberry32(seed).next;
  for (const name of Object.values(MOMENT_PROBE_PARAMS)) {
    const t = model.graph.initializers.get(name)!;
    const scale = name.endsWith('norm.weight') ? 0.3 : name === MOMENT_PROBE_PARAMS.classifierWeight ? 0.2 : 0.5;
    const mean = name.endsWith('norm.weight') ? 1 : 0;
    model.graph.initializers.set(name, { ...t, data: Float32Array.from(t.data as Float32Array, () => mean + scale * normalSample(rand)) });
  }
}

/** The backbone alone, with its final hidden states as an extra output. */
async function hiddenStates(file: string, feeds: ReturnType<typeof batch>): Promise<{ hidden: Float32Array; width: number }> {
  const backbone = stripKvCache(loadModel(file)).model;
  const { value, width } = finalHiddenState(backbone);
  backbone.graph.outputs.push({ name: value, dtype: 'float32' });
  const s = await Session.create(backbone);
  const out = await s.run(tokenFeeds(backbone, feeds), [value]);
  await s.release();
  return { hidden: out[value]!.data as Float32Array, width };
}

/** The head's formula, written out loop by loop in float64 (see the file comment of the rewrite). */
function referenceScores(X: Float32Array, mask: number[], [B, Tn, C]: number[], params: Map<string, Tensor>, cfg: MomentProbeConfig, K: number): number[][] {
  const P = MOMENT_PROBE_PARAMS;
  const get = (n: string) => params.get(n)!.data as Float32Array;
  const [Wp, bp, gamma, beta, Wc, bc] = [get(P.projWeight), get(P.projBias), get(P.normWeight), get(P.normBias), get(P.classifierWeight), get(P.classifierBias)];
  const { heads: H, headDim: d } = cfg;
  const out: number[][] = [];
  for (let b = 0; b < B; b++) {
    const real = Array.from({ length: Tn }, (_, t) => t).filter((t) => mask[b * Tn + t] === 1);
    const n = real.length;
    const x = (t: number, c: number) => X[(b * Tn + t) * C + c]!;
    const first = Array.from({ length: C }, (_, c) => (cfg.firstOrder === 'last' ? x(real.at(-1)!, c) : real.reduce((a, t) => a + x(t, c), 0) / n));
    // U[t][h][k]: projected, split into heads, each head layer-normed with the shared gamma/beta.
    const U = real.map((t) => {
      const z = Array.from({ length: H * d }, (_, o) => bp[o]! + Array.from({ length: C }, (_, c) => Wp[o * C + c]! * x(t, c)).reduce((a, v) => a + v, 0));
      return Array.from({ length: H }, (_, h) => {
        const v = z.slice(h * d, (h + 1) * d);
        const mu = v.reduce((a, e) => a + e, 0) / d;
        const variance = v.reduce((a, e) => a + (e - mu) ** 2, 0) / d;
        return v.map((e, k) => ((e - mu) / Math.sqrt(variance + 1e-5)) * gamma[k]! + beta[k]!);
      });
    });
    const mean = Array.from({ length: H }, (_, h) => Array.from({ length: d }, (_, k) => U.reduce((a, u) => a + u[h]![k]!, 0) / n));
    const A = U.map((u) => u.map((row, h) => row.map((e, k) => e - mean[h]![k]!)));
    const second: number[] = [];
    for (let h = 0; h + 1 < H; h++) {
      const S = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => A.reduce((a, at) => a + at[h]![i]! * at[h + 1]![j]!, 0) / n));
      const norms = Array.from({ length: d }, (_, j) => Math.sqrt(S.reduce((a, row) => a + row[j]! ** 2, 0) + 1e-6));
      for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) second.push(S[i]![j]! / norms[j]!);
    }
    const features = [...first, ...second];
    out.push(Array.from({ length: K }, (_, k) => bc[k]! + features.reduce((a, f, i) => a + Wc[k * features.length + i]! * f, 0)));
  }
  return out;
}

async function scores(model: Model, feeds: ReturnType<typeof batch>): Promise<Tensor> {
  const s = await Session.create(model);
  const out = await s.run(tokenFeeds(model, feeds), ['logits']);
  await s.release();
  return out.logits!;
}

describe('moment-probe head: forward', () => {
  const cases = [
    { name: 'sequence classifier (tiny-gpt2-rm), last-token first moment, K = 1', file: TINY_RM, opts: { heads: 4, headDim: 4, numLabels: 1 } },
    { name: 'causal LM with KV cache (tiny-gpt2), mean first moment, K = 3', file: TINY_LM, opts: { heads: 3, headDim: 5, numLabels: 3, firstOrder: 'mean' as const } },
  ];
  for (const c of cases)
    it(`${c.name}: scores equal the formula computed from the backbone's hidden states`, async () => {
      const r = addMomentProbeHead(loadModel(c.file), { ...c.opts, seed: 5 });
      randomizeHead(r.model, 9);
      expect(r.model.graph.outputs.map((o) => o.name)).toEqual(['logits']);
      expect(r.model.graph.inputs.some((v) => v.name.startsWith('past_key_values'))).toBe(false);
      const feeds = batch(ROWS, (b, t) => 400 + b * 10 + t);
      const got = await scores(r.model, feeds);
      expect(got.dims).toEqual([3, c.opts.numLabels]);
      const { hidden, width } = await hiddenStates(c.file, feeds);
      expect(width).toBe(r.width);
      const want = referenceScores(hidden, feeds.attentionMask, [3, T, width], r.model.graph.initializers, r.config, c.opts.numLabels);
      const data = Array.from(got.data as Float32Array);
      want.flat().forEach((w, i) => expect(data[i]!, `score ${i}`).toBeCloseTo(w, 4));
      // Scores differ across rows, so the comparison above is not trivially true.
      expect(new Set(data.map((v) => v.toFixed(4))).size).toBe(data.length);
    }, 30_000);

  it('padding does not change a score: each row alone, and other pad ids, give the same scores', async () => {
    const model = addMomentProbeHead(loadModel(TINY_RM), { seed: 1 }).model;
    randomizeHead(model, 2);
    const padded = Array.from((await scores(model, batch(ROWS, () => 0))).data as Float32Array);
    const otherPads = Array.from((await scores(model, batch(ROWS, (b, t) => 17 * b + t + 1))).data as Float32Array);
    expect(otherPads).toEqual(padded.map((v) => expect.closeTo(v, 6)));
    for (const [b, row] of ROWS.entries()) {
      const alone = await scores(model, { inputIds: row, attentionMask: row.map(() => 1), dims: [1, row.length] });
      expect((alone.data as Float32Array)[0], `row ${b}`).toBeCloseTo(padded[b]!, 5);
    }
  }, 30_000);

  it('replaces the score head: the old score.weight is gone and `head` selects exactly the new parameters', () => {
    const source = loadModel(TINY_RM);
    expect(scoreHead(source)).toEqual(['score.weight']);
    const two = addMomentProbeHead(source, { numLabels: 2 });
    expect(two.model.graph.initializers.has('score.weight')).toBe(false);
    expect(scoreHead(two.model).sort()).toEqual([...two.parameters].sort());
    // Backbone weights are all kept.
    for (const name of source.graph.initializers.keys()) if (name.startsWith('transformer.')) expect(two.model.graph.initializers.has(name), name).toBe(true);
    // With one label the bias is a single number, which weight selection treats as a constant
    // (a Bradley-Terry loss gives it zero gradient anyway).
    const one = addMomentProbeHead(source, { numLabels: 1 });
    expect(scoreHead(one.model).sort()).toEqual(one.parameters.filter((p) => p !== MOMENT_PROBE_PARAMS.classifierBias).sort());
  });

  it('finds the hidden states behind a classifier pooling and behind a tied LM head', () => {
    expect(finalHiddenState(loadModel(TINY_RM))).toEqual({ value: expect.any(String), width: 32, head: expect.any(String) });
    expect(finalHiddenState(stripKvCache(loadModel(TINY_LM)).model).width).toBe(32);
  });
});

describe('moment-probe head: options and errors', () => {
  it('validates options, naming the bad one', () => {
    expect(momentProbeConfig()).toEqual({ heads: 4, headDim: 16, firstOrder: 'last' });
    expect(() => momentProbeConfig({ heads: 1 })).toThrow(/option heads: must be an integer >= 2/);
    expect(() => momentProbeConfig({ headDim: 2.5 })).toThrow(/option headDim/);
    expect(() => momentProbeConfig({ firstOrder: 'cls' })).toThrow(/option firstOrder: must be one of last, mean/);
    expect(() => momentProbeConfig({ hidden: 64 })).toThrow(/has no option hidden; options: heads, headDim, firstOrder/);
  });

  it('a head over an already pooled [B, C] value is an error naming the value', () => {
    const g = new GraphBuilder({ opset: 17 });
    g.input('input_ids', 'int64', ['batch', 'sequence']);
    const pooled = g.input('pooled', 'float32', ['batch', 8]);
    g.output(g.matMul(pooled, g.initializer('classifier.weight', new Float32Array(8), [8, 1])), 'logits', 'float32', ['batch', 1]);
    expect(() => addMomentProbeHead(g.toModel())).toThrow(/hidden states pooled of graph .* have dims \[batch,8\]/);
  });
});

/** The head alone on a float hidden-state input, in the check's dtype, with random non-trivial parameters. */
function standaloneHead(dtype: 'float32' | 'float64', cfg: MomentProbeConfig, K: number) {
  const [B, Tn, C] = [3, 4, 5];
  const g = new GraphBuilder({ opset: 17 });
  const hidden = g.input('hidden', dtype, ['batch', 'sequence', C]);
  const mask = g.input('attention_mask', 'int64', ['batch', 'sequence']);
  const rand = mulberry32(77).next;
  for (const [name, t] of momentProbeParameters(C, K, cfg, 3, dtype)) {
    const mean = name.endsWith('norm.weight') ? 1 : 0;
    g.initializer(name, { ...t, data: (t.data as Float64Array).map(() => mean + 0.4 * normalSample(rand)) });
  }
  g.output(buildMomentProbeHead(g, { hidden, mask, dtype }, cfg), 'scores', dtype, ['batch', K]);
  const h = dtype === 'float64' ? new Float64Array(B * Tn * C) : new Float32Array(B * Tn * C);
  h.forEach((_, i) => (h[i] = normalSample(rand)));
  const feeds: Record<string, Tensor> = {
    hidden: { dtype, dims: [B, Tn, C], data: h },
    // Lengths 4, 2 and 3: two padded rows.
    attention_mask: { dtype: 'int64', dims: [B, Tn], data: BigInt64Array.from([1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 0].map(BigInt)) },
  };
  return { model: g.toModel(), wrt: [...Object.values(MOMENT_PROBE_PARAMS), 'hidden'], feeds };
}

/** The checker probes each parameter along `directions` random directions and min(coordinates, size) single coordinates. */
function expectedChecks(c: { model: Model; wrt: string[]; feeds: Record<string, Tensor> }, directions: number, coordinates: number): number {
  const size = (p: string) => (c.model.graph.initializers.get(p) ?? c.feeds[p]!).data.length;
  return c.wrt.reduce((a, p) => a + directions + Math.min(coordinates, size(p)), 0);
}

describe('moment-probe head: gradients', () => {
  for (const firstOrder of ['last', 'mean'] as const)
    it(`every head parameter and the hidden states pass the finite-difference check (${firstOrder} first moment)`, async () => {
      const cfg = momentProbeConfig({ heads: 3, headDim: 3, firstOrder });
      const result = await checkGradientCase((dtype) => standaloneHead(dtype, cfg, 2), { directions: 2, coordinates: 4 });
      expect(result.dtype).toBe('float64');
      expect(result.failures).toEqual([]);
      expect(result.checks).toBe(expectedChecks(standaloneHead('float64', cfg, 2), 2, 4));
    }, 30_000);

  it('on the rewritten fixture classifier (float32, through the real backbone)', async () => {
    const r = addMomentProbeHead(loadModel(TINY_RM), { heads: 2, headDim: 4, numLabels: 2, seed: 4 });
    randomizeHead(r.model, 6);
    const feeds = tokenFeeds(r.model, batch(ROWS, () => 0));
    const result = await checkGradients(r.model, { wrt: r.parameters, feeds, directions: 2, coordinates: 3 });
    expect(result.dtype).toBe('float32');
    expect(result.failures).toEqual([]);
    expect(result.checks).toBe(expectedChecks({ model: r.model, wrt: r.parameters, feeds }, 2, 3));
  }, 30_000);
});
