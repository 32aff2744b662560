// Per-op shape, dtype and integer-content inference: one small function per op type, in a table
// (INFER) that shapes.ts consults for every node.

import { DTYPES, dtypeFromOnnx, isFloat, type DType } from '../dtypes.js';
import type { Dim, Node, Tensor } from '../ir.js';
import {
  broadcastShapes, differenceDim, MAX_PROPAGATED, normAxis, productDim, quotientDim, sumDims, tensorInts, unknownDim,
  type ShapeEnv, type ValueType,
} from './dims.js';

export interface InferCtx {
  env: ShapeEnv;
  node: Node;
  in(i: number): ValueType | undefined;
  dims(i: number): Dim[] | undefined;
  ints(i: number): Dim[] | undefined;
  attrInt(name: string, fallback: number): number;
  attrInts(name: string): number[] | undefined;
  opset: number;
}

export type Inferred = { types: (ValueType | undefined)[]; values?: (Dim[] | undefined)[] };
export type InferRule = (c: InferCtx) => Inferred;

const sameAsInput = (i = 0): InferRule => (c) => ({ types: [c.in(i) && { ...c.in(i)! }] });
const boolBroadcast: InferRule = (c) => ({
  types: [{ dtype: 'bool', dims: broadcastShapes(c.env, c.node.inputs.map((_, i) => c.dims(i))) }],
});

function arithmetic(op: (a: number, b: number) => number, symbolic?: (a: Dim, b: Dim) => Dim | undefined): InferRule {
  return (c) => {
    const t = c.in(0);
    const dims = broadcastShapes(c.env, c.node.inputs.map((_, i) => c.dims(i)));
    const a = c.ints(0);
    const b = c.ints(1);
    let value: Dim[] | undefined;
    if (a && b && a.every((x) => typeof x === 'number') && b.every((x) => typeof x === 'number')) {
      const n = Math.max(a.length, b.length);
      if ((a.length === n || a.length === 1) && (b.length === n || b.length === 1))
        value = Array.from({ length: n }, (_, i) => op(a[a.length === 1 ? 0 : i] as number, b[b.length === 1 ? 0 : i] as number));
    } else if (symbolic && a?.length === 1 && b?.length === 1) {
      const v = symbolic(a[0]!, b[0]!);
      value = v === undefined ? undefined : [v];
    }
    return { types: [t && { dtype: t.dtype, dims }], values: [value] };
  };
}

function reduceAxes(c: InferCtx, inputFormSince: number): number[] | undefined | 'unknown' {
  if (c.opset >= inputFormSince) {
    if (!c.node.inputs[1]) return undefined;
    const v = c.ints(1);
    return v && v.every((x) => typeof x === 'number') ? (v as number[]) : 'unknown';
  }
  return c.attrInts('axes');
}

function reduction(inputFormSince: number): InferRule {
  return (c) => {
    const t = c.in(0);
    if (!t) return { types: [undefined] };
    const keep = c.attrInt('keepdims', 1) === 1;
    const axes = reduceAxes(c, inputFormSince);
    if (!t.dims || axes === 'unknown') return { types: [{ dtype: t.dtype, dims: undefined }] };
    const rank = t.dims.length;
    const noop = c.attrInt('noop_with_empty_axes', 0) === 1;
    if ((axes === undefined || axes.length === 0) && noop) return { types: [{ ...t }] };
    const set = new Set(axes === undefined || axes.length === 0 ? t.dims.map((_, i) => i) : axes.map((a) => normAxis(a, rank)));
    const dims: Dim[] = [];
    t.dims.forEach((d, i) => {
      if (!set.has(i)) dims.push(d);
      else if (keep) dims.push(1);
    });
    return { types: [{ dtype: t.dtype, dims }] };
  };
}

const matMul: InferRule = (c) => {
  const a = c.dims(0);
  const b = c.dims(1);
  const dtype = c.in(0)?.dtype ?? 'float32';
  if (!a || !b) return { types: [{ dtype }] };
  const a2 = a.length === 1 ? [1, a[0]!] : a;
  const b2 = b.length === 1 ? [b[0]!, 1] : b;
  const batch = broadcastShapes(c.env, [a2.slice(0, -2), b2.slice(0, -2)])!;
  const dims = [...batch, ...(a.length === 1 ? [] : [a2[a2.length - 2]!]), ...(b.length === 1 ? [] : [b2[b2.length - 1]!])];
  return { types: [{ dtype, dims }] };
};

const gemm: InferRule = (c) => {
  const a = c.dims(0);
  const b = c.dims(1);
  const dtype = c.in(0)?.dtype ?? 'float32';
  if (!a || !b) return { types: [{ dtype, dims: undefined }] };
  const m = c.attrInt('transA', 0) ? a[1]! : a[0]!;
  const n = c.attrInt('transB', 0) ? b[0]! : b[1]!;
  return { types: [{ dtype, dims: [m, n] }] };
};

const reshape: InferRule = (c) => {
  const t = c.in(0);
  const target = c.ints(1);
  if (!t || !target) return { types: [t && { dtype: t.dtype }] };
  const allowZero = c.attrInt('allowzero', 0) === 1;
  const dims = target.map((d, i) => (d === 0 && !allowZero ? t.dims?.[i] ?? unknownDim(c.env) : d));
  const hole = dims.indexOf(-1);
  if (hole >= 0) {
    const rest = dims.filter((_, i) => i !== hole);
    const q = t.dims ? quotientDim(t.dims, rest) : undefined;
    dims[hole] = q ?? unknownDim(c.env);
  }
  return { types: [{ dtype: t.dtype, dims }], values: [c.ints(0)] };
};

const flatten: InferRule = (c) => {
  const t = c.in(0);
  if (!t?.dims) return { types: [t && { dtype: t.dtype }] };
  const axis = normAxis(c.attrInt('axis', 1), t.dims.length);
  return { types: [{ dtype: t.dtype, dims: [productDim(t.dims.slice(0, axis)), productDim(t.dims.slice(axis))] }] };
};

const transpose: InferRule = (c) => {
  const t = c.in(0);
  if (!t?.dims) return { types: [t && { dtype: t.dtype }] };
  const perm = c.attrInts('perm') ?? t.dims.map((_, i) => t.dims!.length - 1 - i);
  return { types: [{ dtype: t.dtype, dims: perm.map((p) => t.dims![p]!) }] };
};

function axesOf(c: InferCtx): number[] | undefined {
  if (c.opset >= 13) {
    const v = c.ints(1);
    return v && v.every((x) => typeof x === 'number') ? (v as number[]) : undefined;
  }
  return c.attrInts('axes');
}

const unsqueeze: InferRule = (c) => {
  const t = c.in(0);
  const axes = axesOf(c);
  if (!t?.dims || !axes) return { types: [t && { dtype: t.dtype }] };
  const rank = t.dims.length + axes.length;
  const set = new Set(axes.map((a) => normAxis(a, rank)));
  const dims: Dim[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) dims.push(set.has(i) ? 1 : t.dims[j++]!);
  const v = c.ints(0);
  return { types: [{ dtype: t.dtype, dims }], values: [v] };
};

const squeeze: InferRule = (c) => {
  const t = c.in(0);
  if (!t?.dims) return { types: [t && { dtype: t.dtype }] };
  const hasAxes = c.opset >= 13 ? Boolean(c.node.inputs[1]) : c.attrInts('axes') !== undefined;
  const axes = hasAxes ? axesOf(c) : t.dims.flatMap((d, i) => (d === 1 ? [i] : []));
  if (!axes) return { types: [{ dtype: t.dtype }] };
  const set = new Set(axes.map((a) => normAxis(a, t.dims!.length)));
  return { types: [{ dtype: t.dtype, dims: t.dims.filter((_, i) => !set.has(i)) }], values: [c.ints(0)] };
};

const concat: InferRule = (c) => {
  const ts = c.node.inputs.map((_, i) => c.in(i));
  const dtype = ts.find(Boolean)?.dtype ?? 'float32';
  const all = c.node.inputs.map((_, i) => c.ints(i));
  const values = all.every(Boolean) ? [all.flatMap((v) => v!)] : undefined;
  if (ts.some((t) => !t?.dims)) return { types: [{ dtype }], values };
  const rank = ts[0]!.dims!.length;
  const axis = normAxis(c.attrInt('axis', 0), rank);
  const dims = [...ts[0]!.dims!];
  dims[axis] = sumDims(ts.map((t) => t!.dims![axis]!));
  return { types: [{ dtype, dims }], values };
};

const split: InferRule = (c) => {
  const t = c.in(0);
  const n = c.node.outputs.length;
  if (!t?.dims) return { types: c.node.outputs.map(() => t && { dtype: t.dtype }) };
  const axis = normAxis(c.attrInt('axis', 0), t.dims.length);
  const given = c.opset >= 13 ? (c.node.inputs[1] ? c.ints(1) : undefined) : c.attrInts('split');
  const total = t.dims[axis]!;
  let sizes: Dim[] | undefined = given;
  if (!sizes && typeof total === 'number') {
    const each = Math.ceil(total / n);
    sizes = Array.from({ length: n }, (_, i) => Math.min(each, total - each * i));
  }
  return {
    types: c.node.outputs.map((_, i) => {
      const dims = [...t.dims!];
      dims[axis] = sizes?.[i] ?? unknownDim(c.env);
      return { dtype: t.dtype, dims };
    }),
  };
};

/** ONNX Slice semantics for one axis with a static dim: [start, stop, step] after clamping. */
export function normalizeSlice(dim: number, start: number, end: number, step: number): { start: number; end: number; step: number; count: number } {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clamp(s, 0, dim);
    e = clamp(e, 0, dim);
  } else {
    s = clamp(s, 0, dim - 1);
    e = clamp(e, -1, dim - 1);
  }
  const count = Math.max(0, Math.ceil((e - s) / step));
  return { start: s, end: e, step, count };
}

/**
 * Length of a unit-step slice of a symbolic dim, assuming (as onnxruntime's symbolic shape
 * inference does) that the dim is at least as long as the constant offsets: x[s:], x[s:-k], x[-k:],
 * x[s:e].
 */
function symbolicSliceDim(d: Dim, s: Dim | undefined, e: Dim | undefined, step: Dim): Dim | undefined {
  if (typeof s !== 'number' || typeof e !== 'number' || step !== 1) return undefined;
  const toEnd = e >= 2 ** 31 - 1;
  if (s >= 0 && toEnd) return s === 0 ? d : sumDims([d, -s]);
  if (s >= 0 && e < 0) return sumDims([d, e - s]);
  if (s < 0 && toEnd) return -s;
  if (s < 0 && e < 0) return Math.max(0, e - s);
  if (s >= 0 && e >= 0) return Math.max(0, e - s);
  return undefined;
}

const slice: InferRule = (c) => {
  const t = c.in(0);
  const starts = c.ints(1);
  const ends = c.ints(2);
  const axesV = c.node.inputs[3] ? c.ints(3) : undefined;
  const stepsV = c.node.inputs[4] ? c.ints(4) : undefined;
  const known = starts && ends && (!c.node.inputs[3] || axesV) && (!c.node.inputs[4] || stepsV);
  if (!t?.dims || !known) return { types: [t && { dtype: t.dtype, dims: t.dims?.map(() => unknownDim(c.env)) }] };
  const rank = t.dims.length;
  const dims = [...t.dims];
  const axes = (axesV ?? starts.map((_, i) => i)) as number[];
  let value = c.ints(0);
  for (let i = 0; i < axes.length; i++) {
    const a = normAxis(axes[i]!, rank);
    const d = t.dims[a]!;
    const [s, e, st] = [starts[i], ends[i], stepsV?.[i] ?? 1];
    if (typeof d === 'number' && typeof s === 'number' && typeof e === 'number' && typeof st === 'number') {
      const n = normalizeSlice(d, s, e, st);
      dims[a] = n.count;
      if (value && rank === 1) value = Array.from({ length: n.count }, (_, k) => value![n.start + k * n.step]!);
    } else {
      dims[a] = symbolicSliceDim(d, s, e, st) ?? unknownDim(c.env);
      value = undefined;
    }
  }
  return { types: [{ dtype: t.dtype, dims }], values: [value] };
};

const expand: InferRule = (c) => {
  const t = c.in(0);
  const shape = c.ints(1);
  const rank = c.dims(1)?.[0];
  if (!t) return { types: [undefined] };
  if (!shape) return { types: [{ dtype: t.dtype, dims: typeof rank === 'number' && t.dims ? Array.from({ length: Math.max(rank, t.dims.length) }, () => unknownDim(c.env)) : undefined }] };
  return { types: [{ dtype: t.dtype, dims: broadcastShapes(c.env, [t.dims, shape]) }] };
};

const gather: InferRule = (c) => {
  const t = c.in(0);
  const idx = c.dims(1);
  if (!t?.dims || !idx) return { types: [t && { dtype: t.dtype }] };
  const axis = normAxis(c.attrInt('axis', 0), t.dims.length);
  const dims = [...t.dims.slice(0, axis), ...idx, ...t.dims.slice(axis + 1)];
  const data = c.ints(0);
  const ii = c.ints(1);
  let value: Dim[] | undefined;
  if (data && ii && t.dims.length === 1 && ii.every((x) => typeof x === 'number'))
    value = (ii as number[]).map((k) => data[k < 0 ? k + data.length : k]!);
  return { types: [{ dtype: t.dtype, dims }], values: [value] };
};

const shapeOp: InferRule = (c) => {
  const t = c.in(0);
  if (!t?.dims) return { types: [{ dtype: 'int64', dims: [unknownDim(c.env)] }] };
  const rank = t.dims.length;
  const start = normAxis(c.attrInt('start', 0), rank);
  const endAttr = c.node.attrs.end ? normAxis(c.attrInt('end', rank), rank) : rank;
  const value = t.dims.slice(Math.max(0, start), Math.min(rank, endAttr));
  return { types: [{ dtype: 'int64', dims: [value.length] }], values: [value] };
};

const sizeOp: InferRule = (c) => {
  const t = c.in(0);
  return { types: [{ dtype: 'int64', dims: [] }], values: [t?.dims ? [productDim(t.dims)] : undefined] };
};

function tensorOfAttr(node: Node): Tensor | undefined {
  const a = node.attrs.value;
  return a && a.type === 'tensor' ? a.value : undefined;
}

const constantOp: InferRule = (c) => {
  const t = tensorOfAttr(c.node);
  if (t) return { types: [{ dtype: t.dtype, dims: [...t.dims] }], values: [tensorInts(t)] };
  const a = Object.entries(c.node.attrs)[0];
  if (!a) return { types: [undefined] };
  const [name, attr] = a;
  if (name === 'value_float') return { types: [{ dtype: 'float32', dims: [] }] };
  if (name === 'value_floats') return { types: [{ dtype: 'float32', dims: [(attr.value as number[]).length] }] };
  if (name === 'value_int') return { types: [{ dtype: 'int64', dims: [] }], values: [[attr.value as number]] };
  if (name === 'value_ints') return { types: [{ dtype: 'int64', dims: [(attr.value as number[]).length] }], values: [attr.value as number[]] };
  return { types: [undefined] };
};

const constantOfShape: InferRule = (c) => {
  const t = tensorOfAttr(c.node);
  const dtype = t?.dtype ?? 'float32';
  const shape = c.ints(0);
  const len = c.dims(0)?.[0];
  const dims = shape ?? (typeof len === 'number' ? Array.from({ length: len }, () => unknownDim(c.env)) : undefined);
  return { types: [{ dtype, dims }] };
};

const cast: InferRule = (c) => {
  const to = dtypeFromOnnx(c.attrInt('to', DTYPES.float32.onnx));
  return { types: [{ dtype: to, dims: c.dims(0) }], values: [isFloat(to) ? undefined : c.ints(0)] };
};

const layerNorm: InferRule = (c) => {
  const t = c.in(0);
  if (!t) return { types: [undefined, undefined, undefined] };
  const stash: DType = c.attrInt('stash_type', 1) === 1 ? 'float32' : t.dtype;
  const stats = t.dims && (() => {
    const axis = normAxis(c.attrInt('axis', -1), t.dims.length);
    return t.dims.map((d, i) => (i < axis ? d : 1));
  })();
  return { types: [{ ...t }, { dtype: stash, dims: stats }, { dtype: stash, dims: stats }] };
};

const whereOp: InferRule = (c) => ({
  types: [{ dtype: c.in(1)?.dtype ?? c.in(2)?.dtype ?? 'float32', dims: broadcastShapes(c.env, [c.dims(0), c.dims(1), c.dims(2)]) }],
});

const variadic: InferRule = (c) => ({
  types: [{ dtype: c.in(0)?.dtype ?? 'float32', dims: broadcastShapes(c.env, c.node.inputs.map((_, i) => c.dims(i))) }],
});

const pad: InferRule = (c) => {
  const t = c.in(0);
  const pads = c.ints(1);
  if (!t?.dims || !pads || c.node.inputs[3]) return { types: [t && { dtype: t.dtype, dims: t.dims?.map(() => unknownDim(c.env)) }] };
  const r = t.dims.length;
  const dims = t.dims.map((d, i) => {
    const [b, e] = [pads[i], pads[i + r]];
    return typeof d === 'number' && typeof b === 'number' && typeof e === 'number' ? d + b + e : b === 0 && e === 0 ? d : unknownDim(c.env);
  });
  return { types: [{ dtype: t.dtype, dims }] };
};

const range: InferRule = (c) => {
  const [s, l, d] = [c.ints(0), c.ints(1), c.ints(2)];
  const dtype = c.in(0)?.dtype ?? 'int64';
  if (s && l && d && [s[0], l[0], d[0]].every((x) => typeof x === 'number')) {
    const [a, b, st] = [s[0] as number, l[0] as number, d[0] as number];
    const n = Math.max(0, Math.ceil((b - a) / st));
    return { types: [{ dtype, dims: [n] }], values: [n <= MAX_PROPAGATED ? Array.from({ length: n }, (_, i) => a + i * st) : undefined] };
  }
  // Range(start, limit, 1) with symbolic bounds (positions from Shape): length limit - start.
  const length = s?.length === 1 && l?.length === 1 && d?.[0] === 1 ? differenceDim(l[0]!, s[0]!) : undefined;
  if (length !== undefined) return { types: [{ dtype, dims: [length] }] };
  return { types: [{ dtype, dims: [unknownDim(c.env)] }] };
};

const argReduce: InferRule = (c) => {
  const t = c.in(0);
  if (!t?.dims) return { types: [{ dtype: 'int64' }] };
  const axis = normAxis(c.attrInt('axis', 0), t.dims.length);
  const keep = c.attrInt('keepdims', 1) === 1;
  const dims = t.dims.flatMap((d, i) => (i !== axis ? [d] : keep ? [1] : []));
  return { types: [{ dtype: 'int64', dims }] };
};

const identity: InferRule = (c) => ({ types: [c.in(0) && { ...c.in(0)! }], values: [c.ints(0)] });

const dropout: InferRule = (c) => ({ types: [c.in(0) && { ...c.in(0)! }, { dtype: 'bool', dims: c.dims(0) }] });

const UNARY_SAME = [
  'Neg', 'Abs', 'Exp', 'Log', 'Sqrt', 'Reciprocal', 'Tanh', 'Erf', 'Sigmoid', 'Softplus', 'Relu', 'Sin', 'Cos', 'Sign',
  'Floor', 'Ceil', 'Round', 'Softmax', 'LogSoftmax', 'Gelu', 'Clip', 'LeakyRelu', 'Trilu', 'CumSum', 'HardSigmoid', 'Elu',
  'com.microsoft.FastGelu',
];

export const INFER: Record<string, InferRule> = {
  ...Object.fromEntries(UNARY_SAME.map((op) => [op, sameAsInput(0)])),
  Identity: identity,
  Dropout: dropout,
  Not: (c) => ({ types: [{ dtype: 'bool', dims: c.dims(0) }] }),
  IsNaN: (c) => ({ types: [{ dtype: 'bool', dims: c.dims(0) }] }),
  IsInf: (c) => ({ types: [{ dtype: 'bool', dims: c.dims(0) }] }),
  Add: arithmetic((a, b) => a + b, (a, b) => sumDims([a, b])),
  Sub: arithmetic((a, b) => a - b, differenceDim),
  Mul: arithmetic((a, b) => a * b),
  Div: arithmetic((a, b) => Math.trunc(a / b)),
  Pow: (c) => ({ types: [c.in(0) && { dtype: c.in(0)!.dtype, dims: broadcastShapes(c.env, [c.dims(0), c.dims(1)]) }] }),
  Mod: arithmetic((a, b) => a % b),
  Equal: boolBroadcast, Less: boolBroadcast, Greater: boolBroadcast, LessOrEqual: boolBroadcast, GreaterOrEqual: boolBroadcast,
  And: boolBroadcast, Or: boolBroadcast, Xor: boolBroadcast,
  Where: whereOp,
  Min: variadic, Max: variadic, Sum: variadic, Mean: variadic,
  Tile: (c) => {
    const t = c.in(0);
    const reps = c.ints(1);
    if (!t?.dims || !reps) return { types: [t && { dtype: t.dtype }] };
    return { types: [{ dtype: t.dtype, dims: t.dims.map((d, i) => (reps[i] === 1 ? d : productDim([d, reps[i]!]))) }] };
  },
  TopK: (c) => {
    const t = c.in(0);
    const k = c.ints(1)?.[0];
    if (!t?.dims) return { types: [t && { dtype: t.dtype }, { dtype: 'int64' }] };
    const axis = normAxis(c.attrInt('axis', -1), t.dims.length);
    const dims = t.dims.map((d, i) => (i === axis ? k ?? unknownDim(c.env) : d));
    return { types: [{ dtype: t.dtype, dims }, { dtype: 'int64', dims }] };
  },
  MatMul: matMul,
  Gemm: gemm,
  ReduceSum: reduction(13),
  ReduceMean: reduction(18), ReduceMax: reduction(18), ReduceMin: reduction(18), ReduceProd: reduction(18),
  ReduceLogSumExp: reduction(18), ReduceSumSquare: reduction(18), ReduceL1: reduction(18), ReduceL2: reduction(18),
  ArgMax: argReduce, ArgMin: argReduce,
  LayerNormalization: layerNorm,
  Reshape: reshape,
  Flatten: flatten,
  Transpose: transpose,
  Unsqueeze: unsqueeze,
  Squeeze: squeeze,
  Concat: concat,
  Split: split,
  Slice: slice,
  Expand: expand,
  Gather: gather,
  GatherElements: (c) => ({ types: [c.in(0) && { dtype: c.in(0)!.dtype, dims: c.dims(1) }] }),
  GatherND: (c) => {
    const [data, idx] = [c.dims(0), c.dims(1)];
    const last = idx?.[idx.length - 1];
    const ok = data && idx && typeof last === 'number' && c.attrInt('batch_dims', 0) === 0;
    return { types: [c.in(0) && { dtype: c.in(0)!.dtype, dims: ok ? [...idx.slice(0, -1), ...data.slice(last)] : undefined }] };
  },
  ScatterElements: sameAsInput(0),
  ScatterND: sameAsInput(0),
  Pad: pad,
  Shape: shapeOp,
  Size: sizeOp,
  Constant: constantOp,
  ConstantOfShape: constantOfShape,
  Cast: cast,
  Range: range,
  NonZero: (c) => ({ types: [{ dtype: 'int64', dims: c.dims(0) ? [c.dims(0)!.length, unknownDim(c.env)] : undefined }] }),
};

