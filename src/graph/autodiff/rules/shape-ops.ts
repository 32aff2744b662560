// Ops that move values without arithmetic: the gradient is moved back the same way.

import type { Value } from '../../builder.js';
import { dtypeFromOnnx, isFloat } from '../../dtypes.js';
import { normalizeSlice } from '../shapes.js';
import type { GradContext, GradientRule } from '../types.js';

/** An end index past any shape vector's length. */
const TO_END = 2 ** 31 - 1;

/** Reshape, Flatten, Unsqueeze, Squeeze (either form): the gradient takes the input's shape back. */
const reshapeBack: GradientRule = (c) => [c.g.reshape(c.dy()!, c.shapeOf(c.input(0)))];

const transpose: GradientRule = (c) => {
  const rank = c.rank(c.input(0));
  const perm = c.attrInts('perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const inverse = new Array<number>(rank);
  perm.forEach((p, i) => (inverse[p] = i));
  return [c.g.transpose(c.dy()!, inverse)];
};

const passThrough: GradientRule = (c) => [c.dy()!];

// Dropout in its inference form (no training_mode, or a constant false) is the identity.
const dropout: GradientRule = (c) => {
  const mode = c.input(2) ? c.constInts(c.input(2)) : [0];
  if (!mode || mode[0] !== 0) throw c.fail('only the inference form (training_mode absent or false) is differentiable');
  return [c.dy()!];
};

const cast: GradientRule = (c) => {
  const from = c.dtype(c.input(0));
  const to = dtypeFromOnnx(c.attrInt('to', 1));
  if (!isFloat(from) || !isFloat(to)) return [undefined];
  return [from === to ? c.dy()! : c.g.cast(c.dy()!, from)];
};

const expand: GradientRule = (c) => [c.sumToShape(c.dy()!, c.input(0))];

const trilu: GradientRule = (c) => {
  const k = c.input(1);
  return [c.g.trilu(c.dy()!, c.attrInt('upper', 1) === 1, k || undefined)];
};

/** Size of v along `axis` as a 1-D int64 tensor (static when known). */
function sizeAlong(c: GradContext, v: Value, axis: number): Value {
  const d = c.dims(v)?.[axis];
  if (typeof d === 'number') return c.int64s([d]);
  return c.g.slice(c.g.shape(v), [axis], [axis + 1]);
}

const concat: GradientRule = (c) => {
  const rank = c.rank(c.input(0));
  const raw = c.attrInt('axis', 0);
  const axis = raw < 0 ? raw + rank : raw;
  const sizes = c.node.inputs.map((x) => sizeAlong(c, x, axis));
  const sizesValue = sizes.every((s) => c.constInts(s)) ? c.int64s(sizes.map((s) => c.constInts(s)![0]!)) : c.g.concat(sizes, 0);
  const parts = c.g.op('Split', [c.dy()!, sizesValue], { axis }, { outputs: sizes.length });
  return parts.map((p, i) => (c.wants(i) ? p : undefined));
};

const split: GradientRule = (c) => {
  const rank = c.rank(c.input(0));
  const raw = c.attrInt('axis', 0);
  const axis = raw < 0 ? raw + rank : raw;
  return [c.g.concat(c.node.outputs.map((_, i) => c.dyOrZeros(i)), axis)];
};

// Slice: the gradient is embedded back into zeros. Unit steps become one Pad (static pads when the
// starts and dims are known, else computed from Shape at run time); other steps gather dy back
// through an index map with a zero slab at the end (static only).
const slice: GradientRule = (c) => {
  const g = c.g;
  const x = c.input(0);
  const rank = c.rank(x);
  const xd = c.dims(x)!;
  const starts = c.constInts(c.input(1));
  const ends = c.constInts(c.input(2));
  const n = starts?.length ?? c.dims(c.input(1))?.[0];
  if (typeof n !== 'number') throw c.fail('the number of sliced axes could not be inferred');
  const axes = (c.input(3) ? c.constInts(c.input(3)) : Array.from({ length: n }, (_, i) => i))?.map((a) => (a < 0 ? a + rank : a));
  const steps = c.input(4) ? c.constInts(c.input(4)) : new Array<number>(n).fill(1);
  if (!axes || !steps) throw c.fail('its axes and steps must be constants for the gradient');
  let dy = c.dy()!;
  const begin = new Array<Value | number>(rank).fill(0);
  const end = new Array<Value | number>(rank).fill(0);
  axes.forEach((a, i) => {
    const dim = xd[a];
    const [s, e, st] = [starts?.[i], ends?.[i], steps[i]!];
    if (typeof dim === 'number' && s !== undefined && e !== undefined) {
      const norm = normalizeSlice(dim, s, e, st);
      if (st === 1) {
        begin[a] = norm.start;
        end[a] = dim - norm.start - norm.count;
      } else dy = embedStrided(c, dy, a, dim, norm);
    } else {
      if (st !== 1) throw c.fail(`slice axis ${a} has step ${st} and a start or dim known only at run time`);
      const dimV = sizeAlong(c, x, a);
      const sV = g.slice(c.input(1), [i], [i + 1]);
      const wrapped = g.where(g.less(sV, c.int64s([0])), g.add(sV, dimV), sV);
      const b = g.min(g.max(wrapped, c.int64s([0])), dimV);
      begin[a] = b;
      end[a] = g.sub(g.sub(dimV, b), sizeAlong(c, dy, a));
    }
  });
  const pads = [...begin, ...end];
  if (pads.every((p) => p === 0)) return [dy];
  const padsValue = pads.every((p) => typeof p === 'number')
    ? c.int64s(pads as number[])
    : g.concat(pads.map((p) => (typeof p === 'number' ? c.int64s([p]) : p)), 0);
  return [g.op1('Pad', [dy, padsValue])];
};

/** Put dy (the strided selection along `axis`) back at its positions: Gather over [dy, zeros]. */
function embedStrided(c: GradContext, dy: Value, axis: number, dim: number, s: { start: number; step: number; count: number }): Value {
  const g = c.g;
  const map = Array.from({ length: dim }, () => s.count);
  for (let k = 0; k < s.count; k++) map[s.start + k * s.step] = k;
  const shape = g.shape(dy);
  const slabShape = g.concat([g.slice(shape, [0], [axis]), c.int64s([1]), g.slice(shape, [axis + 1], [TO_END])], 0);
  const padded = g.concat([dy, c.zeros(slabShape, c.dtype(dy))], axis);
  return g.gather(padded, c.int64s(map), axis);
}

// Pad (constant mode, non-negative static pads): the gradient is the un-padded window of dy,
// sliced with ends counted from the back so no shape is needed.
const pad: GradientRule = (c) => {
  if (c.attrString('mode', 'constant') !== 'constant') throw c.fail('only constant-mode Pad is differentiable');
  if (c.input(3)) throw c.fail('its axes input is not supported; pad every axis');
  const pads = c.constInts(c.input(1));
  if (!pads || pads.some((p) => p < 0)) throw c.fail('its pads must be constant and non-negative for the gradient');
  const rank = pads.length / 2;
  const begins = pads.slice(0, rank);
  const ends = pads.slice(rank).map((p) => (p > 0 ? -p : TO_END));
  return [c.g.slice(c.dy()!, begins, ends, Array.from({ length: rank }, (_, i) => i))];
};

// Tile with constant repeats r: view dy as [r0, d0, r1, d1, ...] and sum over the r axes.
const tile: GradientRule = (c) => {
  const g = c.g;
  const x = c.input(0);
  const repeats = c.constInts(c.input(1));
  if (!repeats) throw c.fail('its repeats must be constant for the gradient');
  const rank = repeats.length;
  const interleaved = g.concat(repeats.flatMap((r, i) => [c.int64s([r]), sizeAlong(c, x, i)]), 0);
  const summed = c.reduce('ReduceSum', g.reshape(c.dy()!, interleaved), Array.from({ length: rank }, (_, i) => 2 * i), false);
  return [summed];
};

export const SHAPE_RULES: Record<string, GradientRule> = {
  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Unsqueeze: reshapeBack,
  Squeeze: reshapeBack,
  Transpose: transpose,
  Identity: passThrough,
  Dropout: dropout,
  Cast: cast,
  Expand: expand,
  Trilu: trilu,
  Concat: concat,
  Split: split,
  Slice: slice,
  Pad: pad,
  Tile: tile,
};
