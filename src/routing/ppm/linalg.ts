// Small dense linear algebra for the performance prediction model: a Cholesky solve is all a ridge
// fit needs. Matrices are row-major Float64Arrays.

/** Solve (A) x = b for symmetric positive definite A [m, m] by Cholesky; A is not modified. */
export function choleskySolve(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const l = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * m + j];
      for (let k = 0; k < j; k++) sum -= l[i * m + k] * l[j * m + k];
      if (i === j) l[i * m + i] = Math.sqrt(Math.max(sum, 1e-300));
      else l[i * m + j] = sum / l[j * m + j];
    }
  }
  const y = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let sum = b[i];
    for (let k = 0; k < i; k++) sum -= l[i * m + k] * y[k];
    y[i] = sum / l[i * m + i];
  }
  const x = new Float64Array(m);
  for (let i = m - 1; i >= 0; i--) {
    let sum = y[i];
    for (let k = i + 1; k < m; k++) sum -= l[k * m + i] * x[k];
    x[i] = sum / l[i * m + i];
  }
  return x;
}

/**
 * Ridge regression on centred data, returning {coef, intercept}. With ridge = 0 this is ordinary
 * least squares; when the system is singular (more features than mixes, or all-zero columns, as in
 * the 26 released mixes) a relative jitter of 1e-10 makes the solve return the minimum-norm
 * least-squares solution, the one sklearn's LinearRegression (scipy lstsq) returns. The smaller of
 * the primal (X'X + lI) w = X'y and the dual w = X'(XX' + lI)^-1 y systems is solved.
 */
export function ridgeFit(x: Float64Array, y: Float64Array, n: number, p: number, ridge: number): { coef: Float64Array; intercept: number } {
  const xMean = new Float64Array(p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) xMean[j] += x[i * p + j] / n;
  const yMean = y.reduce((s, v) => s + v, 0) / n;
  const xc = new Float64Array(n * p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) xc[i * p + j] = x[i * p + j] - xMean[j];
  const yc = Float64Array.from(y, (v) => v - yMean);
  const coef = new Float64Array(p);
  if (p <= n) {
    const a = new Float64Array(p * p);
    const b = new Float64Array(p);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < p; j++) {
        const xij = xc[i * p + j];
        if (xij === 0) continue;
        b[j] += xij * yc[i];
        for (let k = 0; k <= j; k++) a[j * p + k] += xij * xc[i * p + k];
      }
    }
    for (let j = 0; j < p; j++) for (let k = 0; k < j; k++) a[k * p + j] = a[j * p + k];
    addRidge(a, p, ridge);
    coef.set(choleskySolve(a, b, p));
  } else {
    const g = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k <= i; k++) {
        let s = 0;
        for (let j = 0; j < p; j++) s += xc[i * p + j] * xc[k * p + j];
        g[i * n + k] = s;
        g[k * n + i] = s;
      }
    }
    addRidge(g, n, ridge);
    const alpha = choleskySolve(g, yc, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) coef[j] += xc[i * p + j] * alpha[i];
  }
  let intercept = yMean;
  for (let j = 0; j < p; j++) intercept -= coef[j] * xMean[j];
  return { coef, intercept };
}

function addRidge(a: Float64Array, m: number, ridge: number): void {
  let trace = 0;
  for (let i = 0; i < m; i++) trace += a[i * m + i];
  const jitter = 1e-10 * Math.max(trace / Math.max(m, 1), 1e-12);
  for (let i = 0; i < m; i++) a[i * m + i] += ridge + jitter;
}
