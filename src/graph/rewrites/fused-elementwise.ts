// The elementwise work around a transformer block's matrix products written out in plain ONNX ops
// (as alignkit's GPT-2 builder and torch's exporter write GPT-2's `gelu_new` and bias adds)
// rewritten, for inference only, into onnxruntime's fused CPU kernels:
//
//   gelu_new(MatMul + b): ~10 elementwise ops over [B, T, 4C]  -> com.microsoft.FastGelu(MatMul, b)
//   Split(MatMul + b) -> MultiHeadAttention(q, k, v)            -> Split(MatMul) -> MultiHeadAttention(q, k, v, b)
//
// Each op in the plain form is one pass over a [B, T, C..4C] tensor plus onnxruntime's per-node
// cost. Profile of alignkit-rm scoring 32 x 64 tokens on one thread (CPU time, medians of 15):
// 42.0 ms as the file's graph with fused attention and pooled tail, 38.5 ms with these two rewrites.
// onnxruntime's own FastGelu fusion looks for particular op orders and did not fire on these graphs.
// Not done, because it measured slower: com.microsoft.SkipLayerNormalization for LayerNorm(x +
// MatMul + b) (46.5 ms: its CPU kernel took 9.4 ms for the 8 norms that LayerNormalization and the
// adds did in about 3.5), and com.microsoft.Attention for MatMul + Split + MultiHeadAttention (no
// gain).
//
// The GELU is found by what it computes, not by its op order: an elementwise region (Add, Sub, Mul,
// Div, Pow, Tanh, Sqrt, Neg with scalar constants) with one input and one output is evaluated in
// float64 at sample points and fused only when it equals the tanh approximation there. Semantics:
// the same outputs up to float rounding. Returns undefined when nothing matches.

import { consumers, producers, removeUnread, topological, type Graph, type Model, type Node } from '../ir.js';
import { GraphBuilder } from '../builder.js';
import { cloneModel } from './lora.js';
import { uniquifyNodeNames } from './names.js';

const MS_DOMAIN = 'com.microsoft';

type Scalar = (...xs: number[]) => number;
/** Elementwise ops a GELU region may be written with, evaluated in float64 for the check. */
const ELEMENTWISE: Record<string, Scalar> = {
  Add: (a, b) => a! + b!,
  Sub: (a, b) => a! - b!,
  Mul: (a, b) => a! * b!,
  Div: (a, b) => a! / b!,
  Pow: (a, b) => a! ** b!,
  Tanh: Math.tanh,
  Sqrt: Math.sqrt,
  Neg: (a) => -a!,
};

/** GPT-2's gelu_new (Hendrycks & Gimpel's tanh approximation), what com.microsoft.FastGelu computes. */
const geluTanh = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
const SAMPLES = Array.from({ length: 41 }, (_, i) => (i - 20) * 0.4);

/** The value of a one-element initializer or Constant, if `name` is one. */
export function scalarOf(g: Graph, made: Map<string, Node>, name: string): number | undefined {
  const t = g.initializers.get(name) ?? (made.get(name)?.opType === 'Constant' ? (made.get(name)!.attrs.value?.value as { data?: ArrayLike<number> } | undefined) : undefined);
  const data = t?.data as ArrayLike<number | bigint> | undefined;
  return data?.length === 1 ? Number(data[0]) : undefined;
}

const plain = (n: Node | undefined) => !!n && (n.domain ?? '') === '';
const isConstant = (g: Graph, made: Map<string, Node>, v: string) => g.initializers.has(v) || made.get(v)?.opType === 'Constant';
/** An elementwise node a region may hold: its operands are activations or scalar constants (a bias vector is not). */
const absorbable = (g: Graph, made: Map<string, Node>, n: Node | undefined): n is Node =>
  plain(n) && n!.opType in ELEMENTWISE && n!.outputs.length === 1 && n!.inputs.every((i) => !isConstant(g, made, i) || scalarOf(g, made, i) !== undefined);

/** A 1-D float initializer added to a MatMul's output: `Add(MatMul(x, W), b)` as { product, bias }. */
function biasedProduct(g: Graph, made: Map<string, Node>, value: string): { product: string; bias?: string; add?: Node } | undefined {
  const n = made.get(value);
  if (plain(n) && n!.opType === 'MatMul') return { product: value };
  if (!plain(n) || n!.opType !== 'Add') return undefined;
  for (const [i, j] of [[0, 1], [1, 0]] as const) {
    const product = made.get(n!.inputs[i]!);
    const bias = g.initializers.get(n!.inputs[j]!);
    if (plain(product) && product!.opType === 'MatMul' && bias?.dims.length === 1 && bias.data.length > 1)
      return { product: n!.inputs[i]!, bias: n!.inputs[j]!, add: n };
  }
  return undefined;
}

interface Region {
  nodes: Set<Node>;
  input: string;
  output: string;
}

/**
 * The elementwise region around `seed` (a Tanh): its nodes read only region values, one input value
 * and scalar constants; grown backward to that input, then forward over every reader it can absorb.
 * Undefined unless it has exactly one input and one value read outside it.
 */
function regionAround(g: Graph, made: Map<string, Node>, readers: Map<string, Node[]>, seed: Node, outputs: Set<string>): Region | undefined {
  const nodes = new Set<Node>();
  const roots = new Set<string>();
  const back = (v: string): void => {
    const n = made.get(v);
    if (scalarOf(g, made, v) !== undefined || (n && nodes.has(n))) return;
    if (!absorbable(g, made, n)) return void roots.add(v);
    nodes.add(n);
    n.inputs.forEach(back);
  };
  nodes.add(seed);
  back(seed.inputs[0]!);
  if (roots.size !== 1) return undefined;
  const input = [...roots][0]!;
  const values = () => new Set([input, ...[...nodes].flatMap((n) => n.outputs)]);
  for (let grew = true; grew; ) {
    grew = false;
    const have = values();
    for (const v of have)
      for (const r of readers.get(v) ?? [])
        if (!nodes.has(r) && absorbable(g, made, r) && r.inputs.every((i) => have.has(i) || scalarOf(g, made, i) !== undefined)) {
          nodes.add(r);
          grew = true;
        }
  }
  const exits = [...nodes].flatMap((n) => n.outputs).filter((v) => outputs.has(v) || (readers.get(v) ?? []).some((r) => !nodes.has(r)));
  return exits.length === 1 ? { nodes, input, output: exits[0]! } : undefined;
}

/** The region's output as a function of its input, evaluated in float64 at one point. */
function evaluate(g: Graph, made: Map<string, Node>, region: Region, x: number): number {
  const known = new Map<string, number>([[region.input, x]]);
  const value = (v: string): number => {
    const hit = known.get(v) ?? scalarOf(g, made, v);
    if (hit !== undefined) return hit;
    const n = made.get(v)!;
    const y = ELEMENTWISE[n.opType]!(...n.inputs.map(value));
    known.set(v, y);
    return y;
  };
  return value(region.output);
}

const computesGeluTanh = (g: Graph, made: Map<string, Node>, region: Region) =>
  SAMPLES.every((x) => Math.abs(evaluate(g, made, region, x) - geluTanh(x)) <= 1e-6 * (1 + Math.abs(geluTanh(x))));

/**
 * FastGelu nodes for every tanh-GELU region. With `foldBias`, a product's bias Add that feeds only the
 * region becomes FastGelu's bias input (inference: one pass less). Training leaves the Add alone: the
 * gradient needs x + b, which the Add already holds, while a folded bias would be added again.
 */
function fuseGelus(g: Graph, b: GraphBuilder, foldBias: boolean, keep: readonly string[] = []): number {
  const made = producers(g);
  const readers = consumers(g);
  const outputs = new Set([...g.outputs.map((o) => o.name), ...keep]);
  const gone = new Set<Node>();
  let fused = 0;
  for (const tanh of g.nodes.filter((n) => plain(n) && n.opType === 'Tanh')) {
    if (gone.has(tanh)) continue;
    const region = regionAround(g, made, readers, tanh, outputs);
    if (!region || !computesGeluTanh(g, made, region)) continue;
    const biased = foldBias ? biasedProduct(g, made, region.input) : undefined;
    const fold = biased?.add && !outputs.has(region.input) && (readers.get(region.input) ?? []).every((r) => region.nodes.has(r));
    const inputs = fold ? [biased.product, biased.bias!] : [region.input];
    region.nodes.forEach((n) => gone.add(n));
    if (fold) gone.add(biased.add!);
    g.nodes.push({ opType: 'FastGelu', domain: MS_DOMAIN, name: b.fresh('FastGelu_node'), inputs, outputs: [region.output], attrs: {} });
    fused++;
  }
  g.nodes = g.nodes.filter((n) => !gone.has(n));
  return fused;
}

/** A MultiHeadAttention fed by Split(MatMul + b) takes b as its own bias input instead. */
function foldAttentionBiases(g: Graph): number {
  const made = producers(g);
  const readers = consumers(g);
  const outputs = new Set(g.outputs.map((o) => o.name));
  const gone = new Set<Node>();
  for (const mha of g.nodes.filter((n) => n.opType === 'MultiHeadAttention' && n.domain === MS_DOMAIN && !n.inputs[3])) {
    const split = made.get(mha.inputs[0]!);
    if (!plain(split) || split!.opType !== 'Split' || split!.outputs.length !== 3 || split!.outputs.some((o, i) => mha.inputs[i] !== o)) continue;
    const biased = biasedProduct(g, made, split!.inputs[0]!);
    if (!biased?.add || outputs.has(split!.inputs[0]!) || readers.get(split!.inputs[0]!)!.length !== 1) continue;
    if (split!.outputs.some((o) => outputs.has(o) || readers.get(o)!.some((r) => r !== mha))) continue;
    split!.inputs[0] = biased.product;
    while (mha.inputs.length < 4) mha.inputs.push('');
    mha.inputs[3] = biased.bias!;
    gone.add(biased.add);
  }
  g.nodes = g.nodes.filter((n) => !gone.has(n));
  return gone.size;
}

/**
 * The clone of `source` with `rewrite` applied (it returns how many sites it changed), or undefined
 * when none. `prune` drops nodes left unread; a training graph's loss is not an output yet, so it is not pruned.
 */
function rewritten(source: Model, rewrite: (g: Graph, b: GraphBuilder) => number, prune: boolean): Model | undefined {
  // The fused CPU kernels are float32 only: a float16 (or bfloat16) model is left as it is.
  if ([...source.graph.initializers.values()].some((t) => t.dtype === 'float16' || t.dtype === 'bfloat16')) return undefined;
  const model = cloneModel(source);
  const g = model.graph;
  if (rewrite(g, new GraphBuilder({ graph: g })) === 0) return undefined;
  if (prune) removeUnread(g);
  g.nodes = topological(g.nodes, new Set([...g.inputs.map((v) => v.name), ...g.initializers.keys()]));
  uniquifyNodeNames(g);
  model.opsetImports = [...model.opsetImports.filter((o) => o.domain !== MS_DOMAIN), { domain: MS_DOMAIN, version: 1 }];
  return model;
}

/** The model with its tanh GELUs and attention biases fused, or undefined when none matches. */
export function fuseElementwise(source: Model): Model | undefined {
  return rewritten(source, (g, b) => fuseGelus(g, b, true) + foldAttentionBiases(g), true);
}

/**
 * For training graphs: every tanh-GELU region as one com.microsoft.FastGelu node (bias not folded),
 * which the autodiff differentiates with its own rule (rules/activations.ts) in about half the
 * passes the region's ops take. `keep`: values read later (the loss, metrics) that must survive as
 * they are. Undefined when the model has none.
 */
export function fuseGeluForTraining(source: Model, keep: readonly string[] = []): Model | undefined {
  return rewritten(source, (g, b) => fuseGelus(g, b, false, keep), false);
}
