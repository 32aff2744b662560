import { describe, expect, it } from 'vitest';
import { hashString, isEvalId, loadPreferenceData, mulberry32, shuffle, splitTrainEval } from '../../src/datasets/index.js';
import { HH } from './helpers.js';

describe('mulberry32 and hashString', () => {
  it('mulberry32 matches an independent BigInt re-derivation of the reference algorithm', () => {
    // The reference step, written with BigInt and explicit 2^32 masks instead of Math.imul / >>> 0.
    const M = 0xffffffffn;
    const mul = (a: bigint, b: bigint): bigint => (a * b) & M;
    let state = 12345n;
    const reference = (): number => {
      state = (state + 0x6d2b79f5n) & M;
      let t = state;
      t = mul(t ^ (t >> 15n), t | 1n);
      t = (t ^ ((t + mul(t ^ (t >> 7n), t | 61n)) & M)) & M;
      return Number(t ^ (t >> 14n));
    };
    const rng = mulberry32(12345);
    for (let i = 0; i < 1000; i++) expect(rng.nextUint32()).toBe(reference());
  });

  it('is uniform: 100k draws of int(10) put every bucket within 4 sd of 10%, and pass a chi-square test', () => {
    const rng = mulberry32(7);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) counts[rng.int(10)]++;
    // Binomial sd = sqrt(1e5 * 0.1 * 0.9) = 94.9 per bucket.
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(4 * Math.sqrt(1e5 * 0.1 * 0.9));
    // Pearson's chi-square, 9 degrees of freedom: 27.88 is the 0.999 quantile.
    expect(counts.reduce((s, c) => s + (c - 10_000) ** 2 / 10_000, 0)).toBeLessThan(27.88);
  });

  it('hashString is FNV-1a then fmix32: the empty string hashes to fmix32(0x811c9dc5)', () => {
    // fmix32 by hand-written BigInt steps on FNV's offset basis.
    const M = 0xffffffffn;
    let h = 0x811c9dc5n;
    h ^= h >> 16n;
    h = (h * 0x85ebca6bn) & M;
    h ^= h >> 13n;
    h = (h * 0xc2b2ae35n) & M;
    h ^= h >> 16n;
    expect(hashString('')).toBe(Number(h));
    expect(hashString('a')).not.toBe(hashString('b'));
  });
});

describe('shuffle', () => {
  const items = Array.from({ length: 50 }, (_, i) => i);

  it('is a permutation, the same for the same seed and different for another', () => {
    const a = shuffle(items, 42);
    expect(a.slice().sort((x, y) => x - y)).toEqual(items);
    expect(shuffle(items, 42)).toEqual(a);
    expect(shuffle(items, 43)).not.toEqual(a);
    expect(a).not.toEqual(items);
    expect(items[0]).toBe(0);
  });

  it('matches Fisher-Yates driven by the same generator, step by step', () => {
    const rng = mulberry32(99);
    const expected = items.slice();
    for (let i = expected.length - 1; i > 0; i--) {
      const j = Math.floor((rng.nextUint32() / 2 ** 32) * (i + 1));
      [expected[i], expected[j]] = [expected[j]!, expected[i]!];
    }
    expect(shuffle(items, 99)).toEqual(expected);
  });
});

describe('splitTrainEval', () => {
  it('is deterministic, disjoint, complete and near the asked fraction on real data', async () => {
    const { examples } = await loadPreferenceData(HH);
    const a = splitTrainEval(examples, { evalFraction: 0.2, seed: 1 });
    const b = splitTrainEval(examples, { evalFraction: 0.2, seed: 1 });
    expect(a.eval.map((e) => e.id)).toEqual(b.eval.map((e) => e.id));
    expect(a.train.length + a.eval.length).toBe(200);
    const evalIds = new Set(a.eval.map((e) => e.id));
    expect(a.train.some((e) => evalIds.has(e.id))).toBe(false);
    // Binomial(200, 0.2): mean 40, sd 5.7.
    expect(a.eval.length).toBeGreaterThan(40 - 4 * 5.7);
    expect(a.eval.length).toBeLessThan(40 + 4 * 5.7);
    expect(splitTrainEval(examples, { evalFraction: 0.2, seed: 2 }).eval.map((e) => e.id)).not.toEqual(a.eval.map((e) => e.id));
  });

  it('is stable when rows are added: every old example keeps its side', async () => {
    const { examples } = await loadPreferenceData(HH);
    const before = splitTrainEval(examples.slice(0, 120), { evalFraction: 0.25, seed: 5 });
    const after = splitTrainEval(examples, { evalFraction: 0.25, seed: 5 });
    const afterEval = new Set(after.eval.map((e) => e.id));
    for (const e of before.eval) expect(afterEval.has(e.id)).toBe(true);
    for (const e of before.train) expect(afterEval.has(e.id)).toBe(false);
    expect(after.eval.length).toBeGreaterThan(before.eval.length);
  });

  it('agrees with isEvalId, and the fraction edges put everything on one side', () => {
    const items = Array.from({ length: 30 }, (_, i) => ({ id: `x${i}` }));
    const { eval: evalSet } = splitTrainEval(items, { evalFraction: 0.5, seed: 3 });
    expect(evalSet.map((e) => e.id)).toEqual(items.filter((e) => isEvalId(e.id, { evalFraction: 0.5, seed: 3 })).map((e) => e.id));
    expect(splitTrainEval(items, { evalFraction: 0 }).eval).toHaveLength(0);
    expect(splitTrainEval(items, { evalFraction: 1 }).train).toHaveLength(0);
    expect(() => splitTrainEval(items, { evalFraction: 1.5 })).toThrow(expect.objectContaining({ code: 'ALIGNKIT_ERR_INVALID_ARGUMENT' }));
  });
});
