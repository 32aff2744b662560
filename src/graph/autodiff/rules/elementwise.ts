// Arithmetic with broadcasting, and the unary math functions. Each input gradient goes through
// sumToShape, so broadcasting (bias adds, scalar scales, masks) needs nothing here.

import type { Value } from '../../builder.js';
import type { GradContext, GradientRule } from '../types.js';

/** Only build what a wanted input needs. */
function when(c: GradContext, i: number, make: () => Value): Value | undefined {
  return c.wants(i) ? c.sumToShape(make(), c.input(i)) : undefined;
}

const add: GradientRule = (c) => [when(c, 0, () => c.dy()!), when(c, 1, () => c.dy()!)];

const sub: GradientRule = (c) => [when(c, 0, () => c.dy()!), when(c, 1, () => c.g.neg(c.dy()!))];

const mul: GradientRule = (c) => {
  const [a, b] = [c.input(0), c.input(1)];
  return [when(c, 0, () => c.g.mul(c.dy()!, b)), when(c, 1, () => c.g.mul(c.dy()!, a))];
};

// y = a / b: da = dy / b, db = -dy * a / b^2 = -dy * y / b.
const div: GradientRule = (c) => {
  const [b, y] = [c.input(1), c.output(0)];
  return [when(c, 0, () => c.g.div(c.dy()!, b)), when(c, 1, () => c.g.neg(c.g.div(c.g.mul(c.dy()!, y), b)))];
};

// y = a^b: da = dy * b * a^(b-1), db = dy * y * ln(a). A constant exponent 2 (RMSNorm, variance)
// becomes dy * 2a, without a Pow in the backward.
const pow: GradientRule = (c) => {
  const g = c.g;
  const [a, b, y] = [c.input(0), c.input(1), c.output(0)];
  const exponent = constFloat(c, b);
  const da = () => {
    if (exponent === 2) return g.mul(c.dy()!, g.mul(a, c.scalar(2)));
    if (exponent === 1) return c.dy()!;
    return g.mul(c.dy()!, g.mul(b, g.pow(a, g.sub(b, c.scalar(1)))));
  };
  return [when(c, 0, da), when(c, 1, () => g.mul(c.dy()!, g.mul(y, g.log(a))))];
};

/** The value of a scalar float constant (initializer or Constant node), if v is one. */
function constFloat(c: GradContext, v: Value): number | undefined {
  const p = c.producer(v);
  const attr = p?.opType === 'Constant' ? p.attrs.value : undefined;
  const t = p ? (attr?.type === 'tensor' ? attr.value : undefined) : c.g.graph.initializers.get(v);
  if (!t || t.data.length !== 1 || typeof t.data[0] !== 'number') return undefined;
  return t.data[0];
}

const neg: GradientRule = (c) => [c.g.neg(c.dy()!)];
const abs: GradientRule = (c) => [c.g.mul(c.dy()!, c.g.op1('Sign', [c.input(0)]))];
const exp: GradientRule = (c) => [c.g.mul(c.dy()!, c.output(0))];
const log: GradientRule = (c) => [c.g.div(c.dy()!, c.input(0))];
// d sqrt(x) = 0.5 / sqrt(x), reusing the forward output.
const sqrt: GradientRule = (c) => [c.g.div(c.g.mul(c.dy()!, c.scalar(0.5)), c.output(0))];
// d (1/x) = -1/x^2 = -y^2.
const reciprocal: GradientRule = (c) => [c.g.neg(c.g.mul(c.dy()!, c.g.mul(c.output(0), c.output(0))))];
const sin: GradientRule = (c) => [c.g.mul(c.dy()!, c.g.cos(c.input(0)))];
const cos: GradientRule = (c) => [c.g.neg(c.g.mul(c.dy()!, c.g.sin(c.input(0))))];

const sum: GradientRule = (c) => c.node.inputs.map((_, i) => when(c, i, () => c.dy()!));

const mean: GradientRule = (c) => {
  const share = c.scalar(1 / c.node.inputs.length);
  return c.node.inputs.map((_, i) => when(c, i, () => c.g.mul(c.dy()!, share)));
};

// CumSum: each input entry feeds every later running total, so its gradient is the running total
// of dy taken the other way (same exclusive flag, reverse flipped).
const cumSum: GradientRule = (c) => [
  c.g.op1('CumSum', [c.dy()!, c.input(1)], { exclusive: c.attrInt('exclusive', 0), reverse: 1 - c.attrInt('reverse', 0) }),
];

/** Min/Max: the gradient goes to the inputs equal to the result (every tied input gets it). */
const selectExtreme: GradientRule = (c) => {
  const y = c.output(0);
  const zero = c.scalar(0);
  return c.node.inputs.map((x, i) => when(c, i, () => c.g.where(c.g.equal(x, y), c.dy()!, zero)));
};

const where: GradientRule = (c) => {
  const cond = c.input(0);
  const zero = c.scalar(0);
  return [undefined, when(c, 1, () => c.g.where(cond, c.dy()!, zero)), when(c, 2, () => c.g.where(cond, zero, c.dy()!))];
};

export const ELEMENTWISE_RULES: Record<string, GradientRule> = {
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Pow: pow,
  Neg: neg,
  Abs: abs,
  Exp: exp,
  Log: log,
  Sqrt: sqrt,
  Reciprocal: reciprocal,
  Sin: sin,
  Cos: cos,
  Sum: sum,
  Mean: mean,
  CumSum: cumSum,
  Min: selectExtreme,
  Max: selectExtreme,
  Where: where,
};
