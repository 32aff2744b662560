import { describe, expect, it } from 'vitest';
import { Session } from '../../src/graph/index.js';
import { buildGpt2 } from '../../src/models/index.js';
import { prepareCausalLmTraining } from '../../src/train/index.js';
import { addNextTokenLoss, addTokenLogProbHead } from '../../src/graph/rewrites/index.js';
import { buildTrainingGraph } from '../../src/graph/autodiff/index.js';

describe('regressions', () => {
  // A GraphBuilder opened on an existing graph used to reserve value names but not node names: the
  // KV strip, the log-prob head and the autodiff each generated `ConstantOfShape_node_27`, and
  // onnxruntime refused the 4-layer GPT-2 training graph ("two nodes with same node name").
  // Fixed in GraphBuilder's constructor.
  it('regression: rewrites plus autodiff on a builder-made 4-layer GPT-2 keep node names unique', async () => {
    const model = buildGpt2({ vocabSize: 64, nPositions: 16, nEmbd: 16, nLayer: 4, nHead: 4, layerNormEpsilon: 1e-5 }, { kind: 'lm' }, 0);
    const prep = prepareCausalLmTraining(model, { loss: 'next-token' });
    const names = prep.training.model.graph.nodes.map((n) => n.name);
    expect(new Set(names).size).toBe(names.length);
    const session = await Session.create(prep.training.model);
    await session.release();
  });
});

describe('regression: stripKvCache declares the attention mask like input_ids', () => {
  it('lets the autodiff reduce broadcasts with static axes instead of Shape sub-graphs', () => {
    const model = buildGpt2({ vocabSize: 64, nPositions: 16, nEmbd: 16, nLayer: 2, nHead: 4, layerNormEpsilon: 1e-5 }, { kind: 'lm' }, 0);
    const prep = prepareCausalLmTraining(model, { loss: 'next-token' });
    const ids = prep.forward.graph.inputs.find((v) => v.name === 'input_ids')!;
    const mask = prep.forward.graph.inputs.find((v) => v.name === 'attention_mask')!;
    expect(mask.dims).toEqual(ids.dims);
    // The same graph with the exporter's [batch, past + sequence] declaration needs run-time reductions.
    const exported = model.graph.inputs.find((v) => v.name === 'attention_mask')!.dims!;
    expect(exported).not.toEqual(ids.dims);
    const withLoss = addNextTokenLoss(addTokenLogProbHead(prep.forward).model).model;
    withLoss.graph.inputs.find((v) => v.name === 'attention_mask')!.dims = [...exported];
    const slow = buildTrainingGraph({ model: withLoss, loss: 'loss', trainable: prep.trainable, outputs: ['token_count'] });
    const shapes = (m: typeof slow.model) => m.graph.nodes.filter((n) => n.opType === 'Shape').length;
    expect(shapes(prep.training.model)).toBeLessThan(shapes(slow.model));
  });
});
