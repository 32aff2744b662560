// Fit quality of a PPM: k-fold cross-validated RMSE against the mean-predictor baseline, and the
// learning curve scripts/train_regressor.py prints (25/50/75/100% of the training part).

import { fail } from '../../errors.js';
import { createRng, shuffleInPlace } from '../rng.js';
import { fitPpm, predict, type PpmData, type PpmFitOptions } from './model.js';

export interface CvOptions {
  /** Number of folds; n means leave-one-out. */
  folds: number;
  seed: number;
  /** Fractions of each training part used for the learning curve. */
  curve: number[];
}

export const DEFAULT_CV: CvOptions = { folds: 5, seed: 42, curve: [0.25, 0.5, 0.75, 1] };

export interface CvReport {
  kind: string;
  ridge: number;
  n: number;
  folds: number;
  /** RMSE on held-out folds, pooled over all held-out predictions. */
  cvRmse: number;
  /** The same folds predicting the training mean: what the PPM has to beat. */
  baselineRmse: number;
  /** RMSE of the model fitted on all mixes, on those mixes. */
  trainRmse: number;
  learningCurve: { fraction: number; trainSize: number; cvRmse: number }[];
}

function subset(data: PpmData, rows: number[]): PpmData {
  const p = data.features.length;
  const x = new Float64Array(rows.length * p);
  rows.forEach((r, i) => x.set(data.x.subarray(r * p, (r + 1) * p), i * p));
  return { features: data.features, x, y: Float64Array.from(rows, (r) => data.y[r]), n: rows.length };
}

const rmse = (errors: number[]) => Math.sqrt(errors.reduce((s, e) => s + e * e, 0) / errors.length);

export function crossValidate(data: PpmData, fit: Partial<PpmFitOptions> = {}, partial: Partial<CvOptions> = {}): CvReport {
  const options = { ...DEFAULT_CV, ...partial };
  const folds = Math.min(options.folds, data.n);
  if (folds < 2) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `cross-validation needs >= 2 folds and mixes, got folds=${options.folds}, mixes=${data.n}`, { parameter: 'folds' });
  const p = data.features.length;
  const order = shuffleInPlace(Array.from({ length: data.n }, (_, i) => i), createRng(options.seed));
  const foldOf = (k: number) => order.filter((_, i) => i % folds === k);

  const curve = options.curve.map((fraction) => ({ fraction, errors: [] as number[], sizes: [] as number[] }));
  const baseline: number[] = [];
  for (let k = 0; k < folds; k++) {
    const test = foldOf(k);
    const train = order.filter((r) => !test.includes(r));
    const mean = train.reduce((s, r) => s + data.y[r], 0) / train.length;
    for (const r of test) baseline.push(data.y[r] - mean);
    for (const c of curve) {
      const size = Math.max(2, Math.floor(train.length * c.fraction));
      const model = fitPpm(subset(data, train.slice(0, size)), fit);
      c.sizes.push(size);
      for (const r of test) c.errors.push(data.y[r] - predict(model, data.x.subarray(r * p, (r + 1) * p)));
    }
  }
  const full = fitPpm(data, fit);
  const trainErrors = Array.from({ length: data.n }, (_, r) => data.y[r] - predict(full, data.x.subarray(r * p, (r + 1) * p)));
  const last = curve[curve.length - 1];
  return {
    kind: full.kind,
    ridge: full.ridge,
    n: data.n,
    folds,
    cvRmse: rmse(last.errors),
    baselineRmse: rmse(baseline),
    trainRmse: rmse(trainErrors),
    learningCurve: curve.map((c) => ({ fraction: c.fraction, trainSize: Math.round(c.sizes.reduce((s, v) => s + v, 0) / c.sizes.length), cvRmse: rmse(c.errors) })),
  };
}
