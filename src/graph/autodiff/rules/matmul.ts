// MatMul and Gemm. The measured fast forms (DESIGN.md, "Training graphs"): Gemm with transA/transB
// for every weight and input gradient of a 2-D product (a [B,T,D] activation is flattened to
// [B*T,D] with Reshape, which is free), and MatMul against a Transpose for batched attention
// products, which onnxruntime fuses into FusedMatMul. No big Transpose is materialised.

import type { Value } from '../../builder.js';
import type { GradContext, GradientRule } from '../types.js';

/** Transpose of the last two axes. */
function swapLast(c: GradContext, v: Value, rank: number): Value {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  return c.g.transpose(v, perm);
}

/** Reshape target [-1, last dim of v]: static when the last dim is known. */
function rowsOf(c: GradContext, v: Value): Value {
  const d = c.dims(v)!;
  const last = d[d.length - 1];
  if (typeof last === 'number') return c.int64s([-1, last]);
  return c.g.concat([c.int64s([-1]), c.g.slice(c.g.shape(v), [-1], [2 ** 31 - 1])], 0);
}

/** A [..., K] @ W [K, N]: flatten the leading axes and use Gemm. */
function matMulWeight2d(c: GradContext, rankA: number): (Value | undefined)[] {
  const g = c.g;
  const [a, w, dy] = [c.input(0), c.input(1), c.dy()!];
  if (rankA === 2) {
    return [
      c.wants(0) ? g.gemm(dy, w, undefined, { transB: true }) : undefined, // dA = dY W^T
      c.wants(1) ? g.gemm(a, dy, undefined, { transA: true }) : undefined, // dW = A^T dY
    ];
  }
  const dy2 = g.reshape(dy, rowsOf(c, dy)); // [B*T, N]
  return [
    c.wants(0) ? g.reshape(g.gemm(dy2, w, undefined, { transB: true }), c.shapeOf(a)) : undefined,
    c.wants(1) ? g.gemm(g.reshape(a, rowsOf(c, a)), dy2, undefined, { transA: true }) : undefined,
  ];
}

/** General (batched, broadcasting, 1-D) MatMul: dA = dY B^T, dB = A^T dY, summed over broadcast batch axes. */
function matMulGeneral(c: GradContext, rankA: number, rankB: number): (Value | undefined)[] {
  const g = c.g;
  let [a, b, dy] = [c.input(0), c.input(1), c.dy()!];
  // numpy semantics of 1-D operands: a vector is [1, K] on the left, [K, 1] on the right.
  if (rankA === 1) {
    a = g.unsqueeze(a, [0]);
    dy = g.unsqueeze(dy, [rankB === 1 ? 0 : -2]);
  }
  if (rankB === 1) {
    b = g.unsqueeze(b, [1]);
    dy = g.unsqueeze(dy, [-1]);
  }
  const [ra, rb] = [Math.max(rankA, 2), Math.max(rankB, 2)];
  const back = (grad: Value, promoted: Value, original: Value, rank: number) => {
    const reduced = c.sumToShape(grad, promoted);
    return rank === 1 ? g.reshape(reduced, c.shapeOf(original)) : reduced;
  };
  return [
    c.wants(0) ? back(g.matMul(dy, swapLast(c, b, rb)), a, c.input(0), rankA) : undefined,
    c.wants(1) ? back(g.matMul(swapLast(c, a, ra), dy), b, c.input(1), rankB) : undefined,
  ];
}

const matMul: GradientRule = (c) => {
  const [ra, rb] = [c.rank(c.input(0)), c.rank(c.input(1))];
  if (rb === 2 && ra >= 2) return matMulWeight2d(c, ra);
  return matMulGeneral(c, ra, rb);
};

// Y = alpha op(A) op(B) + beta C (op = optional transpose). Derivation, with G = dY:
//   dA = alpha G op(B)^T      (transposed when transA)  -> one Gemm with flipped trans flags
//   dB = alpha op(A)^T G      (transposed when transB)
//   dC = beta * G, summed to C's broadcast shape.
const gemm: GradientRule = (c) => {
  const g = c.g;
  const [a, b, cIn, dy] = [c.input(0), c.input(1), c.input(2), c.dy()!];
  const transA = c.attrInt('transA', 0) === 1;
  const transB = c.attrInt('transB', 0) === 1;
  const alpha = c.attrFloat('alpha', 1);
  const beta = c.attrFloat('beta', 1);
  const scaled = alpha === 1 ? {} : { alpha };
  const da = () => (transA ? g.gemm(b, dy, undefined, { transA: transB, transB: true, ...scaled }) : g.gemm(dy, b, undefined, { transB: !transB, ...scaled }));
  const db = () => (transB ? g.gemm(dy, a, undefined, { transA: true, transB: transA, ...scaled }) : g.gemm(a, dy, undefined, { transA: !transA, ...scaled }));
  const dc = () => c.sumToShape(beta === 1 ? dy : g.mul(dy, c.scalar(beta)), cIn);
  return [c.wants(0) ? da() : undefined, c.wants(1) ? db() : undefined, cIn && c.wants(2) ? dc() : undefined];
};

export const MATMUL_RULES: Record<string, GradientRule> = {
  MatMul: matMul,
  Gemm: gemm,
};
