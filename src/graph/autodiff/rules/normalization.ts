// Normalization. Decomposed LayerNorm and RMSNorm need no rule: they are primitives (ReduceMean,
// Sub, Pow, Sqrt, Div, Mul) the walker already differentiates.

import type { Value } from '../../builder.js';
import type { GradContext, GradientRule } from '../types.js';

function normAxis(c: GradContext, axis: number, v: Value): number {
  return axis < 0 ? axis + c.rank(v) : axis;
}

// LayerNormalization (opset 17). With xhat = (x - mean) * invstd over the axes from `axis` on:
//   dScale = sum(dY * xhat), dBias = sum(dY) over the leading axes (broadcast reduction),
//   dx = invstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dY * scale.
// The CPU kernel fills the optional Mean and InvStdDev outputs (DESIGN.md), so they are reused;
// a forward node that does not expose them is given those outputs.
const layerNormalization: GradientRule = (c) => {
  const g = c.g;
  if (c.dy(1) || c.dy(2)) throw c.fail('gradients through its Mean/InvStdDev outputs are not supported');
  const [x, scale, bias] = [c.input(0), c.input(1), c.input(2)];
  const rank = c.rank(x);
  const axis = normAxis(c, c.attrInt('axis', -1), x);
  const axes = Array.from({ length: rank - axis }, (_, i) => axis + i);
  const dtype = c.dtype(x);
  let [mean, invStd] = [c.ensureOutput(1), c.ensureOutput(2)];
  if (c.dtype(mean) !== dtype) [mean, invStd] = [g.cast(mean, dtype), g.cast(invStd, dtype)];
  const dy = c.dy()!;
  const xhat = g.mul(g.sub(x, mean), invStd);
  const dx = () => {
    const dxhat = g.mul(dy, scale);
    const m1 = c.reduce('ReduceMean', dxhat, axes, true);
    const m2 = c.reduce('ReduceMean', g.mul(dxhat, xhat), axes, true);
    return g.mul(g.sub(g.sub(dxhat, m1), g.mul(xhat, m2)), invStd);
  };
  return [
    c.wants(0) ? dx() : undefined,
    c.wants(1) ? c.sumToShape(g.mul(dy, xhat), scale) : undefined,
    bias && c.wants(2) ? c.sumToShape(dy, bias) : undefined,
  ];
};

export const NORMALIZATION_RULES: Record<string, GradientRule> = {
  LayerNormalization: layerNormalization,
};
