// The reverse-mode walker, written once (tinygrad/micrograd style): which values lie on a path
// from a parameter to the differentiated value, topological order, the reverse sweep calling one
// rule per node, fan-out accumulation (Sum of contributions), and pruning of what is not needed.

import { fail } from '../../errors.js';
import { GraphBuilder, type Value } from '../builder.js';
import { isFloat } from '../dtypes.js';
import { onnxOpset, qualifiedOpType, type Graph, type Model, type Node } from '../ir.js';
import { createContext, sync, type WalkerState } from './context.js';
import { GRADIENT_RULES, NON_DIFFERENTIABLE, isStopGradient } from './registry.js';
import { createShapeEnv, typeOf } from './shapes.js';

/** ScatterND/ScatterElements with reduction='add' exist from opset 16. */
export const MIN_TRAINING_OPSET = 16;

export interface GradientOptions {
  /** Name of a graph input (added when missing) holding the seed gradient of a non-scalar `of`. */
  seed?: string;
  /** Told the value holding dL/dL, where every gradient of the backward starts (the recomputation rewrite orders by it). */
  onSeed?: (value: string) => void;
  /** Output names for the gradients (param -> name); default: whatever the rules produced. */
  names?: Map<string, string>;
}

/** A copy of the model whose graph can be rewritten without touching the caller's. */
export function copyModel(model: Model): Model {
  const g = model.graph;
  const graph: Graph = {
    ...g,
    nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } })),
    inputs: g.inputs.map((v) => ({ ...v })),
    outputs: g.outputs.map((v) => ({ ...v })),
    initializers: new Map(g.initializers),
    valueInfo: g.valueInfo.map((v) => ({ ...v })),
  };
  return { ...model, opsetImports: model.opsetImports.map((o) => ({ ...o })), graph, metadata: { ...model.metadata } };
}

/** Nodes in topological order (ONNX requires it; loss nodes appended by callers are checked too). */
function topologicalOrder(graph: Graph): Node[] {
  const ready = new Set<string>(['', ...graph.inputs.map((v) => v.name), ...graph.initializers.keys()]);
  const order: Node[] = [];
  // One sweep for a sorted graph; each further sweep places at least one more node.
  let pending = graph.nodes;
  while (pending.length > 0) {
    const later: Node[] = [];
    for (const n of pending) {
      if (n.inputs.every((v) => ready.has(v))) {
        order.push(n);
        for (const o of n.outputs) ready.add(o);
      } else later.push(n);
    }
    if (later.length === pending.length) {
      const n = later[0]!;
      const missing = n.inputs.filter((v) => !ready.has(v));
      throw fail('ALIGNKIT_ERR_ONNX_MODEL', `node '${n.name}' (${n.opType}) reads ${missing.join(', ')}, which no node, input or initializer provides (or a cycle)`, { node: n.name });
    }
    pending = later;
  }
  return order;
}

/** Raise the default-domain opset to one the backward ops exist in (13-15 -> 16 changes no op used here). */
function raiseOpset(model: Model): void {
  const opset = onnxOpset(model);
  if (opset < 13) throw fail('ALIGNKIT_ERR_ONNX_MODEL', `model opset ${opset} is below 13; autodiff supports opsets 13 and later (re-export the model)`, { opset });
  if (opset >= MIN_TRAINING_OPSET) return;
  const imp = model.opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')!;
  imp.version = MIN_TRAINING_OPSET;
  if (model.irVersion < 8) model.irVersion = 8;
}

/** Trace back from a node to a parameter for error messages: "param -> MatMul 'mm1' -> Foo 'x'". */
function pathToParam(node: Node, active: (v: string) => boolean, producers: Map<string, Node>, params: Set<string>): string {
  const chain: string[] = [`${node.opType} '${node.name}'`];
  let current: Node | undefined = node;
  for (let guard = 0; current && guard < 10_000; guard++) {
    const next: string | undefined = current.inputs.find((v) => active(v));
    if (next === undefined) break;
    if (params.has(next)) return [next, ...chain].join(' -> ');
    current = producers.get(next);
    if (current) chain.unshift(`${current.opType} '${current.name}'`);
  }
  return chain.join(' -> ');
}

/**
 * Append to `model` (mutated) the backward graph of `of` with respect to `wrt`; returns param ->
 * gradient value name. Use `gradientOf` for a copying version.
 */
export function appendGradients(model: Model, of: string, wrt: readonly string[], opts: GradientOptions = {}): Map<string, string> {
  raiseOpset(model);
  const graph = model.graph;
  const env = createShapeEnv(model);
  const ofType = typeOf(env, of);
  if (!ofType) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `value '${of}' to differentiate is not in graph ${graph.name}`, { value: of });
  if (!isFloat(ofType.dtype)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `value '${of}' is ${ofType.dtype}; only float values can be differentiated`, { value: of });
  // Rules write their constants as float32/float64 arrays; half-precision graphs would need a cast policy.
  if (ofType.dtype !== 'float32' && ofType.dtype !== 'float64')
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `value '${of}' is ${ofType.dtype}; training graphs are built in float32 or float64`, { value: of });
  for (const p of wrt) {
    const t = typeOf(env, p);
    if (!t) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `parameter '${p}' is not a value of graph ${graph.name}`, { parameter: p });
    if (!isFloat(t.dtype)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `parameter '${p}' is ${t.dtype}; only float values have gradients`, { parameter: p });
  }

  // Reachability: forward from the parameters through float values of differentiable ops,
  // backward from `of`; a value is active when it lies on both.
  const order = topologicalOrder(graph);
  const params = new Set(wrt);
  const fromParams = new Set(wrt);
  for (const n of order) {
    // Another domain's op passes gradients only when it has a rule (com.microsoft.FastGelu does).
    if ((n.domain && !GRADIENT_RULES[qualifiedOpType(n)]) || NON_DIFFERENTIABLE[n.opType] !== undefined || isStopGradient(n)) continue;
    if (!n.inputs.some((v) => fromParams.has(v))) continue;
    for (const o of n.outputs) if (o && isFloat(typeOf(env, o)?.dtype ?? 'float32')) fromParams.add(o);
  }
  const toOf = new Set([of]);
  for (let i = order.length - 1; i >= 0; i--) {
    const n = order[i]!;
    if (n.outputs.some((o) => toOf.has(o))) for (const v of n.inputs) if (v) toOf.add(v);
  }
  const active = (v: string) => fromParams.has(v) && toOf.has(v);
  const activeNodes = order.filter((n) => n.inputs.some(active) && n.outputs.some(active));

  const producers = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o) producers.set(o, n);
  for (const n of activeNodes) {
    if (!GRADIENT_RULES[qualifiedOpType(n)])
      throw fail(
        'ALIGNKIT_ERR_NO_GRADIENT_RULE',
        `no gradient rule for op ${n.domain ? `${n.domain}.` : ''}${n.opType} (node '${n.name}'), which lies between a trainable parameter and '${of}': ${pathToParam(n, active, producers, params)}`,
        { opType: n.opType, node: n.name, path: pathToParam(n, active, producers, params) },
      );
  }

  const g = new GraphBuilder({ graph, opset: onnxOpset(model) });
  const firstEmitted = graph.nodes.length;
  const initialInitializers = new Set(graph.initializers.keys());
  const state: WalkerState = { env, g, producers, synced: graph.nodes.length, zeros: new Set() };

  const contributions = new Map<string, Value[]>();
  const push = (v: string, grad: Value) => {
    const list = contributions.get(v);
    if (list) list.push(grad);
    else contributions.set(v, [grad]);
  };
  const accumulate = (v: string): Value | undefined => {
    const list = contributions.get(v);
    if (!list) return undefined;
    if (list.length > 1) contributions.set(v, [sumContributions(state, list)]);
    const total = contributions.get(v)![0]!;
    sync(state);
    // A gradient has its value's type, whatever inference made of the nodes that computed it.
    const vt = typeOf(env, v);
    if (vt && !graph.initializers.has(total) && !graph.inputs.some((i) => i.name === total)) env.types.set(total, { ...vt });
    return total;
  };

  const seed = seedGradient(model, state, of, opts.seed);
  opts.onSeed?.(seed);
  push(of, seed);
  for (let i = activeNodes.length - 1; i >= 0; i--) {
    const n = activeNodes[i]!;
    const dys = n.outputs.map((o) => (o && active(o) ? accumulate(o) : undefined));
    if (dys.every((d) => d === undefined)) continue;
    const wanted = n.inputs.map((v) => Boolean(v) && active(v));
    const grads = GRADIENT_RULES[qualifiedOpType(n)]!(createContext(state, n, dys, wanted));
    n.inputs.forEach((v, k) => {
      const grad = grads[k];
      if (grad !== undefined && wanted[k]) push(v, grad);
    });
  }

  const result = new Map<string, string>();
  for (const p of wrt) {
    const total = accumulate(p) ?? zerosFor(state, p);
    result.set(p, total);
  }
  prune(graph, firstEmitted, initialInitializers, new Set([...result.values(), ...graph.outputs.map((o) => o.name)]));
  if (opts.names) renameGradients(g, firstEmitted, result, opts.names);
  return result;
}

/** The seed dL/dL: ones for a scalar, or a caller-fed input for a non-scalar `of`. */
function seedGradient(model: Model, state: WalkerState, of: string, seed: string | undefined): Value {
  const t = typeOf(state.env, of)!;
  if (seed) {
    if (!model.graph.inputs.some((i) => i.name === seed)) state.g.input(seed, t.dtype, t.dims ?? []);
    return seed;
  }
  if (t.dims && t.dims.some((d) => d !== 1))
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `value '${of}' has shape [${t.dims.join(', ')}], not a scalar: pass a seed gradient input`, { value: of });
  const one = state.g.scalar(1, t.dtype);
  if (t.dims) return t.dims.length === 0 ? one : state.g.reshape(one, t.dims as number[]);
  return state.g.op1('Expand', [one, state.g.shape(of)]);
}

function zerosFor(state: WalkerState, p: string): Value {
  const t = typeOf(state.env, p)!;
  const shape = t.dims && t.dims.every((d) => typeof d === 'number') ? state.g.int64s(t.dims as number[]) : state.g.shape(p);
  return state.g.op1('ConstantOfShape', [shape], { value: { dtype: t.dtype, dims: [1], data: new (t.dtype === 'float64' ? Float64Array : Float32Array)(1) } });
}

/**
 * Fan-out: the gradient of a value read by several nodes is the Sum of the contributions. When
 * one contribution is a scatter-add into zeros (an embedding's Gather backward) the other
 * contributions become the scatter's data instead: a tied head's dense gradient is accumulated
 * into directly (DESIGN.md), with no zeros tensor and no extra Sum pass.
 */
function sumContributions(state: WalkerState, list: Value[]): Value {
  sync(state);
  const g = state.g;
  const scatterAt = list.findIndex((v) => {
    const p = state.producers.get(v);
    return p !== undefined && (p.opType === 'ScatterND' || p.opType === 'ScatterElements') && p.attrs.reduction?.value === 'add' && state.zeros.has(p.inputs[0]!);
  });
  if (scatterAt < 0) return g.op1('Sum', list);
  const scatter = state.producers.get(list[scatterAt]!)!;
  const rest = list.filter((_, i) => i !== scatterAt);
  const base = rest.length === 1 ? rest[0]! : g.op1('Sum', rest);
  return g.op1(scatter.opType, [base, scatter.inputs[1]!, scatter.inputs[2]!], { ...scatter.attrs });
}

/** Drop emitted nodes (and their constants) that nothing needed reads. Forward nodes stay. */
function prune(graph: Graph, firstEmitted: number, initialInitializers: Set<string>, roots: Set<string>): void {
  const live = new Set(roots);
  const emitted = graph.nodes.slice(firstEmitted);
  const kept: Node[] = [];
  for (let i = emitted.length - 1; i >= 0; i--) {
    const n = emitted[i]!;
    if (!n.outputs.some((o) => live.has(o))) continue;
    kept.push(n);
    for (const v of n.inputs) if (v) live.add(v);
  }
  for (const n of graph.nodes.slice(0, firstEmitted)) for (const v of n.inputs) live.add(v);
  graph.nodes.splice(firstEmitted, emitted.length, ...kept.reverse());
  for (const name of [...graph.initializers.keys()]) if (!initialInitializers.has(name) && !live.has(name)) graph.initializers.delete(name);
}

/** Give each gradient its requested name: rename the emitted value, or add an Identity. */
function renameGradients(g: GraphBuilder, firstEmitted: number, result: Map<string, string>, names: Map<string, string>): void {
  const graph = g.graph;
  const renamed = new Map<string, string>();
  for (const [param, value] of result) {
    const name = names.get(param);
    if (!name || name === value) continue;
    const taken = graph.inputs.some((v) => v.name === name) || graph.initializers.has(name) || graph.nodes.some((n) => n.outputs.includes(name));
    if (taken) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `gradient name '${name}' for parameter '${param}' is already a value of graph ${graph.name}`, { parameter: param, name });
    const emittedProducer = graph.nodes.slice(firstEmitted).find((n) => n.outputs.includes(value));
    if (emittedProducer && !renamed.has(value) && !graph.outputs.some((o) => o.name === value)) {
      for (const n of graph.nodes.slice(firstEmitted)) {
        n.inputs = n.inputs.map((v) => (v === value ? name : v));
        n.outputs = n.outputs.map((v) => (v === value ? name : v));
      }
      renamed.set(value, name);
    } else graph.nodes.push({ opType: 'Identity', inputs: [renamed.get(value) ?? value], outputs: [name], name: `${name}_identity`, domain: '', attrs: {} });
    result.set(param, name);
  }
}

/** Gradients of `of` with respect to `wrt`, appended to a copy of `model`. */
export function gradientOf(model: Model, of: string, wrt: string[], opts: GradientOptions = {}): { model: Model; gradients: Map<string, string> } {
  const copy = copyModel(model);
  const gradients = appendGradients(copy, of, wrt, opts);
  return { model: copy, gradients };
}
