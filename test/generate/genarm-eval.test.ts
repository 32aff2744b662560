import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CausalLM } from '../../src/models/index.js';
import { bestOfNKl, generate, genarmScores, keepEnd, meanStdErr, olsSlope, pairedWinRate, sampledLogprobRecorder, sequenceKl } from '../../src/generate/index.js';

describe('olsSlope', () => {
  it('matches the hand-worked least-squares slope', () => {
    // x 1,2,3,4 (mean 2.5), y 2,3,5,6 (mean 4): cov sum = (-1.5)(-2) + (-0.5)(-1) + (0.5)(1) + (1.5)(2) = 7,
    // var sum = 2.25 + 0.25 + 0.25 + 2.25 = 5, slope 1.4.
    expect(olsSlope([1, 2, 3, 4], [2, 3, 5, 6])).toBeCloseTo(1.4, 12);
    expect(olsSlope([2, 2, 2], [1, 5, 9])).toBe(0);
    expect(() => olsSlope([1], [1, 2])).toThrow(RangeError);
  });
});

describe('meanStdErr', () => {
  it('matches the hand-worked mean and standard error', () => {
    // [1, 2, 3, 6]: mean 3; squared deviations 4 + 1 + 0 + 9 = 14; s^2 = 14 / 3; s.e. = sqrt(14 / 12).
    const r = meanStdErr([1, 2, 3, 6]);
    expect(r.mean).toBeCloseTo(3, 12);
    expect(r.stdErr).toBeCloseTo(Math.sqrt(14 / 12), 12);
    expect(r.n).toBe(4);
  });

  it('has no spread for one value and no mean for none', () => {
    expect(meanStdErr([5])).toEqual({ mean: 5, stdErr: 0, n: 1 });
    expect(meanStdErr([]).mean).toBeNaN();
  });
});

describe('pairedWinRate', () => {
  it('pairs by index and counts a tie as half a win', () => {
    // Pairs: 2>1 win, 1=1 tie, 0<3 loss, 5>4 win -> (2 + 0.5) / 4.
    const w = pairedWinRate([2, 1, 0, 5], [1, 1, 3, 4]);
    expect(w).toEqual({ rate: 2.5 / 4, wins: 2, ties: 1, losses: 1 });
  });

  it('rejects unpaired inputs', () => {
    expect(() => pairedWinRate([1], [1, 2])).toThrow(/equal lengths/);
  });
});

describe('KL helpers', () => {
  it('sums per-token log-ratios of one response', () => {
    // (-0.5 - -1) + (-0.25 - -2) = 0.5 + 1.75.
    expect(sequenceKl([-0.5, -0.25], [-1, -2])).toBeCloseTo(2.25, 12);
    expect(() => sequenceKl([-1], [])).toThrow(/one log-prob per token/);
  });

  it('gives the analytic best-of-n bound log n - (n - 1) / n', () => {
    expect(bestOfNKl(1)).toBe(0);
    expect(bestOfNKl(4)).toBeCloseTo(1.3862943611198906 - 0.75, 12);
    expect(() => bestOfNKl(0)).toThrow(/positive integer/);
  });

  it('keeps the end of a long prompt', () => {
    expect(keepEnd([1, 2, 3, 4, 5], 3)).toEqual([3, 4, 5]);
    expect(keepEnd([1, 2], 3)).toEqual([1, 2]);
  });
});

describe('sampledLogprobRecorder', () => {
  it('reads log pi_method from the guided distribution actually sampled from', async () => {
    const rec = sampledLogprobRecorder();
    const base = Float32Array.from([1, 0, -1]);
    const arm = Float32Array.from([0, 2, 0]);
    // Step 0: the processor sees the GenARM scores for alpha 1, T 0.5 and records their log-softmax.
    const scores = genarmScores(base, [{ logits: arm, alpha: 1 }], 0.5);
    await rec.processor(0, [], [], scores);
    const z = scores.reduce((a, s) => a + Math.exp(s), 0);
    expect(rec.logprobs(0, [1])[0]).toBeCloseTo(scores[1]! - Math.log(z), 5);
    expect(() => rec.logprobs(0, [1, 2])).toThrow(/row 0, step 1/);
  });

  it('records one distribution per generated token during real decoding', async () => {
    // Plain sampling at T = 1 draws from the base's own distribution, so what the recorder read must
    // equal the base log-probs generate() reports, token by token (KL exactly 0).
    const base = await CausalLM.load(path.resolve('data/models/alignkit-base'));
    const ids = [base.tokenizer.encode('\n\nHuman: hello\n\nAssistant:'), base.tokenizer.encode('\n\nHuman: how are you?\n\nAssistant:')];
    const rec = sampledLogprobRecorder();
    const rows = await generate(base, base.tokenizer, ids, { maxNewTokens: 6, seed: 3, stopAtEos: false }, [], undefined, [rec.processor]);
    for (const [r, row] of rows.entries()) {
      const got = rec.logprobs(r, row.tokens);
      expect(got).toHaveLength(6);
      got.forEach((lp, t) => expect(lp).toBeCloseTo(row.baseLogprobs[t]!, 4));
      expect(sequenceKl(got, row.baseLogprobs)).toBeCloseTo(0, 3);
    }
  });
});
