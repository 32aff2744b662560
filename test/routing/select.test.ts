import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../../src/routing/features/catalog.js';
import type { FeatureTable } from '../../src/routing/features/extract.js';
import type { LexicalScores } from '../../src/routing/features/lexical.js';
import type { PpmModel } from '../../src/routing/ppm/model.js';
import { predict } from '../../src/routing/ppm/model.js';
import { createRng } from '../../src/routing/rng.js';
import { parseBudget, resolveBudget } from '../../src/routing/select/budget.js';
import { instanceGains, sharesOf } from '../../src/routing/select/gain.js';
import { featureInstances, runKnapsack } from '../../src/routing/select/knapsack.js';
import { selectForHumans, STRATEGIES } from '../../src/routing/select/strategies.js';
import { routeTable } from '../../src/routing/pipeline.js';
import { simulateMixes } from '../../src/routing/simulate.js';

const F = FEATURE_NAMES.length;

/** A pool of 4 pairs using features 0, 1, 2 only. */
function pool(active: number[][]): FeatureTable {
  const bits = new Uint8Array(active.length * F);
  active.forEach((js, i) => js.forEach((j) => (bits[i * F + j] = 1)));
  return { ids: active.map((_, i) => `p${i}`), names: FEATURE_NAMES, active: bits, scores: {} as LexicalScores, tags: [] };
}

function linear(coefs: Record<number, number>, intercept = 0.5): PpmModel {
  const coef = new Array(F).fill(0);
  for (const [j, c] of Object.entries(coefs)) coef[Number(j)] = c;
  return { kind: 'linear', features: FEATURE_NAMES, coef, intercept, ridge: 0 };
}

const table = pool([[0], [0, 1], [2], []]);
const model = linear({ 0: 0.4, 1: 0.8, 2: -0.4 });

describe('gain and shares', () => {
  it('linear gain = sum of active coefficients / pool size', () => {
    // p0: 0.4/4, p1: (0.4+0.8)/4, p2: -0.4/4, p3: 0
    expect(Array.from(instanceGains(model, table))).toEqual([0.1, 0.3, -0.1, 0].map((v) => expect.closeTo(v, 12)));
  });

  it('quadratic gain = predict(instance) - predict(nothing)', () => {
    const quad: PpmModel = { ...model, kind: 'quadratic', coef: new Array(F + (F * (F + 1)) / 2).fill(0) };
    quad.coef[0] = 1; // x0
    quad.coef[F] = 8; // x0 * x0
    // p0 share x0 = 1/4: 0.25 + 8/16 = 0.75
    expect(instanceGains(quad, table)[0]).toBeCloseTo(0.75, 12);
  });

  it('shares count human-routed instances per feature over the pool', () => {
    const s = sharesOf(table, [0, 1]);
    expect([s[0], s[1], s[2]]).toEqual([0.5, 0.25, 0]);
  });
});

describe('strategies', () => {
  const ctx = (budget: number, seed = 1) => ({ table, budget, model, rng: createRng(seed), simulations: 50 });

  it('topk takes the highest gains', () => {
    const sel = selectForHumans('topk', ctx(2));
    expect(sel.human).toEqual([1, 0]);
    expect(sel.predicted).toBeCloseTo(predict(model, sharesOf(table, [0, 1])), 12);
  });

  it('optimal_pos keeps positive gains, optimal_grad gains above epsilon', () => {
    expect(selectForHumans('optimal_pos', ctx(4)).human).toEqual([1, 0]);
    expect(selectForHumans('optimal_grad', { ...ctx(4), epsilon: 0.2 }).human).toEqual([1]);
  });

  it('simulated keeps the best-predicted knapsack mix', () => {
    // Budget 1: knapsack draws {p0}, {p1} or {p2}; the best predicted is p1.
    expect(selectForHumans('simulated', ctx(1)).human).toEqual([1]);
  });

  it('random takes b distinct pairs and needs no model', () => {
    const sel = selectForHumans('random', { ...ctx(3), model: undefined });
    expect(new Set(sel.human).size).toBe(3);
  });

  it('the registry names the paper strategies plus random; unknown names list it', () => {
    expect(Object.keys(STRATEGIES)).toEqual(['topk', 'simulated', 'optimal_pos', 'optimal_grad', 'random']);
    expect(() => selectForHumans('best', ctx(1))).toThrow(/known: topk, simulated, optimal_pos, optimal_grad, random/);
    expect(() => selectForHumans('topk', { ...ctx(1), model: undefined })).toThrow(/needs a fitted PPM/);
  });

  it('routeTable turns a selection into decisions and resolves fractional budgets', () => {
    const { decisions } = routeTable(table, { strategy: 'topk', budget: 0.5, model });
    expect(decisions.map((d) => d.route)).toEqual(['human', 'human', 'ai', 'ai']);
    expect(() => routeTable(table, { strategy: 'topk', model })).toThrow(/needs a budget/);
  });
});

describe('budgets and the randomized knapsack', () => {
  it('--budget is explicit: a decimal point or % is a fraction, an integer a count (1 is one pair, 1.0 the pool)', () => {
    expect(parseBudget('0.25')).toEqual({ fraction: 0.25 });
    expect(parseBudget('25%')).toEqual({ fraction: 0.25 });
    expect(parseBudget('1.0')).toEqual({ fraction: 1 });
    expect(parseBudget('1')).toEqual({ count: 1 });
    expect(parseBudget('221')).toEqual({ count: 221 });
    expect(resolveBudget(parseBudget('1'), 999)).toBe(1);
    expect(resolveBudget(parseBudget('1.0'), 999)).toBe(999);
    expect(() => parseBudget('2.5')).toThrow(/with a decimal point is a fraction and must be in \[0, 1\]/);
    expect(() => parseBudget('120%')).toThrow(/0%\.\.100%/);
    expect(() => parseBudget('many', 'budgets')).toThrow(/--budgets must be a fraction/);
  });

  it('optimal_pos and optimal_grad honour a budget as a cap (regression: they sent every positive-gain pair to humans)', () => {
    expect(selectForHumans('optimal_pos', { table, budget: 1, model, rng: createRng(1), simulations: 1 }).human).toEqual([1]);
    expect(selectForHumans('optimal_grad', { table, budget: 1, model, rng: createRng(1), simulations: 1, epsilon: 0 }).human).toEqual([1]);
    expect(routeTable(table, { strategy: 'optimal_pos', model, budget: { count: 1 } }).decisions.filter((d) => d.route === 'human')).toHaveLength(1);
    // Without a budget they pick their own size, as in the paper's code.
    expect(routeTable(table, { strategy: 'optimal_pos', model }).decisions.filter((d) => d.route === 'human')).toHaveLength(2);
  });

  it('fractions in [0, 1] scale the pool, larger numbers are counts', () => {
    expect(resolveBudget(0.25, 999)).toBe(249);
    expect(resolveBudget(1, 10)).toBe(10);
    expect(resolveBudget(7, 10)).toBe(7);
    expect(() => resolveBudget(11, 10)).toThrow(/exceeds the pool/);
    expect(() => resolveBudget(2.5, 10)).toThrow(/integer/);
  });

  it('fills up to capacity with distinct feature-bearing instances only', () => {
    const items = featureInstances(table);
    for (let seed = 0; seed < 20; seed++) {
      const chosen = runKnapsack(2, items, createRng(seed));
      expect(chosen).toHaveLength(2);
      expect(new Set(chosen).size).toBe(2);
      expect(chosen).not.toContain(3); // p3 has no feature
    }
    expect(runKnapsack(4, items, createRng(3)).sort()).toEqual([0, 1, 2]);
  });

  it('simulateMixes draws distinct budgets and records shares with the evaluator score', async () => {
    const { data, mixes } = await simulateMixes(table, (mix) => mix.human.length / 10, { mixes: 3, seed: 5 });
    expect(new Set(mixes.map((m) => m.budget)).size).toBe(3);
    mixes.forEach((m, r) => {
      expect(data.y[r]).toBeCloseTo(m.human.length / 10, 12);
      expect(data.x[r * F]).toBeCloseTo(sharesOf(table, m.human)[0], 12);
    });
  });
});
