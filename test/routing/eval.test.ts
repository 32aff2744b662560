import { beforeAll, describe, expect, it } from 'vitest';
import { agreement, majority } from '../../src/routing/labels.js';
import { loadPandaLM, type PandaLMData } from '../../src/routing/eval/pandalm.js';
import { evaluateRouting, routingEvalTable } from '../../src/routing/eval/routing-eval.js';
import { extractFeatures, type FeatureTable } from '../../src/routing/features/extract.js';
import { createTagger } from '../../src/routing/taggers/index.js';
import { fitPpm } from '../../src/routing/ppm/model.js';
import { readMixTable, VALIDATION_SET_FILE } from '../../src/routing/ppm/mixes.js';
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

  it('0% and 100% budgets equal all-AI and single-annotator agreement, computed independently', () => {
    const model = fitPpm(readMixTable(VALIDATION_SET_FILE).data, { ridge: 1 });
    const ai = data.judges['pandalm-7b'];
    const rows = evaluateRouting({ table, model, annotators: data.annotators, reference: data.majority, ai }, { budgets: [0, 0.5, 1], seeds: 2 });
    const allAi = ai.filter((l, i) => l === data.majority[i]).length / 999;
    expect(rows[0].results.topk.mean).toBeCloseTo(allAi, 12);
    expect(rows[0].results.random.mean).toBeCloseTo(allAi, 12);
    expect(rows[2].results.topk.mean).toBeCloseTo(rows[2].results.random.mean, 12);
    expect(rows[2].results.topk.mean).toBeGreaterThan(0.9);
    expect(rows[1].humanCount).toBe(499);
    // Agreement grows with the human share for both strategies.
    expect(rows[1].results.random.mean).toBeGreaterThan(rows[0].results.random.mean);
    const md = routingEvalTable(rows, ['topk', 'random']);
    expect(md.split('\n')).toHaveLength(5);
    expect(md).toContain('| 50% | 499 |');
  });

  it('the agreement evaluator scores a simulated mix', () => {
    const human = data.annotators.map((a) => a[0]);
    const ai = data.judges['gpt-3.5-turbo'];
    const evaluate = agreementEvaluator(human, ai, data.majority);
    const none = new Uint8Array(999);
    expect(evaluate({ budget: 0, human: [], isHuman: none })).toBeCloseTo(ai.filter((l, i) => l === data.majority[i]).length / 999, 12);
  });
});

describe('cross-fitted simulated PPM', () => {
  it('routes each half with a PPM fitted on simulated mixes of the other half', async () => {
    const { crossFitEvaluation } = await import('../../src/routing/eval/cross-fit.js');
    const data = loadPandaLM();
    const table = await extractFeatures(data.pairs, { tagger: createTagger('rules') });
    const ai = data.judges['gpt-3.5-turbo'];
    const rows = await crossFitEvaluation({ table, annotators: data.annotators, reference: data.majority, ai }, { budgets: [0, 0.5, 1], seeds: 1 }, { mixes: 40 });
    // 0% human: both strategies are the all-AI labels on both halves = all-AI agreement overall (halves 499 + 500).
    const allAi = ai.filter((l, i) => l === data.majority[i]).length;
    expect(rows[0].results.topk.mean).toBeCloseTo(rows[0].results.random.mean, 12);
    expect(Math.abs(rows[0].results.topk.mean - allAi / 999)).toBeLessThan(0.005);
    expect(rows[1].humanCount).toBe(249 + 250);
    expect(rows[2].results.topk.mean).toBeCloseTo(rows[2].results.random.mean, 12);
  });
});
