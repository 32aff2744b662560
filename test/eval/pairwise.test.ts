import { describe, expect, it } from 'vitest';
import { chosenShownFirst, formatPairwiseReport, lengthCredit, pairwiseReport, type PairScores } from '../../src/eval/index.js';

const pair = (id: string, source: string, lengths: [number, number], ...rewards: [number, number][]): PairScores => ({ id, source, chosenLength: lengths[0], rejectedLength: lengths[1], rewards });

describe('pairwise report', () => {
  // Two models over two subsets; worked by hand:
  //   a: m1 right 2/2, m2 right 1/2; b: m1 right 1/3 (the equal-reward pair is wrong), m2 right 3/3.
  //   length credits: a = 1 + 0 = 1 (of 2); b = 1/2 + 1 + 0 = 1.5 (of 3); overall 2.5 / 5.
  const pairs = [
    pair('a1', 'a', [10, 5], [2, 1], [0, 1]),
    pair('a2', 'a', [3, 9], [5, -1], [3, 2]),
    pair('b1', 'b', [4, 4], [1, 1], [2, 1]),
    pair('b2', 'b', [7, 2], [0, 3], [1, 0]),
    pair('b3', 'b', [1, 8], [4, 3], [9, 8]),
  ];
  const report = pairwiseReport(['m1', 'm2'], pairs, { seed: 3 });

  it('counts strict wins per subset and overall, and the per-subset counts recombine to the total', () => {
    expect(report.subsets.map((s) => [s.source, s.count, s.correct])).toEqual([
      ['a', 2, [2, 1]],
      ['b', 3, [1, 3]],
    ]);
    expect(report.overall).toMatchObject({ count: 5, correct: [3, 4], accuracy: [3 / 5, 4 / 5] });
    expect(report.macroAccuracy[0]).toBeCloseTo((1 + 1 / 3) / 2, 12);
    expect(report.macroAccuracy[1]).toBeCloseTo((0.5 + 1) / 2, 12);
  });

  it('gives the length baseline 1 for the longer chosen response, 1/2 for equal length, 0 otherwise', () => {
    expect([lengthCredit(5, 3), lengthCredit(3, 3), lengthCredit(2, 3)]).toEqual([1, 0.5, 0]);
    expect(report.subsets.map((s) => s.lengthAccuracy)).toEqual([1 / 2, 1.5 / 3]);
    expect(report.overall.lengthAccuracy).toBe(2.5 / 5);
  });

  it('scores the majority baseline as the more frequent winning position under a seeded A/B order', () => {
    const first = pairs.filter((p) => chosenShownFirst(p.id, 3)).length;
    expect(report.overall.chosenFirst).toBe(first);
    expect(report.overall.majorityAccuracy).toBe(Math.max(first, 5 - first) / 5);
    expect(report.overall.majorityAccuracy).toBeGreaterThanOrEqual(0.5);
    // The order depends on the seed, not on the pair's place in the list.
    const reversed = pairwiseReport(['m1', 'm2'], [...pairs].reverse(), { seed: 3 });
    expect(reversed.overall.chosenFirst).toBe(first);
  });

  it('prints one row per subset, the overall row under a rule, and the macro mean', () => {
    const lines = formatPairwiseReport(report).split('\n');
    expect(lines[0]).toMatch(/^subset\s+pairs\s+m1\s+m2\s+length\s+majority$/);
    expect(lines[2]).toMatch(/^a\s+2\s+1\s+0\.5000\s+0\.5000\s/);
    expect(lines[4]).toMatch(/^-+/);
    expect(lines[5]).toMatch(/^overall\s+5\s+0\.6000\s+0\.8000\s+0\.5000\s/);
    expect(lines[6]).toMatch(/^macro \(mean of subsets\)\s+0\.6667\s+0\.7500$/);
  });
});
