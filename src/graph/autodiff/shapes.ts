// Static shape and dtype inference over the IR, with symbolic dims ('batch', 'batch*seq'), enough
// for the ops the gradient rules meet. It exists so that broadcast axes, ranks and reshape targets
// are known when the backward graph is written, and the fast static forms can be emitted; what it
// cannot tell is left unknown (an unknown rank is `dims: undefined`; an unknown dim is a fresh
// token '?N', minted once and propagated, so two dims with the same token are the same run-time
// size) and the rules fall back to Shape-based forms at run time.
//
// Like ONNX's own shape inference it also propagates the *contents* of small integer tensors
// (Shape -> Gather -> Concat -> Reshape chains in torch exports), so a reshape target built from
// Shape ops still gives a static output shape.

import type { Dim, Model, Node } from '../ir.js';
import { onnxOpset, qualifiedOpType } from '../ir.js';
import { MAX_PROPAGATED, tensorInts, type ShapeEnv, type ValueType } from './dims.js';
import { INFER, type InferCtx, type Inferred } from './shape-rules.js';

export { isUnknownDim, sameDim, type ShapeEnv, type ValueType } from './dims.js';
export { normalizeSlice } from './shape-rules.js';

export function createShapeEnv(model: Model): ShapeEnv {
  const graph = model.graph;
  const env: ShapeEnv = { types: new Map(), values: new Map(), graph, opset: onnxOpset(model), unknownCounter: 0 };
  for (const v of [...graph.inputs, ...graph.valueInfo]) env.types.set(v.name, { dtype: v.dtype, dims: v.dims && [...v.dims] });
  for (const [name, t] of graph.initializers) {
    env.types.set(name, { dtype: t.dtype, dims: [...t.dims] });
    const ints = tensorInts(t);
    if (ints) env.values.set(name, ints);
  }
  for (const node of graph.nodes) inferNode(env, node);
  return env;
}

/** Type of a value, reading initializers added after the env was built. */
export function typeOf(env: ShapeEnv, name: string): ValueType | undefined {
  const t = env.types.get(name);
  if (t) return t;
  const init = env.graph.initializers.get(name);
  if (!init) return undefined;
  const vt = { dtype: init.dtype, dims: [...init.dims] };
  env.types.set(name, vt);
  const ints = tensorInts(init);
  if (ints) env.values.set(name, ints);
  return vt;
}

export function knownInts(env: ShapeEnv, name: string): Dim[] | undefined {
  if (!name) return undefined;
  typeOf(env, name);
  return env.values.get(name);
}

/** Known integer contents that are all numbers. */
export function constInts(env: ShapeEnv, name: string): number[] | undefined {
  const v = knownInts(env, name);
  return v && v.every((d) => typeof d === 'number') ? (v as number[]) : undefined;
}

/** Infer the output types of one node (appended or rewritten) into the env. */
export function inferNode(env: ShapeEnv, node: Node): void {
  const rule = INFER[qualifiedOpType(node)];
  const ctx: InferCtx = {
    env,
    node,
    opset: env.opset,
    in: (i) => (node.inputs[i] ? typeOf(env, node.inputs[i]!) : undefined),
    dims: (i) => (node.inputs[i] ? typeOf(env, node.inputs[i]!)?.dims : undefined),
    ints: (i) => knownInts(env, node.inputs[i] ?? ''),
    attrInt: (name, fallback) => {
      const a = node.attrs[name];
      return a && a.type === 'int' ? a.value : fallback;
    },
    attrInts: (name) => {
      const a = node.attrs[name];
      return a && a.type === 'ints' ? a.value : undefined;
    },
  };
  const result: Inferred = rule ? rule(ctx) : { types: [] };
  node.outputs.forEach((o, i) => {
    if (!o) return;
    const declared = env.types.get(o);
    const t = result.types[i];
    // A declared value_info type (from the file) wins when inference knows less.
    if (t && (t.dims || !declared)) env.types.set(o, t);
    else if (!declared) env.types.set(o, { dtype: 'float32', dims: undefined });
    const v = result.values?.[i];
    if (v && v.length <= MAX_PROPAGATED) env.values.set(o, v);
  });
}
