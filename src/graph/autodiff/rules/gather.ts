// Gather and GatherElements: the backward is a scatter-add into zeros (ScatterND / ScatterElements
// with reduction='add', opset >= 16), never OneHot: DESIGN.md measured the embedding gradient by
// ScatterND at 0.5 ms. When the same parameter also gets a dense gradient (a tied LM head), the
// walker folds the dense sum in as the scatter's data instead of zeros.

import type { Value } from '../../builder.js';
import type { GradContext, GradientRule } from '../types.js';

/** Indices with negative entries wrapped (Gather allows them), unless they are known non-negative. */
function wrapIndices(c: GradContext, idx: Value, data: Value, axis: number): Value {
  const known = c.constInts(idx);
  if (known && known.every((v) => v >= 0)) return idx;
  const g = c.g;
  const d = c.dims(data)?.[axis];
  const dim = typeof d === 'number' ? c.g.scalar(d, 'int64') : g.squeeze(g.slice(g.shape(data), [axis], [axis + 1]), [0]);
  const int64 = c.dtype(idx) === 'int64' ? idx : g.cast(idx, 'int64');
  return g.where(g.less(int64, g.scalar(0, 'int64')), g.add(int64, dim), int64);
}

const gather: GradientRule = (c) => {
  const g = c.g;
  const x = c.input(0);
  const rank = c.rank(x);
  const raw = c.attrInt('axis', 0);
  const axis = raw < 0 ? raw + rank : raw;
  let idx = wrapIndices(c, c.input(1), x, axis);
  let dy = c.dy()!;
  let qRank = c.rank(c.input(1));
  if (qRank === 0) {
    // A scalar index removed the axis: restore it as a length-1 axis.
    idx = g.reshape(idx, [1]);
    dy = g.unsqueeze(dy, [axis]);
    qRank = 1;
  }
  const nd = g.unsqueeze(idx, [-1]); // [...q, 1]
  if (axis === 0) return [g.op1('ScatterND', [c.zerosLike(x), nd, dy], { reduction: 'add' })];
  // Move the gathered axis to the front: x' = [d_axis, d_0.., d_axis+1..], dy' = [q.., d_0.., d_axis+1..].
  const xPerm = [axis, ...Array.from({ length: rank }, (_, i) => i).filter((i) => i !== axis)];
  const dyRank = rank - 1 + qRank;
  const q = Array.from({ length: qRank }, (_, i) => axis + i);
  const dyPerm = [...q, ...Array.from({ length: dyRank }, (_, i) => i).filter((i) => i < axis || i >= axis + qRank)];
  const xd = c.dims(x)!;
  const permutedShape = xd.every((d) => typeof d === 'number') ? c.int64s(xPerm.map((p) => xd[p] as number)) : g.gather(g.shape(x), c.int64s(xPerm), 0);
  const scattered = g.op1('ScatterND', [c.zeros(permutedShape, c.dtype(x)), nd, g.transpose(dy, dyPerm)], { reduction: 'add' });
  const inverse = new Array<number>(rank);
  xPerm.forEach((p, i) => (inverse[p] = i));
  return [g.transpose(scattered, inverse)];
};

const gatherElements: GradientRule = (c) => {
  const x = c.input(0);
  const rank = c.rank(x);
  const raw = c.attrInt('axis', 0);
  const axis = raw < 0 ? raw + rank : raw;
  const idx = wrapIndices(c, c.input(1), x, axis);
  return [c.g.op1('ScatterElements', [c.zerosLike(x), idx, c.dy()!], { axis, reduction: 'add' })];
};

// GatherND (batch_dims 0; torch exports `x[torch.arange(B), last]` this way): the same indices
// scatter the gradient back. Negative indices are left as given (ScatterND accepts [-d, d-1]).
const gatherND: GradientRule = (c) => {
  if (c.attrInt('batch_dims', 0) !== 0) throw c.fail('only batch_dims = 0 is differentiable');
  return [c.g.op1('ScatterND', [c.zerosLike(c.input(0)), c.input(1), c.dy()!], { reduction: 'add' })];
};

// TopK: the values were gathered from x at the returned indices along `axis`.
const topK: GradientRule = (c) => {
  const rank = c.rank(c.input(0));
  const raw = c.attrInt('axis', -1);
  const axis = raw < 0 ? raw + rank : raw;
  return [c.g.op1('ScatterElements', [c.zerosLike(c.input(0)), c.output(1), c.dy()!], { axis, reduction: 'add' })];
};

export const GATHER_RULES: Record<string, GradientRule> = {
  Gather: gather,
  GatherElements: gatherElements,
  GatherND: gatherND,
  TopK: topK,
};
