// The public gradient API against PyTorch: torch.onnx.export'ed GPT-2-like and LLaMA-like models
// (opsets 14 and 17, with and without constant folding), token log-probs and d S / d param compared
// with the numbers torch computed for the same inputs (test/fixtures/torch/*.json), plus central
// finite differences through our own forward.
import { describe, expect, it } from 'vitest';
import { loadModel, Session, type Tensor } from '../../src/graph/index.js';
import { prepareCausalLmTraining, sequenceLogProbGradients, tokenFeeds } from '../../src/train/index.js';
import { loadTorchReference, matchTorchParams, TORCH_FIXTURE_NAMES } from '../fixtures/torch/reference.js';

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j]!;
  return out;
}

describe.each(TORCH_FIXTURE_NAMES)('sequenceLogProbGradients on torch export %s', (name) => {
  const ref = loadTorchReference(name);
  const batch = { inputIds: ref.inputIds, attentionMask: ref.attentionMask, weights: ref.weights, dims: ref.dims };

  it('matches torch\'s token log-probs, weighted sum and every parameter gradient', async () => {
    const r = await sequenceLogProbGradients(ref.onnxFile, batch);
    for (let i = 0; i < ref.tokenLogprobs.length; i++) expect(r.tokenLogprobs[i]).toBeCloseTo(ref.tokenLogprobs[i]!, 4);
    expect(r.value).toBeCloseTo(ref.weightedSum, 3);

    // Expected gradient per initializer: the torch gradients of the parameters stored in it
    // (transposed back when folded), summed when one initializer holds several torch tensors (the
    // unfolded GPT-2 export reads wte for both the embedding and the head).
    const model = loadModel(ref.onnxFile);
    const expected = new Map<string, Float32Array>();
    for (const [pname, m] of matchTorchParams(model, ref)) {
      const dims = ref.params[pname]!.dims;
      const g = m.transposed ? transpose(ref.grads[pname]!, dims[0]!, dims[1]!) : ref.grads[pname]!;
      const acc = expected.get(m.initializer);
      if (acc) for (let i = 0; i < g.length; i++) acc[i]! += g[i]!;
      else expected.set(m.initializer, Float32Array.from(g));
    }
    expect(expected.size).toBe(r.gradients.size);
    expect(new Set(expected.keys())).toEqual(new Set(r.gradients.keys()));
    for (const [init, want] of expected) {
      const got = r.gradients.get(init)!;
      const scale = Math.max(...want.map(Math.abs), 1e-3);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      expect(worst / scale, `gradient of ${init}`).toBeLessThan(2e-4);
    }
  });
});

describe('tied embedding exported as two initializers', () => {
  it('gives the embedding and its folded head copy each their own gradient, as torch does for untied copies', async () => {
    const ref = loadTorchReference('tiny-gpt2-opset17');
    const r = await sequenceLogProbGradients(ref.onnxFile, { inputIds: ref.inputIds, attentionMask: ref.attentionMask, weights: ref.weights, dims: ref.dims });
    const match = matchTorchParams(loadModel(ref.onnxFile), ref);
    const head = match.get('lm_head.weight')!;
    expect(match.get('wte.weight')!.initializer).toBe('wte.weight');
    expect(head.transposed).toBe(true);
    // Different tensors: the embedding's gradient is sparse (only rows of tokens in the batch).
    const emb = r.gradients.get('wte.weight')!;
    const used = new Set([...ref.inputIds].map(Number));
    for (let v = 0; v < ref.vocab; v++) if (!used.has(v)) expect(Math.max(...emb.subarray(v * 16, v * 16 + 16).map(Math.abs))).toBe(0);
    expect(Math.max(...r.gradients.get(head.initializer)!.map(Math.abs))).toBeGreaterThan(0);
  });
});

describe('finite differences through our own forward', () => {
  it('agree with the analytic gradient of the LLaMA export (RMSNorm, rotary, SwiGLU)', async () => {
    const ref = loadTorchReference('tiny-llama-opset17');
    const prepared = prepareCausalLmTraining(loadModel(ref.onnxFile));
    const session = await Session.create(prepared.training.model);
    const [B, T] = ref.dims;
    const feeds: Record<string, Tensor> = {
      ...tokenFeeds(prepared.forward, { inputIds: ref.inputIds, attentionMask: ref.attentionMask, dims: ref.dims }),
      token_weights: { dtype: 'float32', dims: [B, T], data: ref.weights },
    };
    const params = new Map(prepared.trainable.map((p) => [p, Float32Array.from(prepared.forward.graph.initializers.get(p)!.data as Float32Array)]));
    const run = async () => {
      for (const [p, data] of params) feeds[p] = { dtype: 'float32', dims: prepared.forward.graph.initializers.get(p)!.dims, data };
      return session.run(feeds);
    };
    const base = await run();
    const eps = 1e-2;
    // Three entries of a few parameters of different kinds: the largest-gradient entry and two fixed ones.
    for (const p of ['embed_tokens.weight', 'layers.0.input_layernorm.weight', 'norm.weight', prepared.trainable.find((n) => n.startsWith('onnx::MatMul_'))!]) {
      const grad = base[prepared.training.gradients.get(p)!]!.data as Float32Array;
      const data = params.get(p)!;
      const largest = grad.reduce((best, v, i) => (Math.abs(v) > Math.abs(grad[best]!) ? i : best), 0);
      for (const i of [largest, 3, data.length - 1]) {
        const keep = data[i]!;
        data[i] = keep + eps;
        const up = Number((await run()).loss!.data[0]);
        data[i] = keep - eps;
        const down = Number((await run()).loss!.data[0]);
        data[i] = keep;
        const fd = (up - down) / (2 * eps);
        expect(Math.abs(fd - grad[i]!), `${p}[${i}]: fd ${fd} vs ${grad[i]}`).toBeLessThan(3e-3 + 2e-2 * Math.abs(grad[i]!));
      }
    }
    await session.release();
  });
});
