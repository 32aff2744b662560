// The chunked feature extraction that `route features` and `jobs` features chunks use gives the
// feature table of one whole-pool extraction, whatever the chunk size.
import { describe, expect, it } from 'vitest';
import { extractFeaturesInChunks } from '../../src/cli/work/features.js';
import { createTagger, extractFeatures, featureRows } from '../../src/routing/index.js';
import { loadPandaLM } from '../../src/routing/eval/pandalm.js';

describe('features in chunks', () => {
  it('equal the whole-pool features for chunks of 1, 7 and more than the pool', async () => {
    const pairs = loadPandaLM().pairs.slice(0, 60);
    const options = { tagger: createTagger('rules', {}) };
    const whole = featureRows(await extractFeatures(pairs, options));
    for (const chunk of [1, 7, 100]) {
      const seen: number[] = [];
      const table = await extractFeaturesInChunks(pairs, options, chunk, (done) => seen.push(done));
      expect(featureRows(table)).toEqual(whole);
      expect(seen.at(-1)).toBe(60);
    }
  });
});
