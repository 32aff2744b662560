// The rule context: how a gradient rule sees its node, the gradients reaching it, the static
// shapes, and the helpers written once for every rule (broadcast reduction above all).

import { fail } from '../../errors.js';
import type { GraphBuilder, Value } from '../builder.js';
import { isFloat, type DType } from '../dtypes.js';
import type { Node } from '../ir.js';
import { constInts, inferNode, sameDim, typeOf, type ShapeEnv } from './shapes.js';
import type { GradContext } from './types.js';

/** What the walker shares with every rule context. */
export interface WalkerState {
  env: ShapeEnv;
  g: GraphBuilder;
  /** value -> producing node, kept current as nodes are appended. */
  producers: Map<string, Node>;
  /** Number of graph nodes already typed and indexed. */
  synced: number;
  /** Values created by zerosLike (a scatter into them may be rewritten to accumulate elsewhere). */
  zeros: Set<string>;
}

/** Type and index every node appended since the last sync. */
export function sync(state: WalkerState): void {
  const nodes = state.g.graph.nodes;
  for (; state.synced < nodes.length; state.synced++) {
    const n = nodes[state.synced]!;
    inferNode(state.env, n);
    for (const o of n.outputs) if (o) state.producers.set(o, n);
  }
}

export function createContext(
  state: WalkerState,
  node: Node,
  dys: (Value | undefined)[],
  wanted: boolean[],
): GradContext {
  const { g, env } = state;
  const where = `${node.opType} node '${node.name}'`;
  const typeOfValue = (v: Value) => {
    sync(state);
    return typeOf(env, v);
  };
  const attr = node.attrs;
  const floatDtype = (): DType => {
    for (const v of [...node.outputs, ...node.inputs]) {
      const t = v ? typeOfValue(v) : undefined;
      if (t && isFloat(t.dtype)) return t.dtype;
    }
    return 'float32';
  };

  const ctx: GradContext = {
    node,
    g,
    opset: env.opset,
    input: (i) => node.inputs[i] ?? '',
    output: (i) => node.outputs[i] ?? '',
    ensureOutput(i) {
      if (node.outputs[i]) return node.outputs[i]!;
      while (node.outputs.length <= i) node.outputs.push('');
      node.outputs[i] = g.fresh(`${node.name || node.opType}_out${i}`);
      inferNode(env, node);
      state.producers.set(node.outputs[i]!, node);
      return node.outputs[i]!;
    },
    dy: (i = 0) => dys[i],
    dyOrZeros: (i) => dys[i] ?? ctx.zerosLike(node.outputs[i]!),
    wants: (i) => wanted[i] ?? false,
    attrInt: (name, fallback) => (attr[name]?.type === 'int' ? (attr[name]!.value as number) : fallback),
    attrFloat: (name, fallback) => (attr[name]?.type === 'float' ? (attr[name]!.value as number) : fallback),
    attrInts: (name) => (attr[name]?.type === 'ints' ? (attr[name]!.value as number[]) : undefined),
    attrString: (name, fallback) => (attr[name]?.type === 'string' ? (attr[name]!.value as string) : fallback),
    dims: (v) => typeOfValue(v)?.dims,
    rank(v) {
      const d = typeOfValue(v)?.dims;
      if (!d) throw ctx.fail(`the rank of '${v}' could not be inferred statically; the gradient needs it (give the model's inputs a rank or value_info)`);
      return d.length;
    },
    dtype: (v) => typeOfValue(v)?.dtype ?? floatDtype(),
    constInts: (v) => {
      sync(state);
      return constInts(env, v);
    },
    scalar: (x) => g.scalar(x, floatDtype()),
    int64s: (values) => g.int64s(values),
    shapeOf(v) {
      const d = typeOfValue(v)?.dims;
      if (d && d.every((x) => typeof x === 'number')) return g.int64s(d as number[]);
      return g.op1('Shape', [v]);
    },
    sumToShape: (grad, like) => sumToShape(ctx, grad, like),
    zerosLike: (v) => ctx.zeros(ctx.shapeOf(v), ctx.dtype(v)),
    zeros(shape, dtype) {
      const z = g.op1('ConstantOfShape', [shape], { value: { dtype, dims: [1], data: new (dtype === 'float64' ? Float64Array : Float32Array)(1) } });
      state.zeros.add(z);
      return z;
    },
    isZeros: (v) => state.zeros.has(v),
    reduce(op, x, axes, keepdims) {
      const attrs = { keepdims: keepdims ? 1 : 0 };
      if (axes === undefined) return g.op1(op, [x], attrs);
      const inputForm = op === 'ReduceSum' ? env.opset >= 13 : env.opset >= 18;
      return inputForm ? g.op1(op, [x, g.int64s(axes)], attrs) : g.op1(op, [x], { ...attrs, axes });
    },
    producer(v) {
      sync(state);
      return state.producers.get(v);
    },
    fail: (message) =>
      fail('ALIGNKIT_ERR_NO_GRADIENT_RULE', `gradient of ${where}: ${message}`, { node: node.name, opType: node.opType }),
  };
  return ctx;
}

/**
 * Broadcast reduction, written once: the gradient of an input that was broadcast is the sum of the
 * output gradient over the broadcast axes. Static when the shapes tell which axes broadcast
 * (rank-aligned or trailing-dim bias adds); otherwise the axes are found at run time by comparing
 * Shape(grad) with Shape(like) left-padded with ones.
 */
function sumToShape(ctx: GradContext, grad: Value, like: Value): Value {
  const gd = ctx.dims(grad);
  const xd = ctx.dims(like);
  if (gd && xd && gd.length >= xd.length) {
    const lead = gd.length - xd.length;
    const axes: number[] = [];
    let ambiguous = false;
    gd.forEach((y, i) => {
      if (i < lead) return axes.push(i);
      const x = xd[i - lead]!;
      if (x === 1) {
        if (y !== 1) axes.push(i);
      } else if (!sameDim(x, y)) ambiguous = true;
    });
    if (!ambiguous) {
      if (axes.length === 0) return grad;
      if (axes.every((a) => a < lead)) return ctx.reduce('ReduceSum', grad, axes, false);
      const r = ctx.reduce('ReduceSum', grad, axes, true);
      return lead > 0 ? ctx.g.reshape(r, ctx.shapeOf(like)) : r;
    }
  }
  return runtimeSumToShape(ctx, grad, like);
}

function runtimeSumToShape(ctx: GradContext, grad: Value, like: Value): Value {
  const g = ctx.g;
  const sx = g.shape(like);
  const sy = g.shape(grad);
  const padLen = g.reshape(g.sub(g.op1('Size', [sy]), g.op1('Size', [sx])), [1]);
  const ones = g.op1('ConstantOfShape', [padLen], { value: { dtype: 'int64', dims: [1], data: BigInt64Array.of(1n) } });
  const padded = g.concat([ones, sx], 0);
  const axes = g.reshape(g.op1('NonZero', [g.not(g.equal(padded, sy))]), [-1]);
  const summed = g.op1('ReduceSum', [grad, axes], { keepdims: 1, noop_with_empty_axes: 1 });
  return g.reshape(summed, sx);
}
