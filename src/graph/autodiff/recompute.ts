// Activation recomputation ("gradient checkpointing", Chen et al. 2016, "Training Deep Nets with
// Sublinear Memory Cost") as a rewrite of a one-run training graph. The forward keeps only its
// checkpoints, the residual stream between transformer sub-blocks; every other forward activation
// the backward reads is computed a second time by a copy of the forward nodes that produce it, fed
// from the checkpoints, and the backward reads the copy. The originals then die inside the forward,
// so at any time only the checkpoints plus one segment's recomputed activations are alive, for
// about one extra forward of compute.
//
// Two facts of onnxruntime make it work as a plain graph rewrite:
//  - its execution order follows node indices where dependencies allow (a depth-first post-order
//    from the outputs that visits producers by index): a copy placed right before the first backward
//    node reading it runs after the backward of every later segment, i.e. each segment is recomputed
//    right before its own backward;
//  - its common-subexpression elimination would merge each copy back into its original (same op,
//    same inputs), so the session must run with it disabled (`sessionOptions` below).
//
// Checkpoints are found from the graph's shape, not from names: a value of the activation stream
// (it depends on input_ids) that feeds an Add whose other operand depends on it through a MatMul or
// Gemm, i.e. x in x + f(x) with f holding weights: the input of each residual sub-block.
// Values that do not depend on the tokens (masks, rotary tables) are kept as they are.

import { fail } from '../../errors.js';
import type { Model, Node } from '../ir.js';
import type { SessionOptions } from '../runtime.js';
import { isFloat } from '../dtypes.js';
import { createShapeEnv, typeOf } from './shapes.js';
import type { TrainingGraph } from './training-graph.js';
import { copyModel } from './walker.js';

export interface RecomputedTraining extends TrainingGraph {
  /** What onnxruntime must be told for the recomputation to survive its graph optimizations. */
  sessionOptions: SessionOptions;
  checkpoints: string[];
  /** Activations after the last checkpoint (final norm, head, loss): read as they are, never recomputed. */
  finalSegment: string[];
  /** Forward nodes copied for the backward. */
  recomputedNodes: number;
}

export interface RecomputeOptions {
  /** Inputs the activation stream starts from (default input_ids). */
  streamInputs?: string[];
}

const PRODUCTS = new Set(['MatMul', 'Gemm']);
/** Ops that read only a tensor's shape: their outputs are not activations. */
const SHAPE_READS = new Set(['Shape', 'Size']);
const GATE_FLAT = 'recompute_gate_shape';
const GATE_ZERO = 'recompute_gate_start';
const GATE_ONE = 'recompute_gate_end';
const RANDOM = new Set(['Dropout', 'RandomNormal', 'RandomNormalLike', 'RandomUniform', 'RandomUniformLike', 'Bernoulli', 'Multinomial']);

export function recomputeActivations(training: TrainingGraph, opts: RecomputeOptions = {}): RecomputedTraining {
  const model = copyModel(training.model);
  const g = model.graph;
  // The backward's nodes that read no gradient (derivative factors such as GELU's, computed from
  // forward values alone) belong with the forward here: left alone they run during the forward and
  // keep activation-sized results alive until the backward.
  const all = g.nodes;
  const gradientValues = new Set<string>([training.seed]);
  const forwardLike: Node[] = [];
  for (const [k, n] of all.entries()) {
    if (k >= training.forwardNodes && n.inputs.some((i) => gradientValues.has(i))) n.outputs.forEach((o) => o && gradientValues.add(o));
    else forwardLike.push(n);
  }
  const isGradientNode = (n: Node) => n.outputs.some((o) => gradientValues.has(o));
  const producer = new Map<string, Node>();
  for (const n of forwardLike) for (const o of n.outputs) if (o) producer.set(o, n);
  const consumers = new Map<string, Node[]>();
  for (const n of all.slice(0, training.forwardNodes)) for (const i of n.inputs) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);

  // Values of the activation stream: depending on the tokens, through anything but a shape read.
  // Only float values are activations (the ids' own slices and casts are not).
  const sources = new Set(opts.streamInputs ?? ['input_ids']);
  const tokenDependent = new Set<string>(sources);
  for (const n of forwardLike) if (!SHAPE_READS.has(n.opType) && n.inputs.some((i) => tokenDependent.has(i))) n.outputs.forEach((o) => o && tokenDependent.add(o));
  const env = createShapeEnv(model);
  const stream = new Set([...tokenDependent].filter((v) => sources.has(v) || isFloat(typeOf(env, v)?.dtype ?? 'int64')));
  if (stream.size === sources.size) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `recompute: no forward value depends on ${[...sources].join(', ')}`, { field: 'recompute' });

  /** Does `to` depend on `from` through a MatMul/Gemm (searching producers back from `to`)? */
  const throughProduct = (from: string, to: string): boolean => {
    const seen = new Set<string>();
    const walk = (v: string, viaProduct: boolean): boolean => {
      if (v === from) return viaProduct;
      const key = `${v}:${viaProduct}`;
      if (seen.has(key) || !stream.has(v)) return false;
      seen.add(key);
      const n = producer.get(v);
      if (!n) return false;
      const via = viaProduct || PRODUCTS.has(n.opType);
      return n.inputs.some((i) => i !== '' && walk(i, via));
    };
    return walk(to, false);
  };
  const checkpoints = new Set<string>();
  for (const v of stream) {
    if (sources.has(v)) continue;
    const residual = (consumers.get(v) ?? []).some((c) => c.opType === 'Add' && c.inputs.some((other) => other !== v && stream.has(other) && throughProduct(v, other)));
    if (residual) checkpoints.add(v);
  }
  if (checkpoints.size === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'recompute: the forward has no residual sub-blocks (x + f(x) with weights in f) to checkpoint', { field: 'recompute' });
  // The last segment (after the last checkpoint: final norm, head, loss) is not recomputed: the
  // backward starts with it right after the forward ends, so its activations would be recomputed
  // the moment the originals are freed (the head product twice for nothing).
  const order = new Map([...checkpoints].map((cp) => [cp, forwardLike.findIndex((n) => n.outputs.includes(cp))]));
  const lastCheckpoint = [...order].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  const segmentOf = new Map<string, string>();
  for (const n of forwardLike) {
    let seg: string | undefined;
    for (const i of n.inputs) {
      const s = checkpoints.has(i) ? i : segmentOf.get(i);
      if (s !== undefined && (seg === undefined || order.get(s)! > order.get(seg)!)) seg = s;
    }
    if (seg !== undefined) for (const o of n.outputs) if (o && !checkpoints.has(o)) segmentOf.set(o, seg);
  }

  // Copy, on demand, the forward nodes behind every non-checkpoint stream value a gradient node reads.
  const kept = (v: string) => !stream.has(v) || checkpoints.has(v) || !producer.has(v) || segmentOf.get(v) === lastCheckpoint;
  const copies = new Map<string, string>();
  const pending: Node[] = [];
  // A copy reads its checkpoint through a gate that waits for a gradient of the node first needing
  // it: Where(IsNaN(one element of that gradient), cp, cp) is cp, computed only once the gradient
  // exists. Without it onnxruntime runs the copies as soon as their inputs exist, in the forward.
  const gates = new Map<string, string>();
  let trigger = '';
  const gated = (cp: string): string => {
    if (!checkpoints.has(cp)) return cp;
    let out = gates.get(cp);
    if (out) return out;
    const id = gates.size;
    const name = (what: string) => `recompute_gate${id}_${what}`;
    out = `${cp}.gated`;
    pending.push(
      { opType: 'Reshape', domain: '', name: name('reshape'), inputs: [trigger, GATE_FLAT], outputs: [name('flat')], attrs: {} },
      { opType: 'Slice', domain: '', name: name('slice'), inputs: [name('flat'), GATE_ZERO, GATE_ONE], outputs: [name('one')], attrs: {} },
      { opType: 'IsNaN', domain: '', name: name('isnan'), inputs: [name('one')], outputs: [name('cond')], attrs: {} },
      { opType: 'Where', domain: '', name: name('where'), inputs: [name('cond'), cp, cp], outputs: [out], attrs: {} },
    );
    gates.set(cp, out);
    return out;
  };
  let recomputed = 0;
  const copyOf = (v: string): string => {
    if (v === '') return v;
    if (kept(v)) return gated(v);
    const done = copies.get(v);
    if (done) return done;
    const n = producer.get(v)!;
    if (RANDOM.has(n.opType)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `recompute: ${n.opType} node ${n.name} draws random numbers, so a second forward would differ from the first`, { field: 'recompute', node: n.name });
    const inputs = n.inputs.map(copyOf);
    const outputs = n.outputs.map((o) => (o ? `${o}.recomputed` : ''));
    n.outputs.forEach((o, k) => o && copies.set(o, outputs[k]!));
    pending.push({ ...n, name: `${n.name}.recomputed`, inputs, outputs, attrs: { ...n.attrs } });
    recomputed++;
    return copies.get(v)!;
  };
  // Each copy goes right before the first gradient node that needs it: the node list stays
  // topologically sorted, and a segment's copies sit after the backward of every later segment.
  const nodes: Node[] = [];
  for (const n of all) {
    if (!isGradientNode(n)) {
      nodes.push(n);
      continue;
    }
    trigger = n.inputs.find((i) => gradientValues.has(i))!;
    const inputs = n.inputs.map((i) => (gradientValues.has(i) ? i : copyOf(i)));
    nodes.push(...pending.splice(0), { ...n, inputs });
  }
  g.nodes = withoutDeadNodes(nodes, new Set(g.outputs.map((o) => o.name)));
  // Forward nodes only the backward read are gone (their readers read copies): count what is left.
  const forwardSet = new Set(all.slice(0, training.forwardNodes));
  const forwardNodes = g.nodes.filter((n) => forwardSet.has(n)).length;
  g.initializers.set(GATE_FLAT, { dtype: 'int64', dims: [1], data: BigInt64Array.of(-1n) });
  g.initializers.set(GATE_ZERO, { dtype: 'int64', dims: [1], data: BigInt64Array.of(0n) });
  g.initializers.set(GATE_ONE, { dtype: 'int64', dims: [1], data: BigInt64Array.of(1n) });
  return {
    ...training,
    model,
    forwardNodes,
    checkpoints: [...checkpoints],
    finalSegment: [...segmentOf].filter(([, seg]) => seg === lastCheckpoint).map(([v]) => v),
    recomputedNodes: recomputed,
    // Comma-separated names, as onnxruntime reads optimization.disable_specified_optimizers.
    sessionOptions: { disabledOptimizers: ['CommonSubexpressionElimination'] },
  };
}

/** Nodes whose outputs nobody reads (originals whose readers now read copies) removed, repeatedly. */
function withoutDeadNodes(nodes: Node[], outputs: Set<string>): Node[] {
  let live = nodes;
  for (;;) {
    const read = new Set(outputs);
    for (const n of live) for (const i of n.inputs) read.add(i);
    const next = live.filter((n) => n.outputs.some((o) => o && read.has(o)));
    if (next.length === live.length) return live;
    live = next;
  }
}

/**
 * Forward values (made by the first `forwardNodes` nodes) that gradient nodes (those depending on the
 * seed dL/dL) read: what the backward keeps alive from the forward.
 */
export function gradientReads(training: Pick<TrainingGraph, 'model' | 'forwardNodes' | 'seed'>): Set<string> {
  const nodes = training.model.graph.nodes;
  const produced = new Set(nodes.slice(0, training.forwardNodes).flatMap((n) => n.outputs));
  const gradient = new Set([training.seed]);
  const reads = new Set<string>();
  for (const n of nodes.slice(training.forwardNodes)) {
    if (!n.inputs.some((i) => gradient.has(i))) continue;
    n.outputs.forEach((o) => gradient.add(o));
    for (const i of n.inputs) if (produced.has(i)) reads.add(i);
  }
  return reads;
}
