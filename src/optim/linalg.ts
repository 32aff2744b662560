// Small dense linear algebra in float64 for SOAP's preconditioners (row-major n x n matrices):
// products, the cyclic Jacobi eigendecomposition of a symmetric matrix, and Gram-Schmidt QR.

/** C = op(A) op(B) with A [r x k], B [k x c] after optional transposes. */
export function matmul(a: Float64Array, b: Float64Array, r: number, k: number, c: number, transA = false, transB = false): Float64Array {
  const out = new Float64Array(r * c);
  for (let i = 0; i < r; i++)
    for (let l = 0; l < k; l++) {
      const x = transA ? a[l * r + i]! : a[i * k + l]!;
      if (x === 0) continue;
      for (let j = 0; j < c; j++) out[i * c + j]! += x * (transB ? b[j * k + l]! : b[l * c + j]!);
    }
  return out;
}

/** Eigenvectors (columns) of a symmetric matrix, sorted by descending eigenvalue. */
export function symmetricEigenvectors(m: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!, akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!, aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!, vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  const order = [...Array(n).keys()].sort((i, j) => a[j * n + j]! - a[i * n + i]!);
  return { values: Float64Array.from(order, (i) => a[i * n + i]!), vectors: permuteColumns(v, n, order) };
}

export function permuteColumns(m: Float64Array, n: number, order: number[]): Float64Array {
  const out = new Float64Array(n * n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) out[r * n + c] = m[r * n + order[c]!]!;
  return out;
}

/** Q of the QR decomposition (modified Gram-Schmidt on the columns); a rank-deficient column is replaced by the first unit vector that is independent of the previous ones. */
export function orthonormalize(m: Float64Array, n: number): Float64Array {
  const q = Float64Array.from(m);
  const col = (c: number) => Float64Array.from({ length: n }, (_, r) => q[r * n + c]!);
  for (let c = 0; c < n; c++) {
    const candidates = [col(c), ...Array.from({ length: n }, (_, k) => Float64Array.from({ length: n }, (_, r) => (r === k ? 1 : 0)))];
    for (const x of candidates) {
      let norm0 = 0;
      for (let r = 0; r < n; r++) norm0 += x[r]! ** 2;
      norm0 = Math.sqrt(norm0);
      // Two Gram-Schmidt passes ("twice is enough"): one loses orthogonality when M Q is ill-conditioned.
      for (let pass = 0; pass < 2; pass++)
        for (let prev = 0; prev < c; prev++) {
          let dot = 0;
          for (let r = 0; r < n; r++) dot += q[r * n + prev]! * x[r]!;
          for (let r = 0; r < n; r++) x[r]! -= dot * q[r * n + prev]!;
        }
      let norm = 0;
      for (let r = 0; r < n; r++) norm += x[r]! ** 2;
      norm = Math.sqrt(norm);
      if (norm0 > 0 && norm > 1e-8 * norm0) {
        for (let r = 0; r < n; r++) q[r * n + c] = x[r]! / norm;
        break;
      }
    }
  }
  return q;
}
