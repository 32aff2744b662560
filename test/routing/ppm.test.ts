import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { choleskySolve, ridgeFit } from '../../src/routing/ppm/linalg.js';
import { fitPpm, predict, type PpmData } from '../../src/routing/ppm/model.js';
import { crossValidate } from '../../src/routing/ppm/evaluate.js';
import { readMixTable, VALIDATION_SET_FILE, REWARDBENCH_CATEGORIES } from '../../src/routing/ppm/mixes.js';
import { createRng } from '../../src/routing/rng.js';

function synthetic(n: number, f: (x: number[]) => number, p = 3, noise = 0): PpmData {
  const rng = createRng(7);
  const x = new Float64Array(n * p);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: p }, () => rng.next());
    x.set(row, i * p);
    y[i] = f(row) + noise * (rng.next() - 0.5);
  }
  return { features: Array.from({ length: p }, (_, j) => `f${j}`), x, y, n };
}

describe('least squares', () => {
  it('Cholesky solves a 2x2 SPD system (hand-worked)', () => {
    // [[4,2],[2,3]] x = [2,1] -> x = [0.5, 0]
    expect(Array.from(choleskySolve(Float64Array.from([4, 2, 2, 3]), Float64Array.from([2, 1]), 2))).toEqual([0.5, 0].map((v) => expect.closeTo(v, 12)));
  });

  it('linear PPM recovers y = 1 + 2 x0 - 3 x1 exactly', () => {
    const m = fitPpm(synthetic(20, ([a, b]) => 1 + 2 * a - 3 * b));
    expect(m.coef).toEqual([2, -3, 0].map((v) => expect.closeTo(v, 6)));
    expect(m.intercept).toBeCloseTo(1, 6);
    expect(predict(m, [0.5, 0.5, 0.9])).toBeCloseTo(0.5, 6);
  });

  it('ridge shrinks toward zero: one feature, closed form b = Sxy / (Sxx + l)', () => {
    const x = Float64Array.from([0, 1, 2, 3]);
    const y = Float64Array.from([1, 3, 5, 7]); // slope 2; centred Sxx = 5, Sxy = 10
    expect(ridgeFit(x, y, 4, 1, 5).coef[0]).toBeCloseTo(10 / 10, 9);
    expect(ridgeFit(x, y, 4, 1, 0).coef[0]).toBeCloseTo(2, 9);
  });

  it('with more features than rows it returns the minimum-norm solution', () => {
    // y = x0 with x1 a copy of x0: min-norm splits the weight 0.5 / 0.5
    const x = Float64Array.from([0, 0, 1, 1, 2, 2]);
    const { coef } = ridgeFit(x, Float64Array.from([0, 1, 2]), 3, 2, 0);
    expect(coef[0]).toBeCloseTo(0.5, 6);
    expect(coef[1]).toBeCloseTo(0.5, 6);
  });

  it('quadratic PPM fits a product term the linear one cannot', () => {
    const data = synthetic(40, ([a, b]) => 4 * a * b, 2);
    const lin = crossValidate(data, { kind: 'linear' }, { folds: 5 });
    const quad = crossValidate(data, { kind: 'quadratic' }, { folds: 5 });
    expect(quad.cvRmse).toBeLessThan(1e-6);
    expect(lin.cvRmse).toBeGreaterThan(0.05);
  });
});

describe('PPM on the 26 released mixes', () => {
  const mixes = readMixTable(VALIDATION_SET_FILE);

  it('reads 26 mixes, 65 feature columns, target Overall = mean of the four RewardBench categories', () => {
    expect(mixes.data.n).toBe(26);
    expect(mixes.mappedColumns).toHaveLength(65);
    expect(mixes.missingFeatures).toHaveLength(25);
    const rows = fs.readFileSync(VALIDATION_SET_FILE, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    for (const r of rows) expect(r.Overall).toBeCloseTo(REWARDBENCH_CATEGORIES.reduce((s, c) => s + r[c], 0) / 4, 6);
    expect(readMixTable(VALIDATION_SET_FILE, 'mean4').data.y[3]).toBeCloseTo(mixes.data.y[3], 6);
  });

  it('reports cross-validated RMSE, the mean baseline and a learning curve', () => {
    const report = crossValidate(mixes.data, { kind: 'linear', ridge: 1 }, { folds: 26 });
    expect(report.n).toBe(26);
    expect(report.learningCurve.map((c) => c.fraction)).toEqual([0.25, 0.5, 0.75, 1]);
    expect(report.cvRmse).toBe(report.learningCurve[3].cvRmse);
    // Leave-one-out baseline by an independent formula: y_i - mean(others) = (y_i - mean) * n / (n - 1).
    const y = Array.from(mixes.data.y);
    const mean = y.reduce((s, v) => s + v, 0) / y.length;
    const sdPop = Math.sqrt(y.reduce((s, v) => s + (v - mean) ** 2, 0) / y.length);
    expect(report.baselineRmse).toBeCloseTo((sdPop * 26) / 25, 12);
    expect(report.trainRmse).toBeLessThan(report.cvRmse);
    // OLS (ridge 0) interpolates 26 rows with 65 columns: (near) zero training error.
    expect(crossValidate(mixes.data, { ridge: 0 }).trainRmse).toBeLessThan(1e-4);
  });

  it('rejects a bad ridge and an unknown kind', () => {
    expect(() => fitPpm(mixes.data, { ridge: -1 })).toThrow(/ridge must be >= 0/);
    expect(() => fitPpm(mixes.data, { kind: 'cubic' as never })).toThrow(/known: linear, quadratic/);
  });
});
