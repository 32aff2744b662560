// SOAP ("SOAP: Improving and Stabilizing Shampoo using Adam"; official nikhilvyas/SOAP, soap.py): for
// each dimension i of a gradient tensor G keep a factor GG_i = sb GG_i + (1-sb) G_(i) G_(i)^T (G_(i)
// the mode-i unfolding: all other dimensions contracted) and its eigenbasis Q_i; run Adam on
// G' = G x_1 Q_1^T x_2 Q_2^T ... (every dimension rotated into its eigenbasis) and rotate the step
// back, u = (m / (sqrt(v) + eps)) x_i Q_i * sqrt(1-b2^s) / (1-b1^s). As the code:
// - the first step only initialises the factors and their eigenbases (full eigendecomposition)
//   and makes no update (not even weight decay);
// - every `precondFrequency` Adam steps each basis is refreshed by one power-iteration step and
//   QR, columns re-sorted by the estimated eigenvalues and v permuted to match; m is rotated into
//   the new basis;
// - a dimension longer than `maxPrecondDim` stays unrotated; 1-D tensors are rotated only with
//   `precondition1d`; `mergeDims` first merges consecutive dimensions while their product stays
//   within maxPrecondDim (the code's merge_dims); `normalizeGrads` divides the rotated-back step by
//   its RMS; `correctBias: false` drops the bias corrections;
// - weight decay multiplies the updated parameter, p = (p - lr u)(1 - lr wd).
// The code refreshes m by rotating it back and forth at every step; here only when the basis
// changes (the same numbers up to rounding, half the matrix products). The products are float32
// (matrix-ops.ts), as the code's are for float32 parameters.

import { chain, emptyState, transform, type GradientTransformation, type Param } from './core.js';
import type { Schedule } from './schedules.js';
import { decayWeights, scaleByLearningRate } from './transforms.js';
import { matmul, orthonormalize, permuteColumns, symmetricEigenvectors } from './linalg.js';
import { TS_MATRIX_OPS, type MatrixOps } from './matrix-ops.js';

export interface SoapHyper {
  lr: number;
  betas: [number, number];
  shampooBeta: number;
  eps: number;
  weightDecay: number;
  precondFrequency: number;
  maxPrecondDim: number;
  mergeDims: boolean;
  precondition1d: boolean;
  normalizeGrads: boolean;
  correctBias: boolean;
}

/** Official defaults: lr 3e-3, betas (0.95, 0.95), shampoo_beta = beta2, eps 1e-8, wd 0.01, frequency 10, max dim 10000, the three flags off, bias correction on. */
export const SOAP_DEFAULTS: SoapHyper = {
  lr: 3e-3, betas: [0.95, 0.95], shampooBeta: 0.95, eps: 1e-8, weightDecay: 1e-2, precondFrequency: 10, maxPrecondDim: 10000,
  mergeDims: false, precondition1d: false, normalizeGrads: false, correctBias: true,
};

/** The tensor as SOAP sees it: its (possibly merged) dimensions and which of them are rotated. */
export interface SoapLayout {
  dims: number[];
  rotated: boolean[];
}

/** soap.py merge_dims: merge consecutive dimensions while their product stays within maxDim. */
export function mergeDimensions(shape: readonly number[], maxDim: number): number[] {
  const out: number[] = [];
  let cur = 1;
  for (const sh of shape) {
    if (cur * sh > maxDim) {
      if (cur > 1) {
        out.push(cur);
        cur = sh;
      } else {
        out.push(sh);
        cur = 1;
      }
    } else {
      cur *= sh;
    }
  }
  if (cur > 1 || out.length === 0) out.push(cur);
  return out;
}

export function soapLayout(p: Param, maxDim: number, mergeDims: boolean, precondition1d: boolean): SoapLayout {
  const n = p.data.length;
  if (p.dims.length <= 1) return { dims: [n], rotated: [precondition1d && n <= maxDim] };
  const dims = mergeDims ? mergeDimensions(p.dims, maxDim) : [...p.dims];
  return { dims, rotated: dims.map((d) => d <= maxDim) };
}

/** Sizes before and after dimension i of a row-major tensor. */
function around(dims: readonly number[], i: number): { pre: number; d: number; post: number } {
  let pre = 1;
  let post = 1;
  for (let k = 0; k < i; k++) pre *= dims[k]!;
  for (let k = i + 1; k < dims.length; k++) post *= dims[k]!;
  return { pre, d: dims[i]!, post };
}

/**
 * Mode-i product: out = x with dimension i multiplied by Q^T (`toBasis`: y_j = sum_k Q[k, j] x_k)
 * or by Q (back: y_j = sum_k Q[j, k] x_k). Q is d x d row-major.
 */
function modeProduct(ops: MatrixOps, x: Float32Array, out: Float32Array, dims: readonly number[], i: number, q: Float32Array, toBasis: boolean): void {
  const { pre, d, post } = around(dims, i);
  if (post === 1) {
    // [pre, d] times Q (to the basis) or Q^T (back): B must be row-major, so Q^T is materialised.
    let b = q;
    if (!toBasis) ops.transpose(q, d, d, (b = ops.scratch('soap-qt', d * d)));
    ops.gemm(x, d, 1, b, d, out, d, pre, d, d, false);
    return;
  }
  // Each [d, post] slab: Q^T X (A[j, k] = Q[k, j]) or Q X.
  for (let a = 0; a < pre; a++) {
    const o = a * d * post;
    ops.gemm(q, toBasis ? 1 : d, toBasis ? d : 1, x.subarray(o, o + d * post), post, out.subarray(o, o + d * post), post, d, d, post, false);
  }
}

/** x rotated into (or out of) the eigenbases of every rotated dimension; the result is in one of the two buffers (x is not written). */
function rotate(ops: MatrixOps, x: Float32Array, lay: SoapLayout, qs: (Float32Array | undefined)[], toBasis: boolean, bufs: [Float32Array, Float32Array]): Float32Array {
  let src = x;
  let next = 0;
  lay.dims.forEach((_, i) => {
    if (!qs[i]) return;
    const out = bufs[next]!;
    modeProduct(ops, src, out, lay.dims, i, qs[i]!, toBasis);
    src = out;
    next = 1 - next;
  });
  if (src === x) bufs[0].set(x);
  return src === x ? bufs[0] : src;
}

/** GG = sb GG + (1-sb) G_(i) G_(i)^T, the outer product summed over every other dimension. */
function accumulateFactor(ops: MatrixOps, gg: Float32Array, g: Float32Array, dims: readonly number[], i: number, beta: number): void {
  const { pre, d, post } = around(dims, i);
  const outer = ops.scratch('soap-outer', d * d);
  if (post === 1) {
    ops.gemm(g, 1, d, g, d, outer, d, d, pre, d, false); // [pre, d]^T [pre, d]
  } else {
    const t = ops.scratch('soap-slab-t', d * post);
    for (let a = 0; a < pre; a++) {
      const slab = g.subarray(a * d * post, (a + 1) * d * post);
      ops.transpose(slab, d, post, t);
      ops.gemm(slab, post, 1, t, d, outer, d, d, post, d, a > 0); // X_a X_a^T
    }
  }
  for (let j = 0; j < gg.length; j++) gg[j] = beta * gg[j]! + (1 - beta) * outer[j]!;
}

/** Permute v along dimension i: new index j takes old index order[j]. */
function permuteAlong(v: Float32Array, dims: readonly number[], i: number, order: number[]): void {
  const { pre, d, post } = around(dims, i);
  const old = v.slice();
  if (post === 1) {
    for (let a = 0; a < pre; a++) for (let j = 0; j < d; j++) v[a * d + j] = old[a * d + order[j]!]!;
    return;
  }
  for (let a = 0; a < pre; a++)
    for (let j = 0; j < d; j++) v.set(old.subarray((a * d + order[j]!) * post, (a * d + order[j]! + 1) * post), (a * d + j) * post);
}

/** One refresh of a basis (get_orthogonal_matrix_QR): sort columns by diag(Q^T GG Q) descending, permute v, then Q = qr(GG Q). */
function refreshBasis(gg: Float32Array, q: Float32Array, v: Float32Array, dims: readonly number[], i: number): void {
  const n = dims[i]!;
  const M = Float64Array.from(gg);
  const Q = Float64Array.from(q);
  const mq = matmul(M, Q, n, n, n);
  const est = Array.from({ length: n }, (_, k) => {
    let d = 0;
    for (let r = 0; r < n; r++) d += Q[r * n + k]! * mq[r * n + k]!;
    return d;
  });
  const order = [...Array(n).keys()].sort((a, b) => est[b]! - est[a]!);
  permuteAlong(v, dims, i, order);
  q.set(orthonormalize(matmul(M, permuteColumns(Q, n, order), n, n, n), n));
}

export interface ScaleBySoapOptions {
  maxPrecondDim?: number;
  mergeDims?: boolean;
  precondition1d?: boolean;
  normalizeGrads?: boolean;
  correctBias?: boolean;
}

export function scaleBySoap(b1: number, b2: number, shampooBeta: number, eps: number, frequency: number, opts: ScaleBySoapOptions = {}): GradientTransformation {
  const { maxPrecondDim = 10000, mergeDims = false, precondition1d = false, normalizeGrads = false, correctBias = true } = opts;
  const layouts = new WeakMap<Param, SoapLayout>();
  const layout = (p: Param) => {
    let l = layouts.get(p);
    if (!l) layouts.set(p, (l = soapLayout(p, maxPrecondDim, mergeDims, precondition1d)));
    return l;
  };
  return transform(
    'scaleBySoap',
    { b1, b2, shampooBeta, eps, precondFrequency: frequency, maxPrecondDim, mergeDims, precondition1d, normalizeGrads, correctBias },
    (params, alloc) => ({
      ...emptyState(params),
      slots: params.map((p) => {
        const lay = layout(p);
        const slots: Record<string, Float32Array> = { m: alloc.f32(p.data.length), v: alloc.f32(p.data.length) };
        lay.dims.forEach((d, i) => {
          if (lay.rotated[i]) Object.assign(slots, { [`GG${i}`]: alloc.f32(d * d), [`Q${i}`]: alloc.f32(d * d) });
        });
        return slots;
      }),
    }),
    (updates, state, ctx) => {
      const ops = ctx.matrixOps ?? TS_MATRIX_OPS;
      const t = ++state.count;
      const adamStep = t - 1;
      for (let i = 0; i < updates.length; i++) {
        const u = updates[i]!;
        const n = u.length;
        const lay = layout(ctx.params[i]!);
        const slot = state.slots[i] as Record<string, Float32Array>;
        const qs = lay.dims.map((_, k) => slot[`Q${k}`]);
        const bufs: [Float32Array, Float32Array] = [ops.scratch('soap-a', n).subarray(0, n), ops.scratch('soap-b', n).subarray(0, n)];
        // Factor statistics from this step's gradient (the code adds them after the step; the step does not read them).
        lay.dims.forEach((_, k) => {
          if (qs[k]) accumulateFactor(ops, slot[`GG${k}`]!, u, lay.dims, k, shampooBeta);
        });
        if (t === 1) {
          u.fill(0);
          lay.dims.forEach((d, k) => {
            if (qs[k]) qs[k]!.set(symmetricEigenvectors(Float64Array.from(slot[`GG${k}`]!), d).vectors);
          });
          continue;
        }
        const gp = rotate(ops, u, lay, qs, true, bufs);
        ops.adam(gp, slot.m!, slot.v!, gp, b1, b2, 1 - b1, 1 - b2, eps);
        const step = rotate(ops, gp, lay, qs, false, gp === bufs[0] ? [bufs[1], bufs[0]] : bufs);
        let scale = correctBias ? Math.sqrt(1 - b2 ** adamStep) / (1 - b1 ** adamStep) : 1;
        if (normalizeGrads) scale /= 1e-30 + Math.sqrt(ops.sumsq(step) / n);
        ops.scale(step, scale, u);
        if (adamStep % frequency === 0 && qs.some(Boolean)) {
          // m back to the parameter's basis, the bases refreshed (v permuted with them), m into the new bases.
          const m = rotate(ops, slot.m!, lay, qs, false, bufs);
          lay.dims.forEach((_, k) => {
            if (qs[k]) refreshBasis(slot[`GG${k}`]!, qs[k]!, slot.v!, lay.dims, k);
          });
          slot.m!.set(rotate(ops, m, lay, qs, true, m === bufs[0] ? [bufs[1], bufs[0]] : bufs));
        }
      }
    },
  );
}

/** Run `inner` from the second step on (its count starts then too). */
function afterFirstStep(inner: GradientTransformation): GradientTransformation {
  return transform(
    'afterFirstStep',
    {},
    (params, alloc) => ({ ...emptyState(params), children: [inner.init(params, alloc)] }),
    (updates, state, ctx) => {
      if (++state.count > 1) inner.update(updates, state.children![0]!, ctx);
    },
    { children: [inner] },
  );
}

export function soap(h: SoapHyper, schedule: Schedule): GradientTransformation {
  return chain(
    scaleBySoap(h.betas[0], h.betas[1], h.shampooBeta, h.eps, h.precondFrequency, {
      maxPrecondDim: h.maxPrecondDim, mergeDims: h.mergeDims, precondition1d: h.precondition1d, normalizeGrads: h.normalizeGrads, correctBias: h.correctBias,
    }),
    scaleByLearningRate(h.lr, schedule),
    afterFirstStep(decayWeights(h.weightDecay, { lr: h.lr, schedule, afterStep: true })),
  );
}
