import { describe, expect, it } from 'vitest';
import { loadModel, Session } from '../../src/graph/index.js';
import { ReferenceLogProbs, tokenFeeds } from '../../src/train/index.js';
import { TINY_GPT2_ONNX } from './helpers.js';

const V = 500;
const IDS = [40, 316, 491, 431, 382, 12, 5, 77, 300, 0, 0, 0];
const MASK = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0];
const DIMS: [number, number] = [2, 6];

describe('ReferenceLogProbs', () => {
  it('gives log_softmax(logits[t-1])[ids[t]] of the KV-cache model without returning its logits', async () => {
    const ref = await ReferenceLogProbs.create(TINY_GPT2_ONNX);
    const lp = await ref.tokenLogprobs({ inputIds: IDS, attentionMask: MASK, dims: DIMS });
    // Independent: the full model (empty past fed by hand) and a float64 log-softmax in JS.
    const model = loadModel(TINY_GPT2_ONNX);
    const feeds: Record<string, any> = tokenFeeds(model, { inputIds: IDS, attentionMask: MASK, dims: DIMS });
    for (const v of model.graph.inputs.filter((i) => i.name.startsWith('past_key_values.')))
      feeds[v.name] = { dtype: 'float32', dims: [2, v.dims![1] as number, 0, v.dims![3] as number], data: new Float32Array(0) };
    const logits = (await (await Session.create(model)).run(feeds)).logits!.data as Float32Array;
    const [B, T] = DIMS;
    for (let b = 0; b < B; b++) {
      expect(lp[b * T]).toBe(0);
      for (let t = 1; t < T; t++) {
        const row = logits.subarray((b * T + t - 1) * V, (b * T + t) * V);
        const max = Math.max(...row);
        const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
        expect(lp[b * T + t]).toBeCloseTo(row[IDS[b * T + t]!]! - lse, 4);
      }
    }
    const seq = await ref.sequenceLogprobs({ inputIds: IDS, attentionMask: MASK, dims: DIMS });
    expect(seq[1]).toBeCloseTo(lp[7]! + lp[8]!, 5);
    await ref.release();
  });

  it('sums weighted log-probs computing logits only from the first weighted position on, as the full head gives them', async () => {
    const ref = await ReferenceLogProbs.create(TINY_GPT2_ONNX);
    const batch = { inputIds: IDS, attentionMask: MASK, dims: DIMS };
    const full = await ref.tokenLogprobs(batch);
    const skipped = await ref.tokenLogprobs(batch, 3);
    for (let i = 0; i < IDS.length; i++) {
      if (i % DIMS[1] <= 3) expect(skipped[i]).toBe(0);
      else expect(skipped[i]).toBeCloseTo(full[i]!, 5);
    }
    // Weights from position 4 on (row 1's are padding): the head starts at position 3.
    const weights = [0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0.5, 1];
    const seq = await ref.sequenceLogprobs(batch, weights);
    const want = [0, 1].map((b) => weights.reduce((s, w, i) => (Math.floor(i / DIMS[1]) === b ? s + w * MASK[i]! * full[i]! : s), 0));
    expect(seq[0]).toBeCloseTo(want[0]!, 4);
    expect(seq[1]).toBeCloseTo(want[1]!, 4);
    expect(want[0]).not.toBe(0);
    await ref.release();
  });
});
