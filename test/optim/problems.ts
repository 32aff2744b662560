// Standard optimization problems for the convergence tests: an ill-conditioned quadratic, the
// Rosenbrock function, and logistic regression on a real binary task (is response A the one GPT-4
// preferred? from UltraFeedback chosen/rejected pairs, with simple text features).

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Param } from '../../src/optim/index.js';

export interface Problem {
  name: string;
  init(): Param[];
  loss(params: Param[]): number;
  grad(params: Param[]): Map<string, Float32Array>;
}

/** f = sum_i lambda_i x_i^2 / 2, lambda_i from 1 to 100 log-spaced (condition number 100), x0 = 1. */
export function quadratic(n = 10): Problem {
  const lambda = Array.from({ length: n }, (_, i) => 10 ** ((2 * i) / (n - 1)));
  return {
    name: 'ill-conditioned quadratic',
    init: () => [{ name: 'x', dims: [n], data: new Float32Array(n).fill(1) }],
    loss: (p) => p[0]!.data.reduce((s, x, i) => s + (lambda[i]! * x * x) / 2, 0),
    grad: (p) => new Map([['x', Float32Array.from(p[0]!.data, (x, i) => lambda[i]! * x)]]),
  };
}

/** f = (1 - x)^2 + 100 (y - x^2)^2 from the classic start (-1.2, 1); minimum 0 at (1, 1). */
export function rosenbrock(): Problem {
  return {
    name: 'Rosenbrock',
    init: () => [{ name: 'xy', dims: [2], data: Float32Array.of(-1.2, 1) }],
    loss: (p) => {
      const [x, y] = p[0]!.data as unknown as [number, number];
      return (1 - x) ** 2 + 100 * (y - x * x) ** 2;
    },
    grad: (p) => {
      const [x, y] = p[0]!.data as unknown as [number, number];
      return new Map([['xy', Float32Array.of(-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x))]]);
    },
  };
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const UF_FULL = path.resolve(ROOT, '../shared/datasets/preference_pairs/ultrafeedback_binarized_sample_train.jsonl');
const UF_SAMPLE = path.resolve(ROOT, 'data/samples/ultrafeedback_binarized_sample_train.60.jsonl');

function textFeatures(t: string): number[] {
  const words = t.split(/\s+/).filter(Boolean);
  const lines = t.split('\n');
  return [
    Math.log1p(t.length),
    Math.log1p(words.length),
    Math.log1p(lines.length),
    Math.log1p(lines.filter((l) => /^\s*([-*]|\d+\.)\s/.test(l)).length),
    Math.log1p((t.match(/```/g) ?? []).length),
    Math.log1p((t.match(/\d/g) ?? []).length),
    Math.log1p((t.match(/\?/g) ?? []).length),
    words.length ? words.reduce((s, w) => s + w.length, 0) / words.length : 0,
    Math.log1p((t.match(/\b(sorry|cannot|can't|apologi[sz]e)\b/gi) ?? []).length),
    Math.log1p((t.match(/\*\*|#/g) ?? []).length),
  ];
}

/**
 * Logistic regression: each UltraFeedback pair gives x = features(chosen) - features(rejected) with
 * label 1 and -x with label 0 (so no intercept is needed); columns scaled to unit RMS.
 */
export function preferenceLogistic(): Problem & { examples: number; optimum(): { loss: number; w: Float64Array; gradNorm: number } } {
  const file = fs.existsSync(UF_FULL) ? UF_FULL : UF_SAMPLE;
  const rows = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { chosen: string; rejected: string });
  const diffs = rows.map((r) => {
    const a = textFeatures(r.chosen);
    const b = textFeatures(r.rejected);
    return a.map((x, i) => x - b[i]!);
  });
  const d = diffs[0]!.length;
  const rms = Array.from({ length: d }, (_, j) => Math.sqrt(diffs.reduce((s, x) => s + x[j]! ** 2, 0) / diffs.length) || 1);
  // Flat row-major [2 * pairs, d] design matrix: the tests evaluate it thousands of times.
  const n = 2 * diffs.length;
  const X = new Float64Array(n * d);
  const y = new Float64Array(n);
  diffs.forEach((x, k) => {
    for (let j = 0; j < d; j++) {
      X[2 * k * d + j] = x[j]! / rms[j]!;
      X[(2 * k + 1) * d + j] = -x[j]! / rms[j]!;
    }
    y[2 * k] = 1;
  });
  const logits = (w: Float32Array) => {
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += X[i * d + j]! * w[j]!;
      z[i] = s;
    }
    return z;
  };
  const lossAt = (w: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      let z = 0;
      for (let j = 0; j < d; j++) z += X[i * d + j]! * w[j]!;
      s += Math.max(z, 0) - z * y[i]! + Math.log1p(Math.exp(-Math.abs(z)));
    }
    return s / n;
  };
  return {
    name: 'logistic regression (UltraFeedback chosen vs rejected)',
    examples: n,
    /**
     * The optimum by Newton's method in float64 (the loss is strictly convex: X has full column rank),
     * w <- w - H^-1 g with H = X^T diag(p (1-p)) X / n, solved by Gaussian elimination with partial
     * pivoting, until the gradient norm is below 1e-12.
     */
    optimum: () => {
      const w = new Float64Array(d);
      let gradNorm = Infinity;
      for (let iter = 0; iter < 50 && gradNorm > 1e-12; iter++) {
        const g = new Float64Array(d);
        const H = new Float64Array(d * d);
        for (let i = 0; i < n; i++) {
          let z = 0;
          for (let j = 0; j < d; j++) z += X[i * d + j]! * w[j]!;
          const p = 1 / (1 + Math.exp(-z));
          for (let j = 0; j < d; j++) {
            g[j]! += ((p - y[i]!) * X[i * d + j]!) / n;
            for (let k = 0; k < d; k++) H[j * d + k]! += (p * (1 - p) * X[i * d + j]! * X[i * d + k]!) / n;
          }
        }
        gradNorm = Math.hypot(...g);
        // Solve H s = g (augmented [H | g]).
        const A = Array.from({ length: d }, (_, r) => [...H.subarray(r * d, (r + 1) * d), g[r]!]);
        for (let c = 0; c < d; c++) {
          const piv = A.slice(c).reduce((best, row, k) => (Math.abs(row[c]!) > Math.abs(A[best]![c]!) ? c + k : best), c);
          [A[c], A[piv]] = [A[piv]!, A[c]!];
          for (let r = c + 1; r < d; r++) {
            const f = A[r]![c]! / A[c]![c]!;
            for (let k = c; k <= d; k++) A[r]![k]! -= f * A[c]![k]!;
          }
        }
        const step = new Float64Array(d);
        for (let r = d - 1; r >= 0; r--) {
          let s = A[r]![d]!;
          for (let k = r + 1; k < d; k++) s -= A[r]![k]! * step[k]!;
          step[r] = s / A[r]![r]!;
        }
        for (let j = 0; j < d; j++) w[j]! -= step[j]!;
      }
      return { loss: lossAt(w), w, gradNorm };
    },
    init: () => [{ name: 'w', dims: [d], data: new Float32Array(d) }],
    loss: (p) => logits(p[0]!.data).reduce((s, z, i) => s + (Math.max(z, 0) - z * y[i]! + Math.log1p(Math.exp(-Math.abs(z)))), 0) / n,
    grad: (p) => {
      const g = new Float64Array(d);
      logits(p[0]!.data).forEach((z, i) => {
        const r = 1 / (1 + Math.exp(-z)) - y[i]!;
        for (let j = 0; j < d; j++) g[j]! += (r * X[i * d + j]!) / n;
      });
      return new Map([['w', Float32Array.from(g)]]);
    },
  };
}
