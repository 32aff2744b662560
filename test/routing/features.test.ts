import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BINS, FEATURE_NAMES, LEXICAL_FEATURE_NAMES, TAG_FEATURES, canonicalFeatureName } from '../../src/routing/features/catalog.js';
import { buildFeatureTable, extractFeatures, featureRows, tableFromRows, activeFeatures } from '../../src/routing/features/extract.js';
import { computeLexicalScores, inBin } from '../../src/routing/features/lexical.js';
import { createTagger, tagByRules } from '../../src/routing/taggers/index.js';
import { VALIDATION_SET_FILE } from '../../src/routing/ppm/mixes.js';
import type { RoutingPair } from '../../src/routing/types.js';

const pairs: RoutingPair[] = [
  { id: 'p0', prompt: 'Write a poem about the sea.', responseA: 'The sea is blue and wide.', responseB: 'The sea is blue and wide.' },
  { id: 'p1', prompt: 'Calculate 12 times 7.', responseA: '84', responseB: 'The answer is 84 because 12 times 7 is 84.' },
  { id: 'p2', prompt: 'How do I build a bomb?', responseA: 'I cannot help with that.', responseB: 'Sorry, no.' },
];

describe('feature catalog (allenai/hybrid-preferences layout)', () => {
  it('has 90 features: 27 lexical (9 scores x 3 bins) and 63 metadata tags', () => {
    expect(FEATURE_NAMES).toHaveLength(90);
    expect(LEXICAL_FEATURE_NAMES).toHaveLength(27);
    expect(TAG_FEATURES).toHaveLength(63);
    expect(BINS.map((b) => b.label)).toEqual(['min_val=0.0|max_val=0.33', 'min_val=0.33|max_val=0.67', 'min_val=0.67|max_val=1.0']);
  });

  it('maps every feature column of the 26 released mixes onto the catalog', () => {
    const row = JSON.parse(fs.readFileSync(VALIDATION_SET_FILE, 'utf8').split('\n')[0]);
    const cols = Object.keys(row).filter((k) => k.includes('='));
    expect(cols.length).toBe(65);
    expect(cols.filter((c) => canonicalFeatureName(c) === undefined)).toEqual([]);
    expect(canonicalFeatureName('token_len_difference__min_val=0.0|max_val=0.33')).toBe('token_len_diff__min_val=0.0|max_val=0.33');
  });

  it('bins are inclusive at both edges, as get_count_feats.py tests them', () => {
    expect(inBin(0.33, BINS[0])).toBe(true);
    expect(inBin(0.33, BINS[1])).toBe(true);
    expect(inBin(0.5, BINS[0])).toBe(false);
  });
});

describe('feature extraction', () => {
  it('computes the nine lexical scores per pair', async () => {
    const s = await computeLexicalScores(pairs);
    expect(s.bertscore[0]).toBe(1); // identical responses
    expect(s.rouge[0]).toBe(1);
    expect(s.token_len_diff[0]).toBe(0);
    // p1: A = ["84"] (1 token), B = 11 tokens incl. "." -> diff 10; shorter 1, longer 11
    expect(s.len_shorter[1]).toBe(1);
    expect(s.len_longer[1]).toBe(11);
    expect(s.token_len_diff[1]).toBe(10);
    // bertscore_length: B is longer (ref), A is cand: exp(1 - 11/1) * F1
    expect(s.bertscore_length[1]).toBeCloseTo(Math.exp(1 - 11) * s.bertscore[1], 15);
  });

  it('builds the binary table and round-trips through feature rows', async () => {
    const table = await extractFeatures(pairs, { tagger: createTagger('rules') });
    expect(table.active.length).toBe(3 * 90);
    const p0 = activeFeatures(table, 0);
    expect(p0).toContain('bertscore__min_val=0.67|max_val=1.0');
    expect(p0).toContain('open_endedness=high');
    expect(activeFeatures(table, 2)).toContain('safety_concern=high');
    // percentile-ranked lengths: p1 has the largest token_len_diff -> rank 1.0 -> top bin only
    expect(activeFeatures(table, 1)).toContain('token_len_diff__min_val=0.67|max_val=1.0');
    const back = tableFromRows(featureRows(table));
    expect(Array.from(back.active)).toEqual(Array.from(table.active));
  });

  it('rules tagger tags each dimension from keywords', () => {
    const t = tagByRules('Write a short story in under 100 words as a bullet list.\n\nhttps://example.com | a | b |\n');
    expect(t.open_endedness).toBe('high');
    expect(t.format_constraints).toEqual(expect.arrayContaining(['word limit', 'list']));
    expect(t.type_of_in_context_material).toContain('url');
    expect(t.languages).toEqual(['English']);
    expect(tagByRules('Calculate the derivative of x^2.').expertise_level).toBe('expert domain knowledge');
    expect(tagByRules('How can I hack my neighbour wifi?').safety_concern).toBe('moderate');
  });

  it('column tagger reads tags from the row, and fails on a missing column in strict mode', async () => {
    const tagged = [{ ...pairs[0], extra: { tags: { safety_concern: 'low', subject_of_expertise: ['Literature'], format_constraints: [] } } }];
    const [t] = await createTagger('column').tag(tagged);
    expect(t.safety_concern).toBe('low');
    expect(t.subject_of_expertise).toEqual(['Literature']);
    const table = buildFeatureTable(['p0'], await computeLexicalScores(tagged), [t]);
    expect(activeFeatures(table, 0)).toEqual(expect.arrayContaining(['safety_concern=low', 'subject_of_expertise=Literature']));
    expect(activeFeatures(table, 0)).not.toContain('format_constraints=1');
    await expect(createTagger('column', { strict: true }).tag(tagged)).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_DATASET_ROW', details: { row: 0, field: 'languages' } });
  });

  it('unknown tagger names list the registry', () => {
    expect(() => createTagger('nope')).toThrow(/known: column, rules, http/);
  });
});
