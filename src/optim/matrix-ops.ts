// The dense operations SOAP's rotations are made of, with one defined result: every output entry
// is a float32 sum over k in increasing order of float32 products (no fused multiply-add), and
// elementwise steps are float32 operations in a fixed order. The TypeScript ops below compute
// exactly that (f = Math.fround after each operation); the wasm kernels (kernels/soap.ts) compute
// the same bits four lanes at a time, so the two paths follow one trajectory.

const f = Math.fround;

export interface MatrixOps {
  /**
   * C = (accumulate ? C : 0) + A B over float32 views: A[i, k] is a[i sai + k sak] (any layout,
   * transposes included), B[k, j] is b[k ldb + j], C[i, j] is c[i ldc + j].
   */
  gemm(a: Float32Array, sai: number, sak: number, b: Float32Array, ldb: number, c: Float32Array, ldc: number, m: number, k: number, n: number, accumulate: boolean): void;
  /** Adam in the eigenbasis: m = b1 m + c1 g; v = b2 v + c2 g^2; out = m / (sqrt(v) + eps). */
  adam(g: Float32Array, m: Float32Array, v: Float32Array, out: Float32Array, b1: number, b2: number, c1: number, c2: number, eps: number): void;
  /** Sum of x^2 in float64. */
  sumsq(x: Float32Array): number;
  /** out = x * s (float32). */
  scale(x: Float32Array, s: number, out: Float32Array): void;
  /** dst[c rows + r] = src[r cols + c]. */
  transpose(src: Float32Array, rows: number, cols: number, dst: Float32Array): void;
  /** A float32 buffer of at least n entries, reused per purpose (in the arena for the wasm ops). */
  scratch(purpose: string, n: number): Float32Array;
}

const scratches = new Map<string, Float32Array>();

export const TS_MATRIX_OPS: MatrixOps = {
  gemm(a, sai, sak, b, ldb, c, ldc, m, k, n, accumulate) {
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = accumulate ? c[i * ldc + j]! : 0;
        for (let q = 0; q < k; q++) s = f(s + f(a[i * sai + q * sak]! * b[q * ldb + j]!));
        c[i * ldc + j] = s;
      }
  },
  adam(g, m, v, out, b1, b2, c1, c2, eps) {
    const [fb1, fb2, fc1, fc2, fe] = [b1, b2, c1, c2, eps].map(f);
    for (let j = 0; j < g.length; j++) {
      const x = g[j]!;
      const mm = (m[j] = f(f(fb1! * m[j]!) + f(fc1! * x)));
      const vv = (v[j] = f(f(fb2! * v[j]!) + f(fc2! * f(x * x))));
      out[j] = f(mm / f(f(Math.sqrt(vv)) + fe!));
    }
  },
  sumsq(x) {
    let s = 0;
    for (let j = 0; j < x.length; j++) s += x[j]! * x[j]!;
    return s;
  },
  scale(x, s, out) {
    const fs = f(s);
    for (let j = 0; j < x.length; j++) out[j] = f(x[j]! * fs);
  },
  transpose(src, rows, cols, dst) {
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c]!;
  },
  scratch(purpose, n) {
    let s = scratches.get(purpose);
    if (!s || s.length < n) scratches.set(purpose, (s = new Float32Array(n)));
    return s;
  },
};
