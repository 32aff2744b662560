// Activation recomputation as a training-graph rewrite (issue 13, --recompute): the backward reads
// recomputed copies instead of the forward's activations (only the residual-stream checkpoints and
// token-independent values cross over), onnxruntime runs the copies after the gradient reaches their
// segment, and the loss and every gradient equal those of the plain graph.

import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Session, type Model, type Tensor } from '../../../src/graph/index.js';
import { gradientReads, recomputeActivations, type TrainingGraph } from '../../../src/graph/autodiff/index.js';
import { buildGpt2, buildLlama } from '../../../src/models/fixtures/index.js';
import { prepareCausalLmTraining } from '../../../src/train/index.js';

const B = 2;
const T = 12;
const i64 = (data: number[]): Tensor => ({ dtype: 'int64', dims: [B, T], data: BigInt64Array.from(data.map(BigInt)) });

async function run(training: TrainingGraph & { sessionOptions?: object }, forward: Model, profile?: string) {
  const s = await Session.create(training.model, { ...(training.sessionOptions ?? {}), ...(profile && { profile }) });
  const ids = Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % 40);
  const feeds: Record<string, Tensor> = { input_ids: i64(ids), attention_mask: i64(ids.map(() => 1)), position_ids: i64(ids.map((_, i) => i % T)) };
  for (const name of s.inputNames) if (!feeds[name]) feeds[name] = forward.graph.initializers.get(name)!;
  const out = await s.run(feeds);
  const order = profile ? executionOrder(s.endProfiling()) : [];
  await s.release();
  return { out, order };
}

function executionOrder(file: string): string[] {
  const events = JSON.parse(fs.readFileSync(file, 'utf8')) as { cat: string; name: string }[];
  fs.rmSync(file);
  return events.filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time')).map((e) => e.name.slice(0, -'_kernel_time'.length));
}

const MODELS = {
  gpt2: () => buildGpt2({ vocabSize: 40, nPositions: T, nEmbd: 16, nLayer: 3, nHead: 2, layerNormEpsilon: 1e-5 }, { kind: 'lm' }, 1),
  llama: () => buildLlama({ vocabSize: 40, hiddenSize: 16, intermediateSize: 24, numLayers: 3, numHeads: 4, numKvHeads: 2, ropeTheta: 10000, rmsNormEps: 1e-6, attentionBias: true, tieWordEmbeddings: true }, 1),
};

describe('recomputeActivations', () => {
  for (const [family, build] of Object.entries(MODELS))
    it(`${family}: same loss and gradients, backward fed by two checkpoints per block, copies run after their segment's gradient`, async () => {
      const prep = prepareCausalLmTraining(build(), { loss: 'next-token' });
      const rc = recomputeActivations(prep.training);
      expect(rc.checkpoints).toHaveLength(2 * 3); // the input of each attention and MLP sub-block
      expect(rc.recomputedNodes).toBeGreaterThan(0);
      // Of the forward's token-dependent values the gradients read only checkpoints now, and the
      // final segment's (norm, head, loss: used right as the backward starts), where they read
      // activations of every block before.
      const tokenValues = (m: Model) => {
        const dep = new Set(['input_ids']);
        for (const n of m.graph.nodes) if (n.opType !== 'Shape' && n.inputs.some((i) => dep.has(i))) n.outputs.forEach((o) => dep.add(o));
        return dep;
      };
      const activations = (t: TrainingGraph) => [...gradientReads(t)].filter((v) => tokenValues(t.model).has(v));
      const allowed = new Set([...rc.checkpoints, ...rc.finalSegment]);
      const read = activations(rc);
      expect(read.filter((v) => !allowed.has(v))).toEqual([]);
      for (const cp of rc.checkpoints.slice(0, -1)) expect(read, cp).toContain(cp);
      expect(activations(prep.training).filter((v) => !allowed.has(v)).length).toBeGreaterThan(2 * 3);
      const plain = await run(prep.training, prep.forward);
      const re = await run(rc, prep.forward, `${process.env.TMPDIR ?? '/tmp'}/alignkit-recompute-test-${process.pid}-${family}`);
      expect(re.out.loss!.data[0]).toBe(plain.out.loss!.data[0]);
      for (const g of prep.training.gradients.values()) {
        const a = plain.out[g]!.data as Float32Array;
        const b = re.out[g]!.data as Float32Array;
        expect(Math.max(...a.map((x, i) => Math.abs(x - b[i]!))), g).toBeLessThan(1e-6);
      }
      // onnxruntime ran the copies (common-subexpression elimination off), and only after every
      // matrix product of the forward (none is computed alongside the original it repeats).
      const copiesRun = re.order.filter((n) => n.endsWith('.recomputed')).length;
      expect(copiesRun).toBeGreaterThan(rc.recomputedNodes / 2);
      const products = new Set(rc.model.graph.nodes.slice(0, rc.forwardNodes).filter((n) => n.opType === 'MatMul').map((n) => n.name));
      const lastProduct = re.order.reduce((last, n, i) => (products.has(n) ? i : last), -1);
      expect(lastProduct).toBeGreaterThan(0);
      expect(re.order.findIndex((n) => n.endsWith('.recomputed'))).toBeGreaterThan(lastProduct);
    });

  it('refuses a forward without residual sub-blocks', () => {
    const prep = prepareCausalLmTraining(MODELS.gpt2(), { loss: 'next-token' });
    expect(() => recomputeActivations(prep.training, { streamInputs: ['no_such_input'] })).toThrow(/no forward value depends/);
  });
});
