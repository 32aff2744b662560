// The performance prediction model (PPM) of "Hybrid Preferences" (Miranda et al. 2024, sec. 3):
// input = for each of the 90 features, how many human-routed instances carry it, divided by the
// pool size so mixes of different sizes share one base; target = the benchmark score of a reward
// model trained on that mix. `linear` is sklearn LinearRegression (optionally ridge); `quadratic`
// adds all pairwise products x_i * x_j (i <= j), sklearn PolynomialFeatures(degree=2) as
// scripts/train_regressor.py's quadratic variant.

import { fail } from '../../errors.js';
import { ridgeFit } from './linalg.js';

export type PpmKind = 'linear' | 'quadratic';

export interface PpmModel {
  kind: PpmKind;
  /** Input feature names (the 90 catalog names). */
  features: string[];
  /** One coefficient per expanded input (p for linear, p + p(p+1)/2 for quadratic). */
  coef: number[];
  intercept: number;
  ridge: number;
  /**
   * Lowest and highest score of the mixes it was fitted on. A linear fit extrapolates freely (the
   * released-mix PPM once "predicted" 2.96 for a score in [0, 1]): a prediction outside this range
   * is not a score. Absent in models saved before it was recorded.
   */
  targetRange?: [number, number];
}

/** Expanders per kind: raw shares [p] -> model inputs. */
export const EXPANDERS: Record<PpmKind, { size(p: number): number; expand(x: ArrayLike<number>, out: Float64Array): void }> = {
  linear: {
    size: (p) => p,
    expand: (x, out) => {
      for (let j = 0; j < x.length; j++) out[j] = x[j];
    },
  },
  quadratic: {
    size: (p) => p + (p * (p + 1)) / 2,
    expand: (x, out) => {
      const p = x.length;
      let k = 0;
      for (let j = 0; j < p; j++) out[k++] = x[j];
      for (let i = 0; i < p; i++) for (let j = i; j < p; j++) out[k++] = x[i] * x[j];
    },
  },
};

/** Rows of shares [n, p] row-major. */
export interface PpmData {
  features: string[];
  x: Float64Array;
  y: Float64Array;
  n: number;
}

export interface PpmFitOptions {
  kind: PpmKind;
  /** L2 penalty; 0 = ordinary (minimum-norm) least squares as the paper. */
  ridge: number;
}

export const DEFAULT_PPM_FIT: PpmFitOptions = { kind: 'linear', ridge: 0 };

function validate(options: PpmFitOptions): void {
  if (!(options.kind in EXPANDERS)) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `unknown PPM kind '${options.kind}'; known: ${Object.keys(EXPANDERS).join(', ')}`, { parameter: 'kind' });
  if (!(options.ridge >= 0)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `ridge must be >= 0, got ${options.ridge}`, { parameter: 'ridge' });
}

export function expandRows(kind: PpmKind, x: Float64Array, n: number, p: number): { x: Float64Array; q: number } {
  const e = EXPANDERS[kind];
  const q = e.size(p);
  const out = new Float64Array(n * q);
  const row = new Float64Array(q);
  for (let i = 0; i < n; i++) {
    e.expand(x.subarray(i * p, (i + 1) * p), row);
    out.set(row, i * q);
  }
  return { x: out, q };
}

export function fitPpm(data: PpmData, partial: Partial<PpmFitOptions> = {}): PpmModel {
  const options = { ...DEFAULT_PPM_FIT, ...partial };
  validate(options);
  const p = data.features.length;
  if (data.n < 2) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `a PPM needs at least 2 mixes, got ${data.n}`, { parameter: 'mixes' });
  const { x, q } = expandRows(options.kind, data.x, data.n, p);
  const { coef, intercept } = ridgeFit(x, data.y, data.n, q, options.ridge);
  const targetRange: [number, number] = [Math.min(...data.y), Math.max(...data.y)];
  return { kind: options.kind, features: data.features, coef: Array.from(coef), intercept, ridge: options.ridge, targetRange };
}

/**
 * How a prediction may be reported: as a score when it lies within the fitted mixes' range (with a
 * little slack), otherwise as an extrapolation, which says nothing about the score.
 */
export function describePrediction(model: PpmModel, predicted: number): string {
  const [lo, hi] = model.targetRange ?? [0, 1];
  const slack = 0.1 * Math.max(hi - lo, 1e-9);
  if (predicted >= lo - slack && predicted <= hi + slack) return `predicted score ${predicted.toFixed(4)} (fitted mixes scored ${lo.toFixed(4)}..${hi.toFixed(4)})`;
  return `no predicted score: the PPM's output ${predicted.toFixed(4)} lies outside the ${lo.toFixed(4)}..${hi.toFixed(4)} its mixes scored, an extrapolation`;
}

/** Predicted score for one mix given its feature shares [p]. */
export function predict(model: PpmModel, shares: ArrayLike<number>): number {
  const e = EXPANDERS[model.kind];
  const row = new Float64Array(e.size(model.features.length));
  e.expand(shares, row);
  let s = model.intercept;
  for (let k = 0; k < row.length; k++) s += model.coef[k] * row[k];
  return s;
}
