import { describe, expect, it } from 'vitest';
import { genarmScores, logProbOf, logSoftmax, repetitionPenalty, SAMPLERS, temperature, topK, topP } from '../../src/generate/index.js';
import { mulberry32 } from '../../src/random.js';

const row = (...v: number[]) => Float32Array.from(v);

describe('logits processors', () => {
  it('temperature divides the scores', () => {
    const s = row(2, -4, 1);
    temperature(2)([], s);
    expect([...s]).toEqual([1, -2, 0.5]);
  });

  it('repetition penalty divides positive and multiplies negative scores of seen tokens only', () => {
    const s = row(2, -2, 3);
    repetitionPenalty(2)([0, 1, 1], s);
    expect([...s]).toEqual([1, -4, 3]);
  });

  it('top-k keeps the k highest', () => {
    const s = row(1, 5, 3, 4);
    topK(2)([], s);
    expect([...s]).toEqual([-Infinity, 5, -Infinity, 4]);
  });

  it('top-p keeps the smallest set reaching p', () => {
    // probabilities of log([0.5, 0.3, 0.2]) are 0.5, 0.3, 0.2: p = 0.75 keeps the first two
    const s = row(Math.log(0.5), Math.log(0.3), Math.log(0.2));
    topP(0.75)([], s);
    expect(s[2]).toBe(-Infinity);
    expect(Number.isFinite(s[0]!) && Number.isFinite(s[1]!)).toBe(true);
    const t = row(Math.log(0.9), Math.log(0.1));
    topP(0.5)([], t);
    expect(Number.isFinite(t[0]!)).toBe(true); // the most likely token always stays
    expect(t[1]).toBe(-Infinity);
  });

  it('rejects bad settings with a clear message', () => {
    expect(() => temperature(0)).toThrow(/temperature must be > 0/);
    expect(() => topK(0)).toThrow(/top-k/);
    expect(() => topP(1.5)).toThrow(/top-p/);
  });
});

describe('GenARM guidance', () => {
  it('is (log_softmax(base) + alpha * log_softmax(arm)) / T on a fixed step', () => {
    const base = row(1, 2, 3);
    const arm = row(0, 0, Math.log(4));
    const out = genarmScores(base, [{ logits: arm, alpha: 0.5 }], 0.5);
    // log_softmax(base) = x - log(e + e^2 + e^3); log_softmax(arm) = [log 1/6, log 1/6, log 4/6]
    const lseBase = Math.log(Math.E + Math.E ** 2 + Math.E ** 3);
    const expected = [1, 2, 3].map((x, i) => (x - lseBase + 0.5 * Math.log([1, 1, 4][i]! / 6)) / 0.5);
    out.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 5));
  });

  it('sums several ARMs with their own alphas and cuts to the smaller vocabulary', () => {
    const out = genarmScores(row(0, 0, 0, 9), [{ logits: row(1, 0, 0), alpha: 1 }, { logits: row(0, 1, 0), alpha: 2 }]);
    expect(out.length).toBe(3);
    const lb = logSoftmax(row(0, 0, 0));
    const l1 = logSoftmax(row(1, 0, 0));
    const l2 = logSoftmax(row(0, 1, 0));
    out.forEach((v, i) => expect(v).toBeCloseTo(lb[i]! + l1[i]! + 2 * l2[i]!, 6));
  });

  it('alpha 0 reduces to plain decoding of the base', () => {
    const base = row(0.3, -1, 2);
    expect([...genarmScores(base, [{ logits: row(5, 5, -5), alpha: 0 }])]).toEqual([...logSoftmax(base)]);
  });
});

describe('samplers', () => {
  it('greedy takes the argmax', () => {
    expect(SAMPLERS.greedy(row(0, 3, 1))).toBe(1);
  });

  it('sampling is reproducible from a seed and follows the distribution (every class within 4 sigma; chi-square)', () => {
    const p = [0.7, 0.2, 0.1, 0];
    const scores = row(Math.log(0.7), Math.log(0.2), Math.log(0.1), -Infinity);
    const N = 20000;
    const draw = (seed: number) => {
      const rnd = mulberry32(seed).next;
      return Array.from({ length: N }, () => SAMPLERS.sample(scores, rnd));
    };
    const a = draw(7);
    expect(draw(7)).toEqual(a);
    const counts = p.map((_, k) => a.filter((x) => x === k).length);
    // Binomial count of each class: mean N p, sd sqrt(N p (1-p)); 4 sd (a false alarm once in ~16,000 classes).
    p.forEach((pk, k) => expect(Math.abs(counts[k]! - N * pk), `class ${k}`).toBeLessThanOrEqual(4 * Math.sqrt(N * pk * (1 - pk))));
    expect(counts[3]).toBe(0);
    // Pearson's chi-square over the three possible classes, 2 degrees of freedom: 13.82 is the 0.999 quantile.
    const chi2 = p.slice(0, 3).reduce((s, pk, k) => s + (counts[k]! - N * pk) ** 2 / (N * pk), 0);
    expect(chi2).toBeLessThan(13.82);
  });
});

describe('logProbOf', () => {
  it('equals the log-softmax entry of the token', () => {
    const s = row(0.3, -1.2, 2.5, 0);
    const lp = logSoftmax(s);
    for (let t = 0; t < 4; t++) expect(logProbOf(s, t)).toBeCloseTo(lp[t]!, 6);
  });
});
