// Length-bucketed scoring (issue 13): rows of a scoring call run in buckets of similar length, so
// short rows are not padded to the longest; scores are unchanged, the padded work shrinks.

import { describe, expect, it } from 'vitest';
import { lengthBuckets, SequenceClassifier } from '../../src/models/index.js';
import { maxAbsDiff, RM_DIR } from './helpers.js';

const cost = (lengths: number[], buckets: number[][], runCost: number) =>
  buckets.reduce((s, b) => s + runCost + b.length * Math.max(...b.map((i) => lengths[i]!)), 0);

describe('lengthBuckets', () => {
  it('covers every row once, each bucket a run of consecutive lengths, never costlier than one run or one run per row', () => {
    const lengths = [300, 12, 15, 295, 40, 44, 13, 290, 41, 298, 14, 39];
    const buckets = lengthBuckets(lengths, 32);
    expect(buckets.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
    const all = [lengths.map((_, i) => i)];
    const alone = lengths.map((_, i) => [i]);
    expect(cost(lengths, buckets, 32)).toBeLessThanOrEqual(Math.min(cost(lengths, all, 32), cost(lengths, alone, 32)));
    // Short, middle and long rows land apart.
    expect(buckets.length).toBe(3);
    expect(buckets.map((b) => b.map((i) => lengths[i]!).sort((x, y) => x - y))).toEqual([[12, 13, 14, 15], [39, 40, 41, 44], [290, 295, 298, 300]]);
  });

  it('keeps equal lengths in one run and respects the row cap', () => {
    expect(lengthBuckets([7, 7, 7, 7])).toEqual([[0, 1, 2, 3]]);
    expect(lengthBuckets(Array(10).fill(5), 32, 4).map((b) => b.length)).toEqual([2, 4, 4]);
  });
});

describe('SequenceClassifier scoring in length buckets', () => {
  it('gives every item the score it gets alone', async () => {
    const rm = await SequenceClassifier.load(RM_DIR);
    const items = [
      { prompt: 'Hi', response: 'Hello.' },
      { prompt: 'Tell me a long story about a dog. '.repeat(3), response: 'Once upon a time there was a dog who ran. '.repeat(3) },
      { prompt: 'What is 2+2?', response: '4' },
      { prompt: 'Explain rain. '.repeat(4), response: 'Water falls from clouds. '.repeat(6) },
    ];
    const together = await rm.score(items);
    for (const [i, item] of items.entries()) expect(maxAbsDiff(together[i]!, (await rm.score([item]))[0]!)).toBeLessThan(1e-5);
  });

  it('splits rows of mixed lengths into several runs and still gives each row its unpadded score', async () => {
    const rm = await SequenceClassifier.load(RM_DIR);
    // Token ids 1..499 (0 is the pad id the graph pools against); two short, two long, one middle row.
    const row = (n: number, seed: number) => Array.from({ length: n }, (_, i) => 1 + ((i * 37 + seed * 11) % 499));
    const rows = [row(100, 1), row(4, 2), row(40, 3), row(5, 4), row(110, 5)];
    // The bucketed path is the one taken: these lengths do not run as one padded batch.
    expect(lengthBuckets(rows.map((r) => r.length)).length).toBeGreaterThan(1);
    const together = await rm.scoreIds(rows);
    for (const [i, r] of rows.entries()) expect(maxAbsDiff(together[i]!, (await rm.scoreIds([r]))[0]!), `row ${i}`).toBeLessThan(1e-5);
  });
});
