import { describe, expect, it } from 'vitest';
import { GraphBuilder, loadModel, Session } from '../../../src/graph/index.js';
import {
  findTiedGroups, lastBlocks, ParameterMap, scoreHead, selectTrainable, stripKvCache, weightInitializers,
} from '../../../src/graph/rewrites/index.js';
import { loadTorchReference } from '../../fixtures/torch/reference.js';

describe('trainable selection on torch exports', () => {
  const llama = loadModel(loadTorchReference('tiny-llama-opset17').onnxFile);

  it('finds every parameter, including folded Linear weights renamed onnx::MatMul_*', () => {
    const w = weightInitializers(llama);
    // 2 layers x (2 norms + 7 linears) + embedding + final norm + head = 21 parameters in torch.
    expect(w).toHaveLength(21);
    expect(w.filter((n) => n.startsWith('onnx::MatMul_'))).toHaveLength(15);
  });

  it('selects the last N blocks through the reading node names, and by module names', () => {
    const last = lastBlocks(llama, 1);
    expect(last).toHaveLength(9);
    expect(last).toContain('layers.1.input_layernorm.weight');
    expect(last).not.toContain('layers.0.input_layernorm.weight');
    expect(selectTrainable(llama, { include: ['q_proj', 'v_proj'] })).toHaveLength(4);
    expect(lastBlocks(llama, 1, ['norm.weight', 'lm_head'])).toHaveLength(11);
    expect(selectTrainable(llama, { include: [/norm/], exclude: ['layers.0'] })).toEqual(['layers.1.input_layernorm.weight', 'layers.1.post_attention_layernorm.weight', 'norm.weight']);
    expect(() => lastBlocks(llama, 0)).toThrow(/positive integer/);
  });

  it('selects only a classifier score head', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [1, 4]);
    const h = g.matMul(x, g.initializer('transformer.h.0.mlp.weight', new Float32Array(16).fill(0.5), [4, 4]));
    g.output(g.matMul(h, g.initializer('score.weight', new Float32Array(8).fill(0.1), [4, 2])), 'logits');
    expect(scoreHead(g.toModel())).toEqual(['score.weight']);
  });
});

describe('weight tying', () => {
  it('finds GPT-2\'s embedding and its transposed head copy in a constant-folded export', () => {
    const gpt = loadModel(loadTorchReference('tiny-gpt2-opset17').onnxFile);
    const groups = findTiedGroups(gpt, weightInitializers(gpt));
    expect(groups).toHaveLength(1);
    expect(groups[0]!.members.map((m) => [m.name.startsWith('onnx::MatMul_') ? 'head' : m.name, m.transposed])).toEqual([['wte.weight', false], ['head', true]]);
  });

  it('keeps twins separate by default and sums their gradients (transposed back) when tied', () => {
    const g = new GraphBuilder();
    g.initializer('emb', Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]);
    g.initializer('head', Float32Array.of(1, 4, 2, 5, 3, 6), [3, 2]);
    g.initializer('other', Float32Array.of(1, 2, 3, 4, 5, 6), [6]);
    const model = g.toModel();
    const names = ['emb', 'head', 'other'];
    expect(new ParameterMap(model, names).names).toEqual(names);
    const tied = new ParameterMap(model, names, { tie: true });
    expect(tied.names).toEqual(['emb', 'other']);
    const grads = new Map([['emb', Float32Array.of(1, 1, 1, 1, 1, 1)], ['head', Float32Array.of(10, 20, 30, 40, 50, 60)], ['other', Float32Array.of(0, 0, 0, 0, 0, 7)]]);
    const out = new Map([['emb', new Float32Array(6)], ['other', new Float32Array(6)]]);
    tied.combineGradients(grads, out);
    // head[j][i] pairs with emb[i][j]: emb grad + transpose of [[10,20],[30,40],[50,60]].
    expect([...out.get('emb')!]).toEqual([11, 31, 51, 21, 41, 61]);
    expect([...out.get('other')!]).toEqual([0, 0, 0, 0, 0, 7]);
    const values = new Map([['emb', new Float32Array(6)], ['head', new Float32Array(6)]]);
    tied.scatter('emb', Float32Array.of(1, 2, 3, 4, 5, 6), values);
    expect([...values.get('head')!]).toEqual([1, 4, 2, 5, 3, 6]);
  });
});

describe('KV-cache stripping', () => {
  it('replaces past inputs by empty constants and drops present outputs, leaving the math unchanged', async () => {
    // k_all = Concat(past_key, k) along the sequence axis; out = ReduceSum over it.
    const g = new GraphBuilder({ opset: 17 });
    const ids = g.input('input_ids', 'int64', ['batch', 'sequence']);
    const past = g.input('past_key_values.0.key', 'float32', ['batch', 2, 'past', 3]);
    g.input('use_cache_branch', 'bool', [1]);
    const k = g.expand(g.unsqueeze(g.cast(ids, 'float32'), [1, 3]), g.int64s([1, 2, 1, 3])); // [B, 2, T, 3]
    const all = g.concat([past, k], 2);
    g.output(all, 'present.0.key');
    g.output(g.reduceSum(all, [1, 2, 3], false), 'logits');
    const { model, removedInputs, removedOutputs } = stripKvCache(g.toModel());
    expect(removedInputs).toEqual(['past_key_values.0.key', 'use_cache_branch']);
    expect(removedOutputs).toEqual(['present.0.key']);
    expect(model.graph.inputs.map((v) => v.name)).toEqual(['input_ids']);
    const out = await (await Session.create(model)).run({ input_ids: { dtype: 'int64', dims: [2, 2], data: BigInt64Array.of(1n, 2n, 3n, 4n) } });
    // Each row sums its ids over 2 heads and 3 channels: (1+2)*6 and (3+4)*6.
    expect([...(out.logits!.data as Float32Array)]).toEqual([18, 42]);
    // Concat(empty past, k) is k: the copy and the empty constant nothing else reads are gone (the
    // one Concat left builds the constant's shape).
    expect(model.graph.nodes.filter((n) => n.opType === 'Concat')).toHaveLength(1);
    expect(model.graph.nodes.some((n) => n.outputs.includes('past_key_values.0.key'))).toBe(false);
  });

  it('keeps the empty past where something else reads it (the past length from its Shape)', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const ids = g.input('input_ids', 'int64', ['batch', 'sequence']);
    const past = g.input('past_key_values.0.key', 'float32', ['batch', 2, 'past', 3]);
    const k = g.expand(g.unsqueeze(g.cast(ids, 'float32'), [1, 3]), g.int64s([1, 2, 1, 3]));
    const pastLength = g.cast(g.slice(g.shape(past), [2], [3]), 'float32');
    g.output(g.add(g.reduceSum(g.concat([past, k], 2), [1, 2, 3], false), pastLength), 'logits');
    const { model } = stripKvCache(g.toModel());
    expect(model.graph.nodes.filter((n) => n.opType === 'Concat')).toHaveLength(1);
    expect(model.graph.nodes.some((n) => n.outputs.includes('past_key_values.0.key'))).toBe(true);
    const out = await (await Session.create(model)).run({ input_ids: { dtype: 'int64', dims: [2, 2], data: BigInt64Array.of(1n, 2n, 3n, 4n) } });
    expect([...(out.logits!.data as Float32Array)]).toEqual([18, 42]);
  });
});
