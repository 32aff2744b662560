import { beforeAll, describe, expect, it } from 'vitest';
import { agreement, majority } from '../../src/routing/labels.js';
import { loadPandaLM, pandalmFiles, type PandaLMData } from '../../src/routing/eval/pandalm.js';
import { budgetedEvaluation, EVAL_STRATEGIES, type EvalPool } from '../../src/routing/eval/budgeted.js';
import { devTestSplit } from '../../src/routing/eval/split.js';
import { DEFAULT_FEATURE_SET } from '../../src/routing/features/sets.js';
import { aggregateVerdicts, judgeNames, verdictReliability, verdictsFromRow } from '../../src/routing/verdicts/index.js';
import { extractFeatures, type FeatureTable } from '../../src/routing/features/extract.js';
import { createTagger } from '../../src/routing/taggers/index.js';
import { agreementEvaluator } from '../../src/routing/simulate.js';

describe('labels', () => {
  it('majority needs more than half; ties are a label; no majority is null', () => {
    expect(majority(['A', 'A', 'B'])).toBe('A');
    expect(majority(['tie', 'tie', 'B'])).toBe('tie');
    expect(majority(['A', 'B', 'tie'])).toBeNull();
  });

  it('agreement skips pairs without a reference and counts a missing label as a disagreement', () => {
    // counted: 0 (agree), 1 (missing label -> disagree), 3 (disagree); 2 has no reference
    expect(agreement(['A', null, 'B', 'tie'], ['A', 'B', null, 'A'])).toEqual({ agreement: 1 / 3, counted: 3 });
  });
});

describe('PandaLM routing evaluation', () => {
  let data: PandaLMData;
  let table: FeatureTable;
  beforeAll(async () => {
    data = loadPandaLM();
    table = await extractFeatures(data.pairs, { tagger: createTagger('rules') });
  });

  it('loads 999 pairs, three annotators, two judges; majorities 472 B / 422 A / 105 tie', () => {
    expect(data.pairs).toHaveLength(999);
    const count = (p: string) => data.majority.filter((m) => m === p).length;
    expect([count('B'), count('A'), count('tie'), count(null as never)]).toEqual([472, 422, 105, 0]);
    // gpt-3.5-turbo: 460 "1", 476 "2", 38 "Tie", 25 "garbage" (SOURCES.md)
    const gpt = data.judges['gpt-3.5-turbo'];
    expect([gpt.filter((l) => l === 'A').length, gpt.filter((l) => l === 'B').length, gpt.filter((l) => l === 'tie').length, gpt.filter((l) => l === null).length]).toEqual([460, 476, 38, 25]);
  });

  it('the agreement evaluator scores a simulated mix', () => {
    const human = data.annotators.map((a) => a[0]);
    const ai = data.judges['gpt-3.5-turbo'];
    const evaluate = agreementEvaluator(human, ai, data.majority);
    const none = new Uint8Array(999);
    expect(evaluate({ budget: 0, human: [], isHuman: none })).toBeCloseTo(ai.filter((l, i) => l === data.majority[i]).length / 999, 12);
  });
});

describe('budgeted evaluation on gold labels (strict protocol)', () => {
  let pool: EvalPool;
  beforeAll(async () => {
    const data = loadPandaLM();
    const files = pandalmFiles(data);
    // The held-out half: the recommended configuration was chosen on the other (development) half.
    const { test } = devTestSplit(data.pairs.length, 0.5, 7);
    const verdicts = test.map((i) => verdictsFromRow(files.pairs[i]!, { row: i + 1 }));
    const judges = judgeNames(verdicts);
    const ai = aggregateVerdicts('majority', verdicts, judges).labels;
    const table = await extractFeatures(test.map((i) => data.pairs[i]!), { tagger: createTagger('rules') }, verdictReliability(verdicts, judges, ai));
    pool = { table, ai, gold: test.map((i) => data.majority[i]!), humans: test.map((i) => data.annotators[i]!) };
  });

  it('the recommended configuration beats the mean of 20 random selections by >= 3 points at 25% and 50% on the held-out half', async () => {
    const rows = await budgetedEvaluation(pool, { budgets: [{ fraction: 0.25 }, { fraction: 0.5 }], strategies: [`active:topk@${DEFAULT_FEATURE_SET}`, 'random'], selections: 20 });
    for (const row of rows) {
      const routed = row.results['active:topk [reliability only]']!;
      expect(row.results.random!.n).toBe(20);
      expect(routed.mean - row.results.random!.mean).toBeGreaterThanOrEqual(0.03);
    }
  });

  it('0% is all-AI and 100% one annotator per pair for every strategy that spends its budget; the oracle bounds them all', async () => {
    const rows = await budgetedEvaluation(pool, { budgets: [{ count: 0 }, { fraction: 0.25 }, { fraction: 1 }], strategies: ['active:topk', 'active:optimal_grad@paper', 'random', 'oracle'], selections: 3 });
    const allAi = pool.ai.filter((l, i) => l === pool.gold[i]).length / pool.gold.filter((g) => g !== null).length;
    const names = Object.keys(rows[0]!.results);
    expect(names).toEqual(['active:topk [90]', 'active:topk [90 + reliability]', 'active:topk [reliability only]', 'active:optimal_grad [90]', 'random', 'oracle']);
    for (const name of names) {
      expect(rows[0]!.results[name]!.mean).toBeCloseTo(allAi, 12);
      // optimal_grad may spend less than the budget (it keeps only gains above epsilon).
      if (!name.startsWith('active:optimal_grad')) expect(rows[2]!.results[name]!.mean).toBeCloseTo(rows[2]!.results.random!.mean, 12);
      expect(rows[1]!.results.oracle!.mean).toBeGreaterThanOrEqual(rows[1]!.results[name]!.mean);
    }
    expect(rows[1]!.count).toBe(Math.floor(pool.ai.length / 4));
  });

  it('a strategy that reads a human label of a pair it does not route to humans is caught', async () => {
    EVAL_STRATEGIES.peek = {
      summary: 'reads every label, routes none',
      usesFeatures: false,
      select: async (ctx) => (await ctx.oracle(Array.from(ctx.ai.keys())), []),
    };
    try {
      await expect(budgetedEvaluation(pool, { budgets: [{ fraction: 0.25 }], strategies: ['peek'], selections: 1 })).rejects.toThrow(/saw the human label of pair .* without routing it to humans/);
    } finally {
      delete EVAL_STRATEGIES.peek;
    }
  });
});
