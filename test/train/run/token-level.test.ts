// Token-level losses (TDPO1, TDPO2, SparsePO) through `alignkit train`: the frozen reference runs
// inside the training graph. Checked against plain sessions of the fixture model: the in-graph
// per-token KL and reference log-probs equal a log-softmax computed here in TypeScript from two
// separate sessions' logits; the branch gets no gradient and keeps its values while the policy
// trains (full and LoRA); each loss trains through the real entry point and the exported
// directory holds only the policy, byte for byte the size of a DPO export.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, Session, type Model, type Tensor } from '../../../src/graph/index.js';
import { addFrozenBranch, addTokenKlHead, cloneModel, stripKvCache } from '../../../src/graph/rewrites/index.js';
import { createLoss } from '../../../src/losses/index.js';
import { createOptimizer } from '../../../src/optim/index.js';
import { tokenFeeds, trainedModel, Trainer } from '../../../src/train/index.js';
import {
  tokenLevelForward, buildBatch, buildRunGraph, exportedValues, rowGroupsFor, runTraining, RUN_DEFAULTS, RUN_FILES, type RunConfig, type RunItem,
} from '../../../src/train/run/index.js';
import { readJsonl, smallConfig, tempDir, TINY_LM } from './helpers.js';

const ONNX = path.join(TINY_LM, 'onnx/model.onnx');
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

// ------------------------------------------------------------------ an independent computation

/** A session of `model` fed `rows` right-padded to the longest (ids, mask, positions as the model reads them). */
async function rightPadded(model: Model, rows: number[][]) {
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(rows.length * T);
  const mask = new BigInt64Array(rows.length * T);
  rows.forEach((r, n) => r.forEach((id, t) => ((ids[n * T + t] = BigInt(id)), (mask[n * T + t] = 1n))));
  const session = await Session.create(model, { intraOpThreads: 1 });
  return { T, session, run: () => session.run(tokenFeeds(model, { inputIds: ids, attentionMask: mask, dims: [rows.length, T] })) };
}


/** [N, T, V] logits of a plain (KV-stripped) model on right-padded rows. */
async function logitsOf(model: Model, rows: number[][]): Promise<{ logits: Float32Array; T: number; V: number }> {
  const { T, session, run } = await rightPadded(model, rows);
  try {
    const out = await run();
    const logits = out.logits as Tensor;
    return { logits: logits.data as Float32Array, T, V: logits.dims[2]! };
  } finally {
    await session.release();
  }
}

function logSoftmax(x: Float32Array, offset: number, V: number): Float64Array {
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, x[offset + v]!);
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(x[offset + v]! - max);
  const lse = max + Math.log(sum);
  return Float64Array.from({ length: V }, (_, v) => x[offset + v]! - lse);
}

/**
 * Per row and position t >= 1, from the distributions at t - 1: KL(ref || policy) over the
 * vocabulary and log p_ref(ids[t]); position 0 is 0 (nothing predicts it).
 */
async function independentTokenStats(policy: Model, reference: Model, rows: number[][]) {
  const p = await logitsOf(policy, rows);
  const r = await logitsOf(reference, rows);
  const { T, V } = p;
  const kl = rows.map(() => new Float64Array(T));
  const refLogp = rows.map(() => new Float64Array(T));
  rows.forEach((row, n) => {
    for (let t = 1; t < row.length; t++) {
      const at = (n * T + t - 1) * V;
      const lp = logSoftmax(p.logits, at, V);
      const lr = logSoftmax(r.logits, at, V);
      let s = 0;
      for (let v = 0; v < V; v++) s += Math.exp(lr[v]!) * (lr[v]! - lp[v]!);
      kl[n]![t] = s;
      refLogp[n]![t] = lr[row[t]!]!;
    }
  });
  return { kl, refLogp, T };
}

/** The fixture with its final norm's gain scaled: a policy whose distributions differ from the reference. */
function perturbed(model: Model): Model {
  const copy = cloneModel(model);
  const t = copy.graph.initializers.get('transformer.ln_f.weight')!;
  copy.graph.initializers.set('transformer.ln_f.weight', { ...t, data: Float32Array.from(t.data as Float32Array, (x, i) => x * (1.5 + 0.05 * (i % 7))) });
  return copy;
}

async function inGraphStats(policy: Model, reference: Model, rows: number[][]) {
  const branch = addFrozenBranch(policy, reference);
  const model = addTokenKlHead(branch.model, { referenceLogits: branch.outputs.logits! }).model;
  const { T, session, run } = await rightPadded(model, rows);
  try {
    const out = await run();
    const row = (name: string, n: number) => Array.from((out[name]!.data as Float32Array).subarray(n * T, (n + 1) * T));
    return { kl: rows.map((_, n) => row('token_kl', n)), refLogp: rows.map((_, n) => row('ref_token_logprobs', n)), policyLogp: rows.map((_, n) => row('token_logprobs', n)) };
  } finally {
    await session.release();
  }
}

// Two rows of the fixture's 500-token vocabulary, the second shorter (right padding).
const ROWS = [
  [12, 87, 301, 5, 44, 199, 7, 0],
  [450, 3, 61, 220, 9],
];

describe('frozen reference branch: per-token KL and reference log-probs in the graph', () => {
  const stripped = stripKvCache(loadModel(ONNX)).model;

  it('equal log-softmax computed in TypeScript from two plain sessions, position by position', async () => {
    const policy = perturbed(stripped);
    const want = await independentTokenStats(policy, stripped, ROWS);
    const got = await inGraphStats(policy, stripped, ROWS);
    ROWS.forEach((row, n) => {
      for (let t = 0; t < row.length; t++) {
        expect(got.kl[n]![t], `kl[${n}, ${t}]`).toBeCloseTo(want.kl[n]![t]!, 4);
        expect(got.refLogp[n]![t], `ref[${n}, ${t}]`).toBeCloseTo(want.refLogp[n]![t]!, 4);
      }
      // Position 0 has no prediction; the perturbed policy is really different elsewhere.
      expect(got.kl[n]![0]).toBe(0);
      expect(Math.max(...got.kl[n]!.slice(1, row.length))).toBeGreaterThan(1e-3);
    });
  });

  it('give KL 0 and reference log-probs equal to the policy when the policy is the reference (step 0)', async () => {
    const got = await inGraphStats(stripped, stripped, ROWS);
    ROWS.forEach((row, n) => {
      for (let t = 0; t < row.length; t++) {
        expect(Math.abs(got.kl[n]![t]!)).toBeLessThan(1e-5);
        expect(got.refLogp[n]![t]).toBeCloseTo(got.policyLogp[n]![t]!, 5);
      }
    });
  });
});

// ------------------------------------------------------------------ the branch stays frozen

const ITEMS: RunItem[] = [
  { id: 'a', prompt: [12, 87, 301], responses: [[5, 44, 199, 7, 0], [61, 9, 0]] },
  { id: 'b', prompt: [450, 3], responses: [[220, 9, 31, 0], [88, 17, 140, 2, 0]] },
];

describe('frozen reference branch in a run graph', () => {
  for (const train of ['full', 'lora'] as const)
    it(`gets no gradient and keeps its starting values while the policy trains (${train})`, async () => {
      const source = loadModel(ONNX);
      const stripped = stripKvCache(source).model;
      const loss = createLoss('tdpo1');
      const groups = rowGroupsFor(loss, 'causal-lm');
      expect(groups.every((g) => g.reference === undefined)).toBe(true);
      const graph = buildRunGraph(source, { role: 'causal-lm', loss, groups, rows: 2, train, lora: RUN_DEFAULTS.lora, seed: 1, extension: tokenLevelForward });
      const training = graph.training.model.graph;
      expect(graph.frozen.length).toBe(stripped.graph.initializers.size);
      for (const name of graph.frozen) {
        expect(training.initializers.has(name), name).toBe(true);
        expect(training.inputs.some((v) => v.name === name)).toBe(false);
        expect(graph.training.gradients.has(name)).toBe(false);
      }
      expect([...graph.training.gradients.keys()].some((p) => p.startsWith('reference/'))).toBe(false);
      expect(training.outputs.some((o) => o.name.startsWith('grad.reference/'))).toBe(false);

      const trainer = await Trainer.create({ training: graph.training, source: graph.forward, optimizer: createOptimizer('adamw', { lr: 2e-2 }), session: { intraOpThreads: 1 } });
      const ctx = { forward: graph.forward, items: ITEMS, groups, loss, fed: graph.fedInputs, reference: new Map(), padId: 0 };
      const batch = buildBatch(ctx, [0, 1], {}).feeds;
      try {
        for (let s = 0; s < 4; s++) await trainer.step([batch]);
        for (const name of graph.frozen) expect(training.initializers.get(name)!.data, name).toEqual(stripped.graph.initializers.get(name.slice('reference/'.length))!.data);
        // The session's reference is still the starting model: its KL to the trained policy, read
        // from the graph, equals the KL computed from separate sessions of the two models.
        const r = await trainer.evaluate(batch);
        const trained = stripKvCache(trainedModel(source, exportedValues(graph, trainer.values()), graph.lora)).model;
        const rows = ITEMS.map((it) => [...it.prompt, ...it.responses[0]!]);
        const want = await independentTokenStats(trained, stripped, rows);
        const seqKl = ITEMS.map((it, n) => want.kl[n]!.slice(it.prompt.length, it.prompt.length + it.responses[0]!.length).reduce((a, b) => a + b, 0));
        const got = r.metrics[graph.metricOutputs['kl/chosen_seq']!]!;
        expect(mean(seqKl)).toBeGreaterThan(1e-3);
        expect(got).toBeCloseTo(mean(seqKl), 4);
      } finally {
        await trainer.release();
      }
    }, 30_000);
});

// ------------------------------------------------------------------ through alignkit train

async function train(config: RunConfig) {
  const seen: number[] = [];
  const result = await runTraining(config, { onStep: (_s, l) => seen.push(l) });
  return { result, seen, metrics: readJsonl(path.join(config.output, RUN_FILES.metrics)) };
}

const exported = (config: RunConfig) => path.join(config.output, 'onnx/model.onnx');

describe('alignkit train dpo --loss tdpo1|tdpo2|sparsepo', () => {
  const runs: { loss: string; lossHp?: Record<string, unknown>; klMetric?: string }[] = [
    { loss: 'tdpo1', klMetric: 'kl/rejected_seq' },
    { loss: 'tdpo2', klMetric: 'kl/rejected_seq' },
    { loss: 'sparsepo' },
    { loss: 'sparsepo', lossHp: { mask: 'reference' } },
  ];
  for (const { loss, lossHp, klMetric } of runs)
    it(`${loss} ${JSON.stringify(lossHp ?? {})}: starts at ln 2, the loss falls, no reference pass, the export is the policy alone`, async () => {
      const dir = tempDir(loss);
      const config = smallConfig('dpo', dir, { loss, lossHp: lossHp ?? {} });
      const { result, seen, metrics } = await train(config);
      expect(seen).toHaveLength(10);
      // Step 1: policy == reference, so every log-ratio and every KL is 0 and the loss is -log sigmoid(0).
      expect(seen[0]).toBeCloseTo(Math.LN2, 4);
      expect(mean(seen.slice(-3))).toBeLessThan(0.9 * mean(seen.slice(0, 3)));
      // The reference runs inside the graph: nothing computed or cached beforehand.
      expect(result.reference).toEqual({ computed: false });
      expect(fs.existsSync(config.cacheDir!)).toBe(false);
      if (klMetric) {
        expect(Math.abs(metrics[0]![klMetric] as number)).toBeLessThan(1e-5);
        expect(metrics.at(-1)![klMetric] as number).toBeGreaterThan(1e-4);
      }
      const onnx = exported(config);
      const names = [...loadModel(onnx).graph.initializers.keys()].sort();
      expect(names).toEqual([...loadModel(ONNX).graph.initializers.keys()].sort());
      expect(names.some((n) => n.startsWith('reference/') || n.startsWith('mask_head'))).toBe(false);
      expect(fs.readdirSync(path.dirname(onnx))).toEqual(['model.onnx']);
    }, 60_000);

  it('sparsepo learned mask: the head starts at 1 on every token, trains, and stays out of the export, whose size is the DPO export size', async () => {
    const dir = tempDir('sparsepo-mask');
    const config = smallConfig('dpo', dir, { loss: 'sparsepo', lossHp: { mask: 'learned', activation: 'relu' }, steps: 4 });
    const { result, metrics } = await train(config);
    // relu(bias 1) with zero weights: the mask is 1 on every response token at step 1.
    expect(metrics[0]!['mask/density']).toBeCloseTo(1, 6);
    const weight = result.values.get('mask_head.weight')!;
    expect(weight.some((x) => x !== 0)).toBe(true);
    const dpo = smallConfig('dpo', dir, { steps: 1, output: path.join(dir, 'dpo') });
    await runTraining(dpo);
    expect(fs.statSync(exported(config)).size).toBe(fs.statSync(exported(dpo)).size);
  }, 60_000);

  it('sparsepo learned mask: a run stopped after step 2 and resumed ends bit for bit where an uninterrupted run does, mask head included', async () => {
    const dir = tempDir('sparsepo-resume');
    const over = { loss: 'sparsepo', lossHp: { activation: 'sigmoid', sharing: 'independent' }, steps: 4, evalFraction: 0 };
    const straight = await runTraining(smallConfig('dpo', dir, { ...over, output: path.join(dir, 'a') }));
    let done = 0;
    const stopped = await runTraining(smallConfig('dpo', dir, { ...over, output: path.join(dir, 'b') }), { onStep: (s) => (done = s), shouldStop: () => done >= 2 });
    expect(stopped.interrupted).toBe(true);
    const resumed = await runTraining(smallConfig('dpo', dir, { ...over, output: path.join(dir, 'b'), resume: true }));
    expect(resumed.steps).toBe(4);
    expect([...straight.values.keys()].filter((n) => n.startsWith('mask_head'))).toEqual(['mask_head.weight', 'mask_head.bias']);
    for (const [name, v] of straight.values) expect(resumed.values.get(name), name).toEqual(v);
  }, 60_000);
});
