import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, Session } from '../../src/graph/index.js';
import { scoreHead } from '../../src/graph/rewrites/index.js';
import { ClassifierScoreGradientSession, classifierScoreGradients, tokenFeeds } from '../../src/train/index.js';
import { ROOT } from './helpers.js';

const RM = path.join(ROOT, 'data/models/tiny-gpt2-rm/onnx/model.onnx');
const BERT = path.join(ROOT, 'data/models/tiny-bert-rm-multi/onnx/model.onnx');
// Two right-padded rows (pad id 0), pooled at the last real token by the GPT-2 classifier.
const IDS = [40, 316, 491, 431, 382, 12, 5, 77, 300, 0, 0, 0];
const MASK = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0];
const DIMS: [number, number] = [2, 6];

describe('classifierScoreGradients', () => {
  it('returns the reward model\'s raw scores and, for the score head, the exact gradient of the weighted sum', async () => {
    const weights = [0.7, -1.3];
    const session = await ClassifierScoreGradientSession.create(RM, { trainable: scoreHead(loadModel(RM)) });
    expect(session.trainable).toEqual(['score.weight']);
    const r = await session.run({ inputIds: IDS, attentionMask: MASK, dims: DIMS, weights, numScores: 1 });
    const model = loadModel(RM);
    const plain = await (await Session.create(model)).run(tokenFeeds(model, { inputIds: IDS, attentionMask: MASK, dims: DIMS }));
    expect(r.scoreDims).toEqual([2, 1]);
    // The training graph runs GPT-2's GELU as one fused op (float rounding apart, the same function).
    const want = plain.logits!.data as Float32Array;
    r.scores.forEach((v, i) => expect(Math.abs(v - want[i]!), `score ${i}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(want[i]!))));
    expect(r.value).toBeCloseTo(weights[0]! * r.scores[0]! + weights[1]! * r.scores[1]!, 5);
    // S is linear in the head, so central differences are exact up to float32 rounding.
    const w = session.prepared.forward.graph.initializers.get('score.weight')!.data as Float32Array;
    const g = r.gradients.get('score.weight')!;
    for (let i = 0; i < w.length; i++) {
      const keep = w[i]!;
      w[i] = keep + 0.1;
      const up = (await session.run({ inputIds: IDS, attentionMask: MASK, dims: DIMS, weights, numScores: 1 })).value;
      w[i] = keep - 0.1;
      const down = (await session.run({ inputIds: IDS, attentionMask: MASK, dims: DIMS, weights, numScores: 1 })).value;
      w[i] = keep;
      expect(g[i]).toBeCloseTo((up - down) / 0.2, 3);
    }
    await session.release();
  });

  it('differentiates every weight of a multi-head BERT reward model, checked by finite differences', async () => {
    const weights = [1, 0.5, -0.25, -1, 2, 0.75];
    const batch = { inputIds: [1, 40, 316, 491, 2, 0, 1, 5, 77, 300, 431, 2], attentionMask: [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1], dims: DIMS, weights, numScores: 3 };
    const r = await classifierScoreGradients(BERT, batch);
    expect(r.scoreDims).toEqual([2, 3]);
    expect(r.gradients.size).toBeGreaterThan(20);
    const session = await ClassifierScoreGradientSession.create(BERT);
    const init = session.prepared.forward.graph.initializers;
    const eps = 1e-2;
    const checked = ['bert.embeddings.word_embeddings.weight', 'bert.encoder.layer.0.output.LayerNorm.weight', 'bert.encoder.layer.1.intermediate.dense.weight', 'bert.encoder.layer.1.attention.output.dense.weight'];
    for (const name of checked) {
      expect(r.gradients.has(name), name).toBe(true);
      const data = init.get(name)!.data as Float32Array;
      const g = r.gradients.get(name)!;
      const i = g.reduce((best, v, k) => (Math.abs(v) > Math.abs(g[best]!) ? k : best), 0);
      const keep = data[i]!;
      data[i] = keep + eps;
      const up = (await session.run(batch)).value;
      data[i] = keep - eps;
      const down = (await session.run(batch)).value;
      data[i] = keep;
      expect(Math.abs((up - down) / (2 * eps) - g[i]!), name).toBeLessThan(2e-3 + 2e-2 * Math.abs(g[i]!));
    }
    await session.release();
  });
});
