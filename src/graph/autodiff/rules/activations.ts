// Activation functions. Where the forward output already holds what the derivative needs
// (tanh, sigmoid) the rule reuses it instead of recomputing.

import type { GradientRule } from '../types.js';

// d tanh = 1 - y^2.
const tanh: GradientRule = (c) => {
  const y = c.output(0);
  return [c.g.mul(c.dy()!, c.g.sub(c.scalar(1), c.g.mul(y, y)))];
};

// d erf(x) = 2/sqrt(pi) * exp(-x^2).
const erf: GradientRule = (c) => {
  const g = c.g;
  const x = c.input(0);
  return [g.mul(c.dy()!, g.mul(g.exp(g.neg(g.mul(x, x))), c.scalar(2 / Math.sqrt(Math.PI))))];
};

// d sigmoid = y (1 - y).
const sigmoid: GradientRule = (c) => {
  const y = c.output(0);
  return [c.g.mul(c.dy()!, c.g.mul(y, c.g.sub(c.scalar(1), y)))];
};

// d softplus(x) = sigmoid(x).
const softplus: GradientRule = (c) => [c.g.mul(c.dy()!, c.g.sigmoid(c.input(0)))];

const relu: GradientRule = (c) => [c.g.where(c.g.greater(c.input(0), c.scalar(0)), c.dy()!, c.scalar(0))];

const leakyRelu: GradientRule = (c) => {
  const alpha = c.attrFloat('alpha', 0.01);
  return [c.g.where(c.g.greater(c.input(0), c.scalar(0)), c.dy()!, c.g.mul(c.dy()!, c.scalar(alpha)))];
};

// Clip (opset >= 11: min and max are optional inputs): the gradient passes where min <= x <= max;
// the bounds receive the gradient of the entries they clipped.
const clip: GradientRule = (c) => {
  const g = c.g;
  const [x, lo, hi] = [c.input(0), c.input(1), c.input(2)];
  const zero = c.scalar(0);
  const below = lo ? g.less(x, lo) : undefined;
  const above = hi ? g.greater(x, hi) : undefined;
  const outside = below && above ? g.op1('Or', [below, above]) : (below ?? above);
  const dx = outside ? g.where(outside, zero, c.dy()!) : c.dy()!;
  return [
    dx,
    c.wants(1) && below ? c.sumToShape(g.where(below, c.dy()!, zero), lo) : undefined,
    c.wants(2) && above ? c.sumToShape(g.where(above, c.dy()!, zero), hi) : undefined,
  ];
};

// Gelu (opset 20). Exact: d = Phi(x) + x phi(x), Phi the normal CDF, phi its density.
// Tanh approximation (Hendrycks & Gimpel): u = sqrt(2/pi) (x + 0.044715 x^3), t = tanh(u),
// d = 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2).
const gelu: GradientRule = (c) => {
  const g = c.g;
  const x = c.input(0);
  const s = (v: number) => c.scalar(v);
  if (c.attrString('approximate', 'none') === 'tanh') {
    const k = Math.sqrt(2 / Math.PI);
    const x2 = g.mul(x, x);
    const u = g.mul(g.mul(x, g.add(s(1), g.mul(x2, s(0.044715)))), s(k));
    const t = g.tanh(u);
    const left = g.mul(g.add(s(1), t), s(0.5));
    const du = g.mul(g.add(s(1), g.mul(x2, s(3 * 0.044715))), s(k));
    const right = g.mul(g.mul(g.mul(x, s(0.5)), g.sub(s(1), g.mul(t, t))), du);
    return [g.mul(c.dy()!, g.add(left, right))];
  }
  const cdf = g.mul(g.add(s(1), g.erf(g.mul(x, s(Math.SQRT1_2)))), s(0.5));
  const pdf = g.mul(g.exp(g.mul(g.mul(x, x), s(-0.5))), s(1 / Math.sqrt(2 * Math.PI)));
  return [g.mul(c.dy()!, g.add(cdf, g.mul(x, pdf)))];
};

// com.microsoft.FastGelu (x, optional bias): the tanh approximation above, differentiated in its
// sigmoid form, 0.5 (1 + tanh(u)) = sigmoid(2u) (Hendrycks & Gimpel 2016), so that it reuses the
// forward output y = x s:
//   z = 2u = x (a + b x^2), s = sigmoid(z), d = s + y (1 - s) (a + 3 b x^2),
// a = 2 sqrt(2/pi), b = 0.044715 a. 12 passes over the tensor (the bias adds one more).
const fastGelu: GradientRule = (c) => {
  const g = c.g;
  const [input, bias] = [c.input(0), c.input(1)];
  const x = bias ? g.add(input, bias) : input;
  const s = (v: number) => c.scalar(v);
  const a = 2 * Math.sqrt(2 / Math.PI);
  const b = 0.044715 * a;
  const x2 = g.mul(x, x);
  const sig = g.sigmoid(g.mul(x, g.add(g.mul(x2, s(b)), s(a))));
  const slope = g.add(g.mul(x2, s(3 * b)), s(a));
  const d = g.add(g.mul(g.mul(c.output(0), g.sub(s(1), sig)), slope), sig);
  const dx = g.mul(c.dy()!, d);
  return [dx, bias && c.wants(1) ? c.sumToShape(dx, bias) : undefined];
};

export const ACTIVATION_RULES: Record<string, GradientRule> = {
  Tanh: tanh,
  Erf: erf,
  Sigmoid: sigmoid,
  Softplus: softplus,
  Relu: relu,
  LeakyRelu: leakyRelu,
  Clip: clip,
  Gelu: gelu,
  'com.microsoft.FastGelu': fastGelu,
};
