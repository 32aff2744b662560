// Several AI verdicts per pair: reading them from pair rows (nested and flat), combining a judge's
// two orders, the declared aggregates, the agreement statistics and the reliability signals.

import { describe, expect, it } from 'vitest';
import { parsePreference } from '../../src/routing/labels.js';
import { aggregateVerdicts, cohenKappa, judgeNames, judgeVerdict, rewardReliability, verdictReliability, verdictStats, verdictStatsTable, verdictsFromRow, type Verdict } from '../../src/routing/verdicts/index.js';

const v = (judge: string, preference: Verdict['preference'], extra: Partial<Verdict> = {}): Verdict => ({ judge, order: 'AB', preference, ...extra });

describe('labels as files spell them', () => {
  it('accepts A/B/tie in any case and the 1/2 (0 = tie) codes as numbers or strings', () => {
    const site = { field: 'label' };
    expect([1, 2, 0, '1', '2', '0', 'a', 'B', 'Tie', null, '', undefined].map((x) => parsePreference(x, site))).toEqual(['A', 'B', 'tie', 'A', 'B', 'tie', 'A', 'B', 'tie', null, null, null]);
  });

  it('refuses anything else, naming the file, row and field', () => {
    expect(() => parsePreference('garbage', { file: 'l.jsonl', row: 3, field: 'human' })).toThrow(/l\.jsonl: row 3: field 'human' is "garbage"; a label is A, B or tie \(or 1, 2, 0\)/);
    expect(() => parsePreference(3, { field: 'x' })).toThrow(/field 'x' is 3/);
  });
});

describe('verdicts in pair rows', () => {
  it('reads a nested verdicts list and flat verdict:JUDGE[:swapped][:confidence|:score_a|:score_b] columns', () => {
    const row = {
      id: 'p1',
      verdicts: [{ judge: 'gpt-4', order: 'BA', preference: 2, confidence: 0.8 }],
      'verdict:gpt-3.5-turbo': '1',
      'verdict:gpt-3.5-turbo:swapped': 'B',
      'verdict:gpt-3.5-turbo:swapped:confidence': 0.4,
      'verdict:rater:score_a': 7,
      'verdict:rater:score_b': '4',
    };
    expect(verdictsFromRow(row, { row: 1 })).toEqual([
      { judge: 'gpt-4', order: 'BA', preference: 'B', confidence: 0.8, scoreA: null, scoreB: null },
      { judge: 'gpt-3.5-turbo', order: 'AB', preference: 'A' },
      { judge: 'gpt-3.5-turbo', order: 'BA', preference: 'B', confidence: 0.4 },
      { judge: 'rater', order: 'AB', preference: null, scoreA: 7, scoreB: 4 },
    ]);
  });

  it('refuses unknown verdict columns, bad confidences and a judge asked twice in one order', () => {
    expect(() => verdictsFromRow({ 'verdict:j:margin': 1 }, { file: 'p.jsonl', row: 2 })).toThrow(/p\.jsonl: row 2: column 'verdict:j:margin' is not a verdict column/);
    expect(() => verdictsFromRow({ 'verdict:j:confidence': 1.5 }, { row: 1 })).toThrow(/'verdict:j:confidence' is 1\.5, want a number in \[0, 1\]/);
    expect(() => verdictsFromRow({ verdicts: [{ judge: 'j', preference: 'A' }], 'verdict:j': 'B' }, { row: 4 })).toThrow(/judge 'j' has two verdicts in order AB/);
  });

  it("combines a judge's orders as MT-Bench does: agreeing orders stand, contradicting ones are a tie", () => {
    expect(judgeVerdict([v('j', 'A'), v('j', 'A', { order: 'BA' })], 'j')).toMatchObject({ preference: 'A', inconsistent: false, missing: false });
    expect(judgeVerdict([v('j', 'A', { confidence: 0.9 }), v('j', 'B', { order: 'BA', confidence: 0.5 })], 'j')).toMatchObject({ preference: 'tie', inconsistent: true, confidence: 0.7 });
    expect(judgeVerdict([v('j', null), v('j', 'B', { order: 'BA' })], 'j')).toMatchObject({ preference: 'B', missing: true });
    expect(judgeVerdict([v('k', 'A')], 'j')).toBeUndefined();
  });
});

describe('aggregates', () => {
  const pool: Verdict[][] = [
    [v('g', 'A'), v('p', 'B'), v('q', 'B')], // majority B
    [v('g', 'A'), v('p', 'B')], // split: the first judge decides
    [v('g', null), v('p', 'B')], // the first judge missing
    [v('g', 'A', { confidence: 0.2 }), v('p', 'B', { confidence: 0.9 })],
  ];
  const judges = judgeNames(pool);

  it('majority with the first judge breaking a split; confidence-weighted; one named judge', () => {
    expect(judges).toEqual(['g', 'p', 'q']);
    expect(aggregateVerdicts('majority', pool, judges).labels).toEqual(['B', 'A', 'B', 'A']);
    expect(aggregateVerdicts('confidence', pool, judges).labels).toEqual(['B', 'A', 'B', 'B']);
    expect(aggregateVerdicts('judge:p', pool, judges).labels).toEqual(['B', 'B', 'B', 'B']);
    expect(aggregateVerdicts('judge:g', pool, judges).labels).toEqual(['A', 'A', null, 'A']);
  });

  it('unknown aggregates and judges are named', () => {
    expect(() => aggregateVerdicts('mean', pool, judges)).toThrow(/unknown aggregate 'mean'; known: majority, confidence, judge:NAME/);
    expect(() => aggregateVerdicts('judge:x', pool, judges)).toThrow(/names no judge of the pairs; judges: g, p, q/);
  });

  it("reports coverage, order consistency, agreement with the aggregate and gold, and Cohen's kappa", () => {
    // Two judges on 4 pairs: g = A A B B, h = A B B B. p_o = 3/4; p_e = (2/4)(1/4) + (2/4)(3/4) = 1/2; kappa = 0.5.
    expect(cohenKappa(['A', 'A', 'B', 'B'], ['A', 'B', 'B', 'B'])).toEqual({ counted: 4, agreement: 0.75, kappa: 0.5 });
    const both: Verdict[][] = [[v('g', 'A'), v('g', 'A', { order: 'BA' })], [v('g', 'A'), v('g', 'B', { order: 'BA' })], [v('g', 'B')]];
    const agg = aggregateVerdicts('majority', both, ['g']);
    const s = verdictStats(both, agg, ['A', 'A', 'B']);
    expect(s.judges[0]).toMatchObject({ judge: 'g', coverage: 1, bothOrders: 2, orderConsistency: 0.5, agreementWithAggregate: 1 });
    expect(s.aggregateAgreementWithGold).toBeCloseTo(2 / 3, 12); // the contradiction became a tie
    expect(verdictStatsTable(s)).toContain('| g | 100.0% | 2 | 50.0% | 100.0% | 66.7% |');
  });
});

describe('reliability signals', () => {
  it('come only from what the verdicts hold: disagreement, order inconsistency, missing verdicts, ties, confidence', () => {
    const pool: Verdict[][] = [
      [v('g', 'A', { confidence: 0.9 }), v('p', 'A')],
      [v('g', 'A', { confidence: 0.3 }), v('p', 'B')],
      [v('g', null), v('p', 'tie')],
    ];
    const ai = aggregateVerdicts('majority', pool, ['g', 'p']).labels;
    const cols = verdictReliability(pool, ['g', 'p'], ai);
    expect(cols.map((c) => c.name)).toEqual(['judges_disagree', 'judge_missing', 'ai_tie', 'judge_confidence']);
    const value = (name: string) => Array.from(cols.find((c) => c.name === name)!.values);
    expect(value('judges_disagree')).toEqual([0, 1, 0]);
    expect(value('judge_missing')).toEqual([0, 0, 1]);
    expect(value('ai_tie')).toEqual([0, 0, 1]);
    expect(value('judge_confidence')).toEqual([0.9, 0.3, NaN]);
    const swapped = verdictReliability([[v('g', 'A'), v('g', 'B', { order: 'BA' })], [v('g', 'B')]], ['g'], ['tie', 'B']);
    expect(swapped.map((c) => c.name)).toEqual(['order_inconsistent', 'judge_missing', 'ai_tie']);
    expect(Array.from(swapped[0]!.values)).toEqual([1, 0]);
  });

  it('reward margins: standardized per member, |mean margin|, disagreement with the AI label, variance over members', () => {
    // Member 1 in logits, member 2 ten times larger: standardized they agree on pairs 0 and 1 and differ on 2.
    const cols = rewardReliability([[1, -1, 1], [10, -10, -10]], ['A', 'A', null]);
    expect(cols.map((c) => c.name)).toEqual(['rm_margin', 'rm_disagrees', 'rm_variance']);
    expect(Array.from(cols[0]!.values)).toEqual([1, 1, 0].map((x) => expect.closeTo(x, 12)));
    expect(Array.from(cols[1]!.values)).toEqual([0, 1, 0]);
    expect(Array.from(cols[2]!.values)).toEqual([0, 0, 1].map((x) => expect.closeTo(x, 12)));
    expect(rewardReliability([[1, 2]], ['A', 'B']).map((c) => c.name)).toEqual(['rm_margin', 'rm_disagrees']);
  });
});
