// Attention masks as a product and an added bias in training graphs (src/graph/rewrites/mask-bias.ts): the same
// loss and gradients as the Where form, left padding included, with one bias per mask and no Where
// over the scores left in the forward or the backward.
import { describe, expect, it } from 'vitest';
import { buildTrainingGraph, createShapeEnv, typeOf } from '../../../src/graph/autodiff/index.js';
import { GraphBuilder, loadModel, type Model } from '../../../src/graph/index.js';
import { maskWhereAsBias } from '../../../src/graph/rewrites/mask-bias.js';
import { addNextTokenLoss, addTokenLogProbHead, selectTrainable, stripKvCache } from '../../../src/graph/rewrites/index.js';
import { buildGpt2, buildLlama } from '../../../src/models/fixtures/index.js';
import { createOptimizer } from '../../../src/optim/index.js';
import { Trainer } from '../../../src/train/index.js';
import { TINY_GPT2_ONNX } from '../../train/helpers.js';

const MODELS: Record<string, Model> = {
  'GPT-2 builder': buildGpt2({ vocabSize: 64, nPositions: 32, nEmbd: 16, nLayer: 2, nHead: 2, layerNormEpsilon: 1e-5 }, { kind: 'lm' }, 0),
  'Llama builder': buildLlama({ vocabSize: 64, hiddenSize: 16, intermediateSize: 32, numLayers: 2, numHeads: 2, numKvHeads: 1, ropeTheta: 10000, rmsNormEps: 1e-6, attentionBias: false, tieWordEmbeddings: true }, 0),
  'committed fixture': loadModel(TINY_GPT2_ONNX),
};

function withLoss(model: Model): { forward: Model; loss: Model } {
  const forward = stripKvCache(model).model;
  return { forward, loss: addNextTokenLoss(addTokenLogProbHead(forward, {}).model).model };
}

/** Where nodes whose second input is rank 4 (masked attention scores). */
function scoreWheres(model: Model): number {
  const env = createShapeEnv(model);
  return model.graph.nodes.filter((n) => n.opType === 'Where' && typeOf(env, n.inputs[1]!)?.dims?.length === 4).length;
}

async function lossAndGradients(model: Model, forward: Model, maskAsBias: boolean) {
  const training = buildTrainingGraph({ model, loss: 'loss', trainable: selectTrainable(forward, {}), outputs: ['token_count'], maskAsBias });
  const trainer = await Trainer.create({ training, source: forward, optimizer: createOptimizer('sgd', { lr: 0.1 }) });
  const [B, T] = [3, 10];
  const ids = BigInt64Array.from({ length: B * T }, (_, i) => BigInt((i * 13 + 5) % 50));
  // Row 1 is left-padded by 4 (its first queries see no key), row 2 right-padded by 3.
  const mask = BigInt64Array.from({ length: B * T }, (_, i) => ((i >= T && i < T + 4) || i >= 3 * T - 3 ? 0n : 1n));
  const batch = { input_ids: { dtype: 'int64' as const, dims: [B, T], data: ids }, attention_mask: { dtype: 'int64' as const, dims: [B, T], data: mask } };
  const r = await trainer.evaluate(batch);
  const grads = new Map([...r.gradients].map(([k, v]) => [k, Float32Array.from(v)]));
  await trainer.release();
  return { loss: r.loss, grads, graph: training.model };
}

describe('maskWhereAsBias', () => {
  for (const [name, model] of Object.entries(MODELS)) {
    it(`trains ${name} to the same loss and gradients, with no Where over the scores`, async () => {
      const { forward, loss } = withLoss(model);
      const where = await lossAndGradients(loss, forward, false);
      const bias = await lossAndGradients(loss, forward, true);
      expect(scoreWheres(where.graph)).toBeGreaterThan(0);
      expect(scoreWheres(bias.graph)).toBe(0);
      expect(bias.loss).toBeCloseTo(where.loss, 6);
      for (const [p, g] of where.grads) {
        const h = bias.grads.get(p)!;
        const scale = g.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
        let worst = 0;
        for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs(g[i]! - h[i]!));
        expect(worst, p).toBeLessThanOrEqual(1e-5 * scale);
      }
    });
  }

  it('builds one bias per mask however many layers read it, and leaves other Wheres alone', () => {
    const { loss } = withLoss(MODELS['GPT-2 builder']!);
    const out = maskWhereAsBias(loss)!;
    const biases = out.graph.nodes.filter((n) => n.outputs[0]!.endsWith('.mask_bias'));
    expect(biases).toHaveLength(1);
    expect(out.graph.nodes.filter((n) => n.inputs.includes(biases[0]!.outputs[0]!) && n.opType === 'Add')).toHaveLength(2);
    expect(out.graph.nodes.filter((n) => n.opType === 'Where').length).toBe(loss.graph.nodes.filter((n) => n.opType === 'Where').length - 2 + 1);
    // A fill above -1e9 is a value, not a mask: not rewritten.
    const soft = structuredClone(loss);
    for (const n of soft.graph.nodes) if (n.opType === 'Where' && soft.graph.initializers.get(n.inputs[2]!)?.data[0] === -1e9) soft.graph.initializers.set(n.inputs[2]!, { dtype: 'float32', dims: [], data: Float32Array.from([-5]) });
    expect(maskWhereAsBias(soft)).toBeUndefined();
  });

  it('takes only a condition broadcast over the scores: a full-size one stays a Where', () => {
    const masked = (keepDims: number[]) => {
      const g = new GraphBuilder({ opset: 17 });
      const keep = g.input('keep', 'bool', keepDims);
      g.output(g.where(keep, g.input('x', 'float32', [2, 3]), g.scalar(-1e9)), 'y', 'float32', [2, 3]);
      return maskWhereAsBias(g.toModel());
    };
    const rewritten = (m: Model | undefined) => !!m && !m.graph.nodes.some((n) => n.opType === 'Where' && n.inputs.includes('x')) && m.graph.nodes.some((n) => n.opType === 'Mul' && n.inputs.includes('x'));
    expect(masked([2, 3])).toBeUndefined();
    expect(rewritten(masked([2, 1]))).toBe(true);
    expect(rewritten(masked([3]))).toBe(true);
  });
});
