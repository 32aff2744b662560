import { describe, expect, it } from 'vitest';
import { bagOfWordsCosine, entitySimilarity, extractEntities, lcsLength, percentileRank, rouge1F, rougeLF, tokenMatchF1, tokenize } from '../../src/routing/features/text.js';

describe('local lexical measures (hand-worked values)', () => {
  it('tokenizes words and single symbols, lowercased', () => {
    expect(tokenize('Hello, World! 42x')).toEqual(['hello', ',', 'world', '!', '42x']);
  });

  it('token-match F1 = BERTScore with one-hot embeddings', () => {
    // cand "the cat sat" vs ref "the cat ran away": P = 2/3 (the, cat), R = 2/4 -> F = 2PR/(P+R) = 4/7
    expect(tokenMatchF1('the cat sat', 'the cat ran away')).toBeCloseTo(4 / 7, 12);
    expect(tokenMatchF1('', '')).toBe(1);
    expect(tokenMatchF1('a', '')).toBe(0);
  });

  it('bag-of-words cosine', () => {
    // a = {a:2, b:1}, b = {a:1, c:1}: dot 2, |a| = sqrt5, |b| = sqrt2
    expect(bagOfWordsCosine('a a b', 'a c')).toBeCloseTo(2 / Math.sqrt(10), 12);
  });

  it('ROUGE-1 F uses clipped unigram counts', () => {
    // pred {a:2,b:1} (3 tokens), target {a:1,b:1,c:1}: overlap min(2,1)+1 = 2; P = 2/3, R = 2/3
    expect(rouge1F('a a b', 'a b c')).toBeCloseTo(2 / 3, 12);
  });

  it('ROUGE-L F from the longest common subsequence', () => {
    expect(lcsLength(['a', 'b', 'c', 'd'], ['a', 'c', 'd', 'b'])).toBe(3);
    // LCS 3, P = 3/4, R = 3/4
    expect(rougeLF('a b c d', 'a c d b')).toBeCloseTo(0.75, 12);
  });

  it('entities: capitalised spans not opening a sentence, and numbers', () => {
    expect([...extractEntities('The trip to New York cost 300 dollars. Then Paris.')].sort()).toEqual(['300', 'new york', 'paris']);
    // {new york, 300} vs {new york, 5}: Jaccard 1 / 3
    expect(entitySimilarity('I saw New York in 300 days', 'I saw New York in 5 days')).toBeCloseTo(1 / 3, 12);
    expect(entitySimilarity('no names here', 'none here either')).toBe(1);
  });

  it('percentile rank matches pandas rank(pct=True) with average ties', () => {
    // values 10, 20, 20, 40 -> ranks 1, 2.5, 2.5, 4 -> / 4
    expect(Array.from(percentileRank([20, 10, 40, 20]))).toEqual([0.625, 0.25, 1, 0.625]);
  });
});
