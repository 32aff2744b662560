// The budgeted protocol (`route select --strategy active`): a pilot, a PPM fitted on the pilot's
// human labels, the rest of the budget by a PPM strategy, in rounds if asked; human labels asked
// for only for pairs routed to humans; a declared feature column changes what is routed.

import { describe, expect, it } from 'vitest';
import { activeSelect, DEFAULT_ACTIVE } from '../../src/routing/active/protocol.js';
import { LEXICAL_SCORES } from '../../src/routing/features/catalog.js';
import { buildFeatureTable, type FeatureTable } from '../../src/routing/features/extract.js';
import type { LexicalScores } from '../../src/routing/features/lexical.js';
import type { NumericColumn } from '../../src/routing/features/numeric.js';
import { featureSet } from '../../src/routing/features/sets.js';
import { emptyTags } from '../../src/routing/taggers/types.js';
import type { Preference } from '../../src/routing/types.js';

const N = 200;
/** The AI judge is wrong exactly on the pairs with x = 1 (every fifth pair). */
const x = Float64Array.from({ length: N }, (_, i) => (i % 5 === 0 ? 1 : 0));
const human: Preference[] = Array.from({ length: N }, () => 'A');
const ai: Preference[] = Array.from({ length: N }, (_, i) => (x[i] ? 'B' : 'A'));

function pool(numeric: NumericColumn[]): FeatureTable {
  const scores = Object.fromEntries(LEXICAL_SCORES.map((s) => [s, new Float64Array(N)])) as LexicalScores;
  return buildFeatureTable(Array.from({ length: N }, (_, i) => `p${i}`), scores, Array.from({ length: N }, emptyTags), numeric);
}
const withX = pool([{ name: 'x', kind: 'binary', source: 'extra', values: x }]);
const withoutX = pool([]);
const options = { ...DEFAULT_ACTIVE, pilotSampling: 'random', pilotFraction: 0.5, seed: 3 };

describe('active selection', () => {
  it('asks for the pilot first and stops until it is labelled, then resumes to the same pilot', async () => {
    const waiting = await activeSelect(withX, ai, 40, () => undefined, options);
    expect(waiting.complete).toBe(false);
    expect(waiting.pending).toHaveLength(20);
    expect(waiting.human).toEqual(waiting.pending);
    const asked: number[][] = [];
    const done = await activeSelect(withX, ai, 40, (rows) => (asked.push(rows), rows.map((r) => human[r]!)), options);
    expect(done.complete).toBe(true);
    expect(done.steps[0]!.rows).toEqual(waiting.pending);
    expect(new Set(done.human).size).toBe(40);
    expect(asked).toEqual([waiting.pending]);
  });

  it('asks for human labels only of pairs it routes to humans, round after round, within the budget', async () => {
    const asked = new Set<number>();
    const r = await activeSelect(withX, ai, 60, (rows) => rows.map((i) => (asked.add(i), human[i]!)), { ...options, rounds: 3 });
    expect(r.steps.map((s) => [s.kind, s.rows.length])).toEqual([['pilot', 30], ['round', 10], ['round', 10], ['round', 10]]);
    expect(r.human).toHaveLength(60);
    const routed = new Set(r.human);
    for (const i of asked) expect(routed.has(i)).toBe(true);
    // The last round is not asked for: nothing is fitted after it.
    expect(asked.size).toBe(50);
  });

  it('a declared feature column changes the decision: the PPM learns where the AI label is wrong', async () => {
    const label = (rows: number[]) => rows.map((i) => human[i]!);
    const routedWith = await activeSelect(withX, ai, 40, label, options);
    const routedWithout = await activeSelect(withoutX, ai, 40, label, options);
    const xOf = (rows: number[]) => rows.filter((i) => x[i] === 1).length;
    // After the pilot, every pair the PPM picks carries x; without x the PPM has nothing to go by.
    expect(xOf(routedWith.steps[1]!.rows)).toBe(20);
    expect(xOf(routedWithout.steps[1]!.rows)).toBeLessThan(10);
    // The reliability-only set keeps declared extras (and drops the paper's 90).
    expect(featureSet('reliability-only', withX).names).toEqual(['x=1']);
  });

  it('refuses a strategy without a PPM after the pilot and a pilot share outside (0, 1]', async () => {
    await expect(activeSelect(withX, ai, 10, () => [], { ...options, strategy: 'random' })).rejects.toThrow(/'random' is not a PPM strategy; known: topk, simulated, optimal_pos, optimal_grad/);
    await expect(activeSelect(withX, ai, 10, () => [], { ...options, pilotFraction: 0 })).rejects.toThrow(/pilot share of the budget must be in \(0, 1\]/);
  });
});
