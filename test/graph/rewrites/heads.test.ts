import { describe, expect, it } from 'vitest';
import { loadModel, Session, type Model } from '../../../src/graph/index.js';
import { addNextTokenLoss, addTokenLogProbHead, addWeightedLogProbLoss, stripKvCache } from '../../../src/graph/rewrites/index.js';
import { buildGpt2, buildLlama } from '../../../src/models/fixtures/index.js';
import { loadTorchReference } from '../../fixtures/torch/reference.js';

describe('log-prob head and token losses on a torch-exported GPT-2', () => {
  const ref = loadTorchReference('tiny-gpt2-opset17');
  const [B, T] = ref.dims;
  const feeds = {
    input_ids: { dtype: 'int64' as const, dims: [B, T], data: ref.inputIds },
    attention_mask: { dtype: 'int64' as const, dims: [B, T], data: ref.attentionMask },
  };

  it('gives torch\'s per-token log-probs without returning the [B, T, V] logits', async () => {
    const { model } = addTokenLogProbHead(loadModel(ref.onnxFile));
    expect(model.graph.outputs.map((o) => o.name)).toEqual(['token_logprobs']);
    const out = await (await Session.create(model)).run(feeds);
    expect(out.token_logprobs!.dims).toEqual([B, T]);
    const lp = out.token_logprobs!.data as Float32Array;
    for (let i = 0; i < B * T; i++) expect(lp[i]).toBeCloseTo(ref.tokenLogprobs[i]!, 5);
  });

  it('computes the masked next-token loss and the weighted log-prob sum', async () => {
    const head = addTokenLogProbHead(loadModel(ref.onnxFile)).model;
    const nll = addNextTokenLoss(head).model;
    const weighted = addWeightedLogProbLoss(head).model;
    const a = await (await Session.create(nll)).run(feeds);
    const b = await (await Session.create(weighted)).run({ ...feeds, token_weights: { dtype: 'float32', dims: [B, T], data: ref.weights } });
    // By hand from torch's log-probs: mean of -lp over positions t >= 1 whose mask is 1
    // (row 0: 7 positions, row 1: positions 1..5, padding from 6 on).
    let sum = 0;
    let count = 0;
    for (let b0 = 0; b0 < B; b0++)
      for (let t = 1; t < T; t++)
        if (ref.attentionMask[b0 * T + t] === 1n) {
          sum -= ref.tokenLogprobs[b0 * T + t]!;
          count++;
        }
    expect(count).toBe(12);
    expect(a.token_count!.data[0]).toBe(12);
    expect(a.loss!.data[0]).toBeCloseTo(sum / count, 5);
    expect(b.loss!.data[0]).toBeCloseTo(ref.weightedSum, 4);
  });

  it('with `from`, reads the output projection from position `from` on: torch\'s log-probs after it, zeros up to it', async () => {
    const from = 2;
    const fromFeed = { logits_from: { dtype: 'int64' as const, dims: [1], data: BigInt64Array.of(BigInt(from)) } };
    const check = async (model: Model) => {
      const lp = (await (await Session.create(model)).run({ ...feeds, ...fromFeed })).token_logprobs!.data as Float32Array;
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++) {
          if (t <= from) expect(lp[b * T + t]).toBe(0);
          else expect(lp[b * T + t]).toBeCloseTo(ref.tokenLogprobs[b * T + t]!, 5);
        }
    };
    const { model } = addTokenLogProbHead(loadModel(ref.onnxFile), { from: 'logits_from' });
    const projection = model.graph.nodes.find((n) => n.opType === 'MatMul' && n.outputs.includes('logits'))!;
    expect(model.graph.nodes.find((n) => n.outputs.includes(projection.inputs[0]!))!.opType).toBe('Slice');
    await check(model);
    // Logits not straight out of a MatMul (a head that scales them, by 1 here so torch's numbers hold): the log-softmax still starts at `from`.
    const wrapped = loadModel(ref.onnxFile);
    wrapped.graph.nodes.find((n) => n.outputs.includes('logits'))!.outputs = ['raw_logits'];
    wrapped.graph.initializers.set('head_scale', { dtype: 'float32', dims: [], data: Float32Array.of(1) });
    wrapped.graph.nodes.push({ opType: 'Mul', inputs: ['raw_logits', 'head_scale'], outputs: ['logits'], name: 'scaled_head', domain: '', attrs: {} });
    const fallback = addTokenLogProbHead(wrapped, { from: 'logits_from' }).model;
    expect(fallback.graph.nodes.find((n) => n.opType === 'MatMul' && n.outputs.includes('raw_logits'))!.inputs[0]).not.toMatch(/slice/i);
    expect(fallback.graph.nodes.find((n) => n.opType === 'LogSoftmax')!.inputs[0]).not.toBe('logits');
    await check(fallback);
  });

  it('with `from`, slices the projection\'s input through the Identity that names the logits (the GPT-2 and Llama builders\' graphs)', () => {
    const models = {
      gpt2: buildGpt2({ vocabSize: 64, nPositions: 32, nEmbd: 16, nLayer: 1, nHead: 2, layerNormEpsilon: 1e-5 }, { kind: 'lm' }, 0),
      llama: buildLlama({ vocabSize: 64, hiddenSize: 16, intermediateSize: 32, numLayers: 1, numHeads: 2, numKvHeads: 1, ropeTheta: 10000, rmsNormEps: 1e-6, attentionBias: true, tieWordEmbeddings: true }, 0),
    };
    for (const [name, source] of Object.entries(models)) {
      const named = source.graph.nodes.find((n) => n.outputs.includes('logits'))!;
      expect(named.opType, name).toBe('Identity');
      const { model } = addTokenLogProbHead(stripKvCache(source).model, { from: 'logits_from' });
      const made = new Map(model.graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
      const projection = made.get(made.get('logits')!.inputs[0]!)!;
      expect(projection.opType, name).toBe('MatMul');
      expect(made.get(projection.inputs[0]!)!.opType, name).toBe('Slice');
      expect(model.graph.nodes.find((n) => n.opType === 'LogSoftmax')!.inputs[0], name).toBe('logits');
    }
  });

  it('names the missing value when the logits are not in the graph', () => {
    expect(() => addTokenLogProbHead(loadModel(ref.onnxFile), { logits: 'scores' })).toThrow(/logits scores is not a value/);
  });
});
