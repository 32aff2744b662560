// The softmax family, over one axis (opset >= 13 semantics).

import type { Value } from '../../builder.js';
import type { GradContext, GradientRule } from '../types.js';

function normAxis(c: GradContext, axis: number, v: Value): number {
  return axis < 0 ? axis + c.rank(v) : axis;
}

// Softmax: dx = (dy - sum(dy * y)) * y. A mask applied before it (Where/Add of -inf) needs no
// special case: masked entries have y = 0 (DESIGN.md).
const softmax: GradientRule = (c) => {
  const g = c.g;
  const y = c.output(0);
  const axis = normAxis(c, c.attrInt('axis', -1), y);
  const dy = c.dy()!;
  return [g.mul(g.sub(dy, c.reduce('ReduceSum', g.mul(dy, y), [axis], true)), y)];
};

// LogSoftmax: dx = dy - exp(y) * sum(dy). When dy is a scatter-add of updates u into zeros (the
// backward of GatherElements: cross-entropy), sum(dy) = sum(u) and the whole gradient is one
// ScatterElements(-exp(y) * sum(u), idx, u, reduction=add): DESIGN.md measured it 0.1 ms against
// about 11 ms for the OneHot/Sub form on [N, V] logits, and it skips the zeros and a full reduction.
const logSoftmax: GradientRule = (c) => {
  const g = c.g;
  const y = c.output(0);
  const axis = normAxis(c, c.attrInt('axis', -1), y);
  const dy = c.dy()!;
  const p = c.producer(dy);
  if (p && p.opType === 'ScatterElements' && p.attrs.reduction?.value === 'add' && c.isZeros(p.inputs[0]!)) {
    const scatterAxis = p.attrs.axis?.value as number | undefined ?? 0;
    if (normAxis(c, scatterAxis, y) === axis) {
      const [idx, updates] = [p.inputs[1]!, p.inputs[2]!];
      const along = c.dims(updates)?.[axis];
      const total = along === 1 ? updates : c.reduce('ReduceSum', updates, [axis], true);
      const base = g.mul(g.exp(y), g.neg(total));
      return [g.op1('ScatterElements', [base, idx, updates], { axis, reduction: 'add' })];
    }
  }
  return [g.sub(dy, g.mul(g.exp(y), c.reduce('ReduceSum', dy, [axis], true)))];
};

export const SOFTMAX_RULES: Record<string, GradientRule> = {
  Softmax: softmax,
  LogSoftmax: logSoftmax,
};
