// The rewrites behind token-level losses: a frozen copy of a model in another model's graph, the
// per-token KL head over both, SparsePO's mask head, and finding the hidden states they read, on
// the optimum-exported fixture GPT-2 and the torch-exported LLaMA/GPT-2 fixtures (whose per-token
// log-probs torch computed).

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel, Session, type Model } from '../../../src/graph/index.js';
import {
  addFrozenBranch, addTokenKlHead, addTokenMaskHead, finalHiddenState, lastMlpActivation, stripKvCache,
} from '../../../src/graph/rewrites/index.js';
import { createShapeEnv, typeOf } from '../../../src/graph/autodiff/index.js';
import { tokenFeeds } from '../../../src/train/index.js';
import { loadTorchReference } from '../../fixtures/torch/reference.js';

const TINY = stripKvCache(loadModel(path.resolve(import.meta.dirname, '../../../data/models/tiny-gpt2/onnx/model.onnx'))).model;
const LLAMA = loadTorchReference('tiny-llama-opset17');

function thrown(f: () => unknown): Error & { code?: string; details?: Record<string, unknown> } {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

const readerOf = (model: Model, value: string) => model.graph.nodes.find((n) => n.inputs[0] === value && (n.opType === 'MatMul' || n.opType === 'Gemm'))!;

describe('finding hidden states by graph structure', () => {
  it('finalHiddenState: the LM head input, through the exporter\'s Identity, with its width', () => {
    const h = finalHiddenState(TINY);
    expect(h.width).toBe(32); // n_embd of the fixture
    expect(TINY.graph.nodes.find((n) => n.outputs.includes(h.value))!.inputs).toContain('transformer.ln_f.weight');
    const llama = loadModel(LLAMA.onnxFile);
    expect(finalHiddenState(llama).value).toMatch(/^\/norm\//);
  });

  it('lastMlpActivation: what the last block\'s down-projection reads (weight names or torch node paths), else undefined', () => {
    const act = lastMlpActivation(TINY)!;
    expect(readerOf(TINY, act).inputs[1]).toBe('transformer.h.1.mlp.c_proj.weight');
    expect(typeOf(createShapeEnv(TINY), act)!.dims!.at(-1)).toBe(128); // 4 * n_embd: the GELU output
    const llama = loadModel(LLAMA.onnxFile);
    expect(readerOf(llama, lastMlpActivation(llama)!).name).toBe('/layers.1/down_proj/MatMul');
    // A hand-written torch GPT-2 calls its projection `mlp_proj`: no standard name, no guess.
    expect(lastMlpActivation(loadModel(loadTorchReference('tiny-gpt2-opset17').onnxFile))).toBeUndefined();
  });
});

describe('addFrozenBranch + addTokenKlHead', () => {
  it('on the torch LLaMA: both branches give torch\'s per-token log-probs and the KL is 0', async () => {
    const llama = loadModel(LLAMA.onnxFile);
    const branch = addFrozenBranch(llama, llama);
    // One set of inputs drives both; the copy's weights are the same tensors under the prefix.
    expect(branch.model.graph.inputs.map((v) => v.name)).toEqual(llama.graph.inputs.map((v) => v.name));
    expect(branch.outputs).toEqual({ logits: 'reference/logits' });
    for (const [name, t] of llama.graph.initializers) expect(branch.model.graph.initializers.get(`reference/${name}`)).toBe(t);
    const { model, outputs } = addTokenKlHead(branch.model, { referenceLogits: 'reference/logits' });
    expect(model.graph.outputs.map((o) => o.name)).toEqual(['token_logprobs', 'ref_token_logprobs', 'token_kl']);
    const [B, T] = LLAMA.dims;
    const out = await (await Session.create(model)).run({
      input_ids: { dtype: 'int64', dims: [B, T], data: LLAMA.inputIds },
      attention_mask: { dtype: 'int64', dims: [B, T], data: LLAMA.attentionMask },
    });
    const mask = LLAMA.attentionMask;
    for (let i = 0; i < B * T; i++) {
      if (mask[i] === 0n) continue;
      expect((out[outputs.policy!]!.data as Float32Array)[i]).toBeCloseTo(LLAMA.tokenLogprobs[i]!, 4);
      expect((out[outputs.reference!]!.data as Float32Array)[i]).toBeCloseTo(LLAMA.tokenLogprobs[i]!, 4);
      expect(Math.abs((out[outputs.kl!]!.data as Float32Array)[i]!)).toBeLessThan(1e-5);
    }
  });

  it('fails naming the clash when the prefix reuses the target\'s names, and on different opsets', () => {
    const clash = thrown(() => addFrozenBranch(TINY, TINY, { prefix: '' }));
    expect((clash as { code?: string }).code).toBe('ALIGNKIT_ERR_GRAPH_BUILD');
    expect(clash.details).toMatchObject({ field: 'prefix' });
    const older: Model = { ...TINY, opsetImports: TINY.opsetImports.map((o) => (o.domain === '' || o.domain === 'ai.onnx' ? { ...o, version: o.version - 1 } : o)) };
    expect(thrown(() => addFrozenBranch(TINY, older)).code).toBe('ALIGNKIT_ERR_ONNX_MODEL');
  });
});

describe('addTokenMaskHead', () => {
  it('starts every mask logit at the chosen value, aligned like token_logprobs (0 at position 0)', async () => {
    const { model, outputs, trainable } = addTokenMaskHead(TINY, { heads: ['mask_logits', 'kl_mask_logits'], startLogit: 1.5 });
    expect(trainable).toEqual(['mask_head.weight', 'mask_head.bias']);
    expect(model.graph.initializers.get('mask_head.weight')!.dims).toEqual([32, 2]);
    model.graph.outputs = Object.values(outputs).map((name) => ({ name, dtype: 'float32' as const }));
    const ids = BigInt64Array.from([5, 9, 300, 41, 7, 2, 18, 0], BigInt);
    const out = await (await Session.create(model)).run(tokenFeeds(model, { inputIds: ids, dims: [2, 4] }));
    for (const name of Object.values(outputs)) {
      expect(out[name]!.dims).toEqual([2, 4]);
      expect(Array.from(out[name]!.data as Float32Array)).toEqual([0, 1.5, 1.5, 1.5, 0, 1.5, 1.5, 1.5]);
    }
  });
});
