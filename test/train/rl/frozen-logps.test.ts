// A frozen model's log-probs of rollout responses (the KL reference, RTO's DPO policy) are computed
// with logits only from the shortest prompt's last position on: each response's values must be the
// full forward's at the same positions, for rows whose prompts differ in length.

import { describe, expect, it } from 'vitest';
import { ReferenceLogProbs } from '../../../src/train/index.js';
import { paddedRows, type Rollout } from '../../../src/train/rl/experience.js';
import { frozenLogps } from '../../../src/train/rl/per-response.js';
import { TINY_GPT2_ONNX } from '../helpers.js';

const rollout = (prompt: number[], tokens: number[]): Rollout => ({
  promptIndex: 0, prompt, tokens, text: '', ended: true, oldLogps: new Float32Array(tokens.length), entropy: [],
});

describe('frozenLogps', () => {
  it('gives each response the full forward\'s log-probs, prompts of 5, 2 and 7 tokens', async () => {
    const rows = [rollout([40, 316, 491, 431, 382], [12, 5, 77]), rollout([300, 41], [7, 8, 9, 10]), rollout([1, 2, 3, 4, 5, 6, 7], [11, 12])];
    const ref = await ReferenceLogProbs.create(TINY_GPT2_ONNX);
    try {
      const got = await frozenLogps(ref, rows, 0);
      const batch = paddedRows(rows, 0);
      const full = await ref.tokenLogprobs(batch);
      const T = batch.dims[1];
      rows.forEach((r, b) => {
        expect(got[b]!.length).toBe(r.tokens.length);
        r.tokens.forEach((_, k) => expect(got[b]![k]).toBeCloseTo(full[b * T + r.prompt.length + k]!, 5));
        expect(got[b]!.every((v) => v < 0)).toBe(true);
      });
    } finally {
      await ref.release();
    }
  });
});
