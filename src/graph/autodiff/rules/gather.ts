// Gather, GatherElements and GatherND: the backward is a scatter-add into zeros, ScatterElements
// with reduction='add' (opset >= 16), never OneHot (DESIGN.md). Not ScatterND: onnxruntime's CPU
// ScatterND (1.30, scatter_nd.cc) splits the updates over the intra-op threads with no
// synchronisation, so repeated indices (an embedding's repeated tokens, positions repeated over a
// batch) lose additions (an embedding gradient on 2 spinning threads: 72 of 200 runs), where
// ScatterElements, a serial loop there, lost none (test/graph/autodiff/scatter-race.test.ts). When
// the same parameter also gets a dense gradient (a tied LM head), the walker folds the dense sum in
// as the scatter's data instead of zeros. The Trainer takes such a scatter out of the run and adds
// the rows itself (row-scatters.ts).

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

/** Static element count of v, when its dims are all known. */
function staticCount(c: GradContext, v: Value): number | undefined {
  const d = c.dims(v);
  return d && d.every((x) => typeof x === 'number') ? (d as number[]).reduce((a, b) => a * b, 1) : undefined;
}

/** `dims` as an int64 value, with `free` (its entry -1 for Reshape, or a known size) at `axis`: a constant when the rest is static. */
function dimsWith(c: GradContext, of: Value, axis: number, free: number): Value {
  const g = c.g;
  const d = c.dims(of)!;
  if (d.every((x, i) => i === axis || typeof x === 'number')) return c.int64s(d.map((x, i) => (i === axis ? free : (x as number))));
  const shape = g.shape(of);
  const parts = [...(axis > 0 ? [g.slice(shape, [0], [axis])] : []), c.int64s([free]), ...(axis + 1 < d.length ? [g.slice(shape, [axis + 1], [d.length])] : [])];
  return parts.length === 1 ? parts[0]! : g.concat(parts, 0);
}

/**
 * Adds `updates` into `data` (zeros shaped like `like`, rank `rank`) at the positions `rows` [N]
 * along `axis`: ScatterElements with each index repeated across the other axes. `n`, when known,
 * is N, and `like`'s other dims then size the repeat without a Shape node.
 */
function scatterAdd(c: GradContext, data: Value, like: Value, rank: number, axis: number, rows: Value, updates: Value, n: number | undefined): Value {
  const g = c.g;
  const column = g.reshape(rows, Array.from({ length: rank }, (_, i) => (i === axis ? -1 : 1)));
  const target = n !== undefined ? dimsWith(c, like, axis, n) : g.shape(updates);
  return g.op1('ScatterElements', [data, g.op1('Expand', [column, target]), updates], { axis, reduction: 'add' });
}

const gather: GradientRule = (c) => {
  const g = c.g;
  const x = c.input(0);
  const rank = c.rank(x);
  const raw = c.attrInt('axis', 0);
  const axis = raw < 0 ? raw + rank : raw;
  const idx = wrapIndices(c, c.input(1), x, axis);
  const qRank = c.rank(c.input(1));
  // dy is x's shape with the index dims at `axis`: one axis of N indices for ScatterElements.
  let dy = c.dy()!;
  if (qRank === 0) dy = g.unsqueeze(dy, [axis]);
  else if (qRank > 1) dy = g.reshape(dy, dimsWith(c, x, axis, -1));
  const rows = qRank === 1 ? idx : g.reshape(idx, [-1]);
  return [scatterAdd(c, c.zerosLike(x), x, rank, axis, rows, dy, staticCount(c, c.input(1)))];
};

const gatherElements: GradientRule = (c) => {
  const x = c.input(0);
  const rank = c.rank(x);
  const raw = c.attrInt('axis', 0);
  const axis = raw < 0 ? raw + rank : raw;
  const idx = wrapIndices(c, c.input(1), x, axis);
  return [c.g.op1('ScatterElements', [c.zerosLike(x), idx, c.dy()!], { axis, reduction: 'add' })];
};

// GatherND (batch_dims 0; torch exports `x[torch.arange(B), last]` this way): indices [..., k]
// address x's first k axes. They become one row index into x viewed as [x0 * .. * x(k-1), rest..]
// (Horner: ((i0 * x1 + i1) * x2 + i2)..., each wrapped as GatherND allows negatives), and the
// gradient is that view's Gather backward, reshaped to x.
const gatherND: GradientRule = (c) => {
  if (c.attrInt('batch_dims', 0) !== 0) throw c.fail('only batch_dims = 0 is differentiable');
  const g = c.g;
  const x = c.input(0);
  const idx = c.input(1);
  const k = c.dims(idx)?.at(-1);
  if (typeof k !== 'number') throw c.fail('the last dimension of the indices (how many axes they address) must be static');
  const xd = c.dims(x)!;
  const rank = xd.length;
  const xShape = c.shapeOf(x);
  const size = xd.slice(0, k).map((d, j) => (typeof d === 'number' ? g.scalar(d, 'int64') : g.squeeze(g.slice(g.shape(x), [j], [j + 1]), [0])));
  let row: Value | undefined;
  for (let j = 0; j < k; j++) {
    const ij = g.squeeze(g.slice(idx, [j], [j + 1], [-1]), [-1]);
    const wrapped = g.where(g.less(ij, g.scalar(0, 'int64')), g.add(ij, size[j]!), ij);
    row = row === undefined ? wrapped : g.add(g.mul(row, size[j]!), wrapped);
  }
  const rest = xd.slice(k);
  const restStatic = rest.every((d) => typeof d === 'number');
  const rowsShape = restStatic ? c.int64s([-1, ...(rest as number[])]) : g.concat([c.int64s([-1]), g.slice(g.shape(x), [k], [rank])], 0);
  const updates = g.reshape(c.dy()!, rowsShape);
  const scattered = scatterAdd(c, g.reshape(c.zerosLike(x), rowsShape), x, 1 + rest.length, 0, g.reshape(row!, [-1]), updates, undefined);
  return [g.reshape(scattered, xShape)];
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
