// Reductions, in both forms of their axes (attribute before opset 18, input from 18; ReduceSum from
// 13) and with keepdims either way: the output gradient is brought back to keepdims form, then
// broadcast against the input.

import type { Value } from '../../builder.js';
import type { Dim } from '../../ir.js';
import type { GradContext, GradientRule } from '../types.js';

/** Normalised reduced axes; undefined means every axis. */
function reducedAxes(c: GradContext): number[] | undefined {
  const inputForm = c.node.opType === 'ReduceSum' ? c.opset >= 13 : c.opset >= 18;
  let axes: number[] | undefined;
  if (inputForm) {
    if (c.input(1)) {
      axes = c.constInts(c.input(1));
      if (!axes) throw c.fail(`its axes input '${c.input(1)}' is not a constant; the gradient needs static axes`);
    }
  } else axes = c.attrInts('axes');
  if (axes === undefined || axes.length === 0) return undefined;
  const rank = c.rank(c.input(0));
  return axes.map((a) => (a < 0 ? a + rank : a)).sort((x, y) => x - y);
}

function isNoop(c: GradContext): boolean {
  return c.attrInt('noop_with_empty_axes', 0) === 1 && reducedAxes(c) === undefined;
}

/** A reduced value (the output or its gradient) with the reduced axes kept as 1s. */
function keepDims(c: GradContext, v: Value, axes: number[] | undefined): Value {
  if (c.attrInt('keepdims', 1) === 1 || axes === undefined) return v;
  return c.g.unsqueeze(v, axes);
}

function reducedCount(c: GradContext, axes: number[] | undefined): Value {
  const d = c.dims(c.input(0));
  const picked: Dim[] | undefined = d && (axes ? axes.map((a) => d[a]!) : d);
  if (picked && picked.every((x) => typeof x === 'number')) return c.scalar((picked as number[]).reduce((p, q) => p * q, 1));
  const g = c.g;
  const dtype = c.dtype(c.input(0));
  return g.div(g.cast(g.op1('Size', [c.input(0)]), dtype), g.cast(g.op1('Size', [c.output(0)]), dtype));
}

const reduceSum: GradientRule = (c) => {
  if (isNoop(c)) return [c.dy()!];
  const axes = reducedAxes(c);
  return [c.g.expand(keepDims(c, c.dy()!, axes), c.shapeOf(c.input(0)))];
};

const reduceMean: GradientRule = (c) => {
  if (isNoop(c)) return [c.dy()!];
  const axes = reducedAxes(c);
  const scaled = c.g.div(keepDims(c, c.dy()!, axes), reducedCount(c, axes));
  return [c.g.expand(scaled, c.shapeOf(c.input(0)))];
};

/** ReduceMax/ReduceMin: the gradient is shared equally by the entries that attain the extreme. */
const reduceExtreme: GradientRule = (c) => {
  if (isNoop(c)) return [c.dy()!];
  const g = c.g;
  const axes = reducedAxes(c);
  const x = c.input(0);
  const hit = g.cast(g.equal(x, keepDims(c, c.output(0), axes)), c.dtype(x));
  const ties = c.reduce('ReduceSum', hit, axes, true);
  return [g.mul(hit, g.div(keepDims(c, c.dy()!, axes), ties))];
};

// d logsumexp(x) = softmax(x) = exp(x - y).
const reduceLogSumExp: GradientRule = (c) => {
  if (isNoop(c)) return [c.dy()!];
  const g = c.g;
  const axes = reducedAxes(c);
  const x = c.input(0);
  return [g.mul(keepDims(c, c.dy()!, axes), g.exp(g.sub(x, keepDims(c, c.output(0), axes))))];
};

const reduceSumSquare: GradientRule = (c) => {
  if (isNoop(c)) return [c.g.mul(c.dy()!, c.g.mul(c.input(0), c.scalar(2)))];
  const axes = reducedAxes(c);
  return [c.g.mul(keepDims(c, c.dy()!, axes), c.g.mul(c.input(0), c.scalar(2)))];
};

// d ||x||_2 = x / y.
const reduceL2: GradientRule = (c) => {
  if (isNoop(c)) return [c.g.mul(c.dy()!, c.g.op1('Sign', [c.input(0)]))];
  const axes = reducedAxes(c);
  return [c.g.mul(c.input(0), c.g.div(keepDims(c, c.dy()!, axes), keepDims(c, c.output(0), axes)))];
};

export const REDUCTION_RULES: Record<string, GradientRule> = {
  ReduceSum: reduceSum,
  ReduceMean: reduceMean,
  ReduceMax: reduceExtreme,
  ReduceMin: reduceExtreme,
  ReduceLogSumExp: reduceLogSumExp,
  ReduceSumSquare: reduceSumSquare,
  ReduceL2: reduceL2,
};
