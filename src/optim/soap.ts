// SOAP ("SOAP: Improving and Stabilizing Shampoo using Adam"; official nikhilvyas/SOAP): for a
// weight viewed as a matrix G [r, c] keep L = sb L + (1-sb) G G^T and R = sb R + (1-sb) G^T G; run
// Adam on G' = QL^T G QR in the eigenbasis of L and R and rotate the step back,
// u = QL (m / (sqrt(v) + eps)) QR^T * sqrt(1-b2^s) / (1-b1^s). As the code: the first step only
// initialises L, R and their eigenbases (full eigendecomposition) and makes no update; every
// `precondFrequency` Adam steps each basis is refreshed by one power-iteration step and QR, with
// columns re-sorted by the estimated eigenvalues and v permuted to match; m is rotated into the new
// basis. A side longer than `maxPrecondDim`, and 1-D parameters, stay unrotated (identity).
// Weight decay is the chain's decoupled term, skipped at the first step as the code skips the whole
// parameter update there.

import { chain, emptyState, transform, type GradientTransformation, type Param } from './core.js';
import type { Schedule } from './schedules.js';
import { addDecayedWeights, scaleByLearningRate } from './transforms.js';
import { matmul, orthonormalize, permuteColumns, symmetricEigenvectors } from './linalg.js';

export interface SoapHyper {
  lr: number;
  betas: [number, number];
  shampooBeta: number;
  eps: number;
  weightDecay: number;
  precondFrequency: number;
  maxPrecondDim: number;
}

/** Official defaults: lr 3e-3, betas (0.95, 0.95), shampoo_beta = beta2, eps 1e-8, wd 0.01, frequency 10, max dim 10000. */
export const SOAP_DEFAULTS: SoapHyper = { lr: 3e-3, betas: [0.95, 0.95], shampooBeta: 0.95, eps: 1e-8, weightDecay: 1e-2, precondFrequency: 10, maxPrecondDim: 10000 };

interface Shape {
  r: number;
  c: number;
  left: boolean;
  right: boolean;
}

function shapeOf(p: Param, maxDim: number): Shape {
  const r = p.dims.length > 1 ? p.dims[0]! : 1;
  const c = p.data.length / r;
  return { r, c, left: p.dims.length > 1 && r <= maxDim, right: p.dims.length > 1 && c <= maxDim };
}

const f64 = (a: Float32Array) => Float64Array.from(a);

/** QL^T X QR (to the eigenbasis) or QL X QR^T (back), skipping identity sides. */
function rotate(x: Float64Array, s: Shape, ql: Float64Array | undefined, qr: Float64Array | undefined, back: boolean): Float64Array {
  let y = x;
  if (ql) y = matmul(ql, y, s.r, s.r, s.c, !back, false);
  if (qr) y = matmul(y, qr, s.r, s.c, s.c, false, back);
  return y;
}

function accumulate(stat: Float32Array, outer: Float64Array, beta: number): void {
  for (let j = 0; j < stat.length; j++) stat[j] = beta * stat[j]! + (1 - beta) * outer[j]!;
}

/** Permute v [r, c] along rows (axis 0) or columns (axis 1). */
function permuteAxis(v: Float32Array, s: Shape, order: number[], axis: 0 | 1): void {
  const old = v.slice();
  for (let i = 0; i < s.r; i++)
    for (let j = 0; j < s.c; j++) v[i * s.c + j] = axis === 0 ? old[order[i]! * s.c + j]! : old[i * s.c + order[j]!]!;
}

/** One refresh of a basis: sort columns by diag(Q^T M Q) descending, permute v, then Q = qr(M Q). */
function refreshBasis(m: Float32Array, q: Float32Array, n: number, v: Float32Array, s: Shape, axis: 0 | 1): void {
  const M = f64(m);
  const Q = f64(q);
  const mq = matmul(M, Q, n, n, n);
  const est = Array.from({ length: n }, (_, k) => {
    let d = 0;
    for (let r = 0; r < n; r++) d += Q[r * n + k]! * mq[r * n + k]!;
    return d;
  });
  const order = [...Array(n).keys()].sort((a, b) => est[b]! - est[a]!);
  permuteAxis(v, s, order, axis);
  q.set(orthonormalize(matmul(M, permuteColumns(Q, n, order), n, n, n), n));
}

export function scaleBySoap(b1: number, b2: number, shampooBeta: number, eps: number, frequency: number, maxDim: number): GradientTransformation {
  return transform(
    'scaleBySoap',
    { b1, b2, shampooBeta, eps, precondFrequency: frequency, maxPrecondDim: maxDim },
    (params, alloc) => ({
      ...emptyState(params),
      slots: params.map((p) => {
        const s = shapeOf(p, maxDim);
        const slots: Record<string, Float32Array> = { m: alloc.f32(p.data.length), v: alloc.f32(p.data.length) };
        if (s.left) Object.assign(slots, { L: alloc.f32(s.r * s.r), QL: alloc.f32(s.r * s.r) });
        if (s.right) Object.assign(slots, { R: alloc.f32(s.c * s.c), QR: alloc.f32(s.c * s.c) });
        return slots;
      }),
    }),
    (updates, state, ctx) => {
      const t = ++state.count;
      const adamStep = t - 1;
      for (let i = 0; i < updates.length; i++) {
        const u = updates[i]!;
        const s = shapeOf(ctx.params[i]!, maxDim);
        const slot = state.slots[i] as Record<string, Float32Array>;
        const G = f64(u);
        if (t > 1) {
          const ql = s.left ? f64(slot.QL!) : undefined;
          const qr = s.right ? f64(slot.QR!) : undefined;
          const gp = rotate(G, s, ql, qr, false);
          const { m, v } = slot as { m: Float32Array; v: Float32Array };
          const n = new Float64Array(u.length);
          for (let j = 0; j < u.length; j++) {
            m[j] = b1 * m[j]! + (1 - b1) * gp[j]!;
            v[j] = b2 * v[j]! + (1 - b2) * gp[j]! * gp[j]!;
            n[j] = m[j]! / (Math.sqrt(v[j]!) + eps);
          }
          const step = rotate(n, s, ql, qr, true);
          const scale = Math.sqrt(1 - b2 ** adamStep) / (1 - b1 ** adamStep);
          for (let j = 0; j < u.length; j++) u[j] = step[j]! * scale;
        } else {
          u.fill(0);
        }
        // Preconditioner statistics from this step's gradient, after the step (as the code).
        if (s.left) accumulate(slot.L!, matmul(G, G, s.r, s.c, s.r, false, true), shampooBeta);
        if (s.right) accumulate(slot.R!, matmul(G, G, s.c, s.r, s.c, true, false), shampooBeta);
        if (t === 1) {
          if (s.left) slot.QL!.set(symmetricEigenvectors(f64(slot.L!), s.r).vectors);
          if (s.right) slot.QR!.set(symmetricEigenvectors(f64(slot.R!), s.c).vectors);
        } else if (adamStep % frequency === 0 && (s.left || s.right)) {
          const mOrig = rotate(f64(slot.m!), s, s.left ? f64(slot.QL!) : undefined, s.right ? f64(slot.QR!) : undefined, true);
          if (s.left) refreshBasis(slot.L!, slot.QL!, s.r, slot.v!, s, 0);
          if (s.right) refreshBasis(slot.R!, slot.QR!, s.c, slot.v!, s, 1);
          slot.m!.set(rotate(mOrig, s, s.left ? f64(slot.QL!) : undefined, s.right ? f64(slot.QR!) : undefined, false));
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
    scaleBySoap(h.betas[0], h.betas[1], h.shampooBeta, h.eps, h.precondFrequency, h.maxPrecondDim),
    afterFirstStep(addDecayedWeights(h.weightDecay)),
    scaleByLearningRate(h.lr, schedule),
  );
}
