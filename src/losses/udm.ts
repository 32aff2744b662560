// BCO's underlying-distribution matching weights ("Binary Classifier Optimization for LLM
// Alignment", Sec. 4), as TRL's BCOTrainer does it: a logistic-regression classifier separates the
// prompt embeddings of thumbs-up rows (label 1) from thumbs-down rows (label 0); a thumbs-down row
// is weighted by the density ratio p/(1-p) of its prompt, clamped to [min, max]. TRL fits
// sklearn's LogisticRegression(class_weight="balanced"): L2 penalty 1/2 |w|^2 with C = 1, an
// unpenalised intercept, and class weights n / (2 n_class). This fits the same objective by Newton's
// method (the problem is convex and small: one weight per embedding dimension).

import { fail } from '../errors.js';

export interface UdmClassifier {
  weights: Float64Array;
  bias: number;
  /** Probability that a prompt embedding comes from the thumbs-up rows. */
  probDesirable(embedding: ArrayLike<number>): number;
}

export interface UdmFitOptions {
  /** Inverse L2 strength, sklearn's C (default 1). */
  c?: number;
  maxIterations?: number;
  /** Stop when the Newton step's largest component is below this. */
  tolerance?: number;
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Solve A x = b for symmetric positive definite A (row-major n x n) by Cholesky. */
function choleskySolve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = i === j ? Math.sqrt(Math.max(s, 1e-300)) : s / l[j * n + j]!;
    }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * y[k]!;
    y[i] = s / l[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k]!;
    x[i] = s / l[i * n + i]!;
  }
  return x;
}

/** Fit the thumbs-up vs thumbs-down prompt classifier. */
export function fitUdmClassifier(desirable: ArrayLike<number>[], undesirable: ArrayLike<number>[], opts: UdmFitOptions = {}): UdmClassifier {
  if (desirable.length === 0 || undesirable.length === 0)
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `UDM needs prompt embeddings of both classes (got ${desirable.length} thumbs-up, ${undesirable.length} thumbs-down)`, { field: 'embeddings' });
  const d = desirable[0]!.length;
  const rows = [...desirable.map((e) => ({ e, y: 1 })), ...undesirable.map((e) => ({ e, y: 0 }))];
  rows.forEach((r, i) => {
    if (r.e.length !== d) throw fail('ALIGNKIT_ERR_TENSOR', `UDM embedding ${i} has ${r.e.length} values, want ${d}`, { row: i, field: 'embeddings' });
  });
  const c = opts.c ?? 1;
  const classWeight = [rows.length / (2 * undesirable.length), rows.length / (2 * desirable.length)];
  const n = d + 1; // weights, then the intercept
  const theta = new Float64Array(n);
  for (let iter = 0; iter < (opts.maxIterations ?? 100); iter++) {
    // Gradient and Hessian of 1/2 |w|^2 + C sum_i s_i logloss_i (intercept not penalised).
    const grad = new Float64Array(n);
    const hess = new Float64Array(n * n);
    for (let j = 0; j < d; j++) {
      grad[j] = theta[j]!;
      hess[j * n + j] = 1;
    }
    for (const { e, y } of rows) {
      let z = theta[d]!;
      for (let j = 0; j < d; j++) z += theta[j]! * e[j]!;
      const p = sigmoid(z);
      const s = c * classWeight[y]!;
      const r = s * (p - y);
      const w = s * p * (1 - p);
      for (let j = 0; j < n; j++) {
        const xj = j < d ? e[j]! : 1;
        grad[j] += r * xj;
        for (let k = 0; k <= j; k++) hess[j * n + k] += w * xj * (k < d ? e[k]! : 1);
      }
    }
    for (let j = 0; j < n; j++) for (let k = j + 1; k < n; k++) hess[j * n + k] = hess[k * n + j]!;
    hess[n * n - 1] += 1e-10; // keeps the intercept's pivot positive on separable data
    const step = choleskySolve(hess, grad, n);
    let largest = 0;
    for (let j = 0; j < n; j++) {
      theta[j] -= step[j]!;
      largest = Math.max(largest, Math.abs(step[j]!));
    }
    if (largest < (opts.tolerance ?? 1e-10)) break;
  }
  const weights = theta.slice(0, d);
  const bias = theta[d]!;
  return {
    weights,
    bias,
    probDesirable(e) {
      let z = bias;
      for (let j = 0; j < d; j++) z += weights[j]! * e[j]!;
      return sigmoid(z);
    },
  };
}

export interface UdmWeightOptions {
  /** TRL BCOConfig min_density_ratio / max_density_ratio defaults. */
  minRatio?: number;
  maxRatio?: number;
}

/**
 * The `udm_weights` input of the BCO loss: p/(1-p+1e-8) clamped to [minRatio, maxRatio] on
 * thumbs-down rows (TRL BCOTrainer._get_udm_weight), 1 on thumbs-up rows (unused there).
 */
export function udmWeights(clf: UdmClassifier, embeddings: ArrayLike<number>[], labels: ArrayLike<number>, opts: UdmWeightOptions = {}): Float32Array {
  const lo = opts.minRatio ?? 0.5;
  const hi = opts.maxRatio ?? 10;
  return Float32Array.from(embeddings, (e, i) => {
    if (labels[i] === 1) return 1;
    const p = clf.probDesirable(e);
    return Math.min(hi, Math.max(lo, p / (1 - p + 1e-8)));
  });
}
