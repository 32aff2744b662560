// LoRA ("LoRA: Low-Rank Adaptation of Large Language Models", Hu et al. 2021), injected as an
// ONNX rewrite. For a linear layer y = x W the rewrite adds y += (alpha / r) * (x A) B with
// A [in, r] and B [r, out]: the base weight W stays a frozen initializer, A and B become the
// trainable initializers. Initialisation follows PEFT's LoraLayer.reset_lora_parameters:
// A ~ kaiming_uniform(a = sqrt(5)) over fan_in = in, i.e. U(-1/sqrt(in), 1/sqrt(in)), and B = 0, so
// the adapted model starts equal to the base model. Merge-back folds W += scale * A B (transposed
// for a Gemm with transB) and removes the adapter nodes, for export.

import { fail } from '../../errors.js';
import { GraphBuilder } from '../builder.js';
import { attrFloat, attrInt, onnxOpset, type Model, type Node } from '../ir.js';
import { initializerScopes, matchesAny, uniquifyNodeNames, type NamePattern } from './names.js';
import { mulberry32 } from '../../random.js';

export interface LoraOptions {
  rank: number;
  /** Scale numerator: the update is multiplied by alpha / rank (PEFT's `lora_alpha`). */
  alpha: number;
  /** Patterns over weight names or node names; 'all-linear' adapts every MatMul/Gemm with a 2-D float weight. */
  targets: NamePattern[] | 'all-linear';
  /** Seed of A's uniform init. */
  seed?: number;
}

export interface LoraAdapter {
  /** The base weight initializer. */
  weight: string;
  /** A [in, r] and B [r, out] initializer names. */
  a: string;
  b: string;
  scale: number;
  /** Gemm with transB stores W as [out, in]; MatMul and plain Gemm as [in, out]. */
  transposedWeight: boolean;
  /** The adapted node's original output name and the nodes the rewrite added (for merge-back). */
  output: string;
  baseOutput: string;
  addedNodes: string[];
}

export interface LoraResult {
  model: Model;
  adapters: LoraAdapter[];
  /** The A and B initializer names: the trainable set. */
  trainable: string[];
}

interface Linear {
  node: Node;
  weight: string;
  transposedWeight: boolean;
  alpha: number;
}

function linearOf(model: Model, node: Node): Linear | undefined {
  const w = node.inputs[1];
  const t = w ? model.graph.initializers.get(w) : undefined;
  if (!t || t.dtype !== 'float32' || t.dims.length !== 2) return undefined;
  if (node.opType === 'MatMul') return { node, weight: w!, transposedWeight: false, alpha: 1 };
  if (node.opType === 'Gemm' && (attrInt(node, 'transA', 0) ?? 0) === 0)
    return { node, weight: w!, transposedWeight: (attrInt(node, 'transB', 0) ?? 0) === 1, alpha: attrFloat(node, 'alpha', 1) ?? 1 };
  return undefined;
}

/** Clone the parts of a model a rewrite changes (graph lists and the initializer map; tensors are shared). */
export function cloneModel(model: Model): Model {
  const g = model.graph;
  return {
    ...model,
    opsetImports: model.opsetImports.map((o) => ({ ...o })),
    metadata: { ...model.metadata },
    graph: {
      ...g,
      nodes: g.nodes.map((n) => ({ ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: { ...n.attrs } })),
      inputs: g.inputs.map((v) => ({ ...v })),
      outputs: g.outputs.map((v) => ({ ...v })),
      initializers: new Map(g.initializers),
      valueInfo: [...g.valueInfo],
    },
  };
}

export function injectLora(source: Model, opts: LoraOptions): LoraResult {
  if (!Number.isInteger(opts.rank) || opts.rank < 1) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `LoRA rank must be a positive integer, got ${opts.rank}`, { field: 'rank' });
  if (!(opts.alpha > 0)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `LoRA alpha must be positive, got ${opts.alpha}`, { field: 'alpha' });
  const model = cloneModel(source);
  const scopes = initializerScopes(model);
  const linears = model.graph.nodes
    .map((n) => linearOf(model, n))
    .filter((l): l is Linear => l !== undefined)
    .filter((l) => opts.targets === 'all-linear' || matchesAny([...(scopes.get(l.weight) ?? [l.weight]), l.node.name], opts.targets));
  if (linears.length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `LoRA targets ${String(opts.targets)} match no MatMul/Gemm with a 2-D float weight initializer`, { field: 'targets' });

  const rng = mulberry32(opts.seed ?? 0);
  const scale = opts.alpha / opts.rank;
  // The builder learns the used names from the full graph before the nodes are re-emitted in order.
  const b = new GraphBuilder({ graph: model.graph, opset: onnxOpset(model) });
  const originalNodes = model.graph.nodes;
  model.graph.nodes = [];
  const adapters: LoraAdapter[] = [];
  const byNode = new Map(linears.map((l) => [l.node, l]));
  const adapterCount = new Map<string, number>();
  for (const node of originalNodes) {
    model.graph.nodes.push(node);
    const lin = byNode.get(node);
    if (!lin) continue;
    const w = model.graph.initializers.get(lin.weight)!;
    const [inDim, outDim] = lin.transposedWeight ? [w.dims[1]!, w.dims[0]!] : [w.dims[0]!, w.dims[1]!];
    // A weight shared by several nodes (tied) gets one adapter per node, numbered.
    const k = adapterCount.get(lin.weight) ?? 0;
    adapterCount.set(lin.weight, k + 1);
    const stem = k === 0 ? lin.weight : `${lin.weight}.${k}`;
    const bound = 1 / Math.sqrt(inDim);
    const aData = new Float32Array(inDim * opts.rank);
    for (let i = 0; i < aData.length; i++) aData[i] = (2 * rng.next() - 1) * bound;
    const aName = b.initializer(`${stem}.lora_A`, aData, [inDim, opts.rank]);
    const bName = b.initializer(`${stem}.lora_B`, new Float32Array(opts.rank * outDim), [opts.rank, outDim]);
    const output = node.outputs[0]!;
    const baseOutput = b.fresh(`${output}.lora_base`);
    node.outputs[0] = baseOutput;
    const before = model.graph.nodes.length;
    const xa = b.matMul(node.inputs[0]!, aName); // [..., r]
    const xab = b.matMul(xa, bName); // [..., out]
    const scaled = b.mul(xab, b.scalar(scale * lin.alpha));
    b.op('Add', [baseOutput, scaled]);
    // The Add takes over the original output name, so every reader of y stays wired.
    model.graph.nodes[model.graph.nodes.length - 1]!.outputs[0] = output;
    adapters.push({
      weight: lin.weight, a: aName, b: bName, scale, transposedWeight: lin.transposedWeight, output, baseOutput,
      addedNodes: model.graph.nodes.slice(before).map((n) => n.name),
    });
  }
  uniquifyNodeNames(model.graph);
  return { model, adapters, trainable: adapters.flatMap((a) => [a.a, a.b]) };
}

/**
 * Fold trained adapters into their base weights: W += scale * A B ([in, out]; transposed for a
 * Gemm with transB). `values` overrides initializer data by name (the trainer's current A, B).
 * Returns a model without adapter nodes or initializers.
 */
export function mergeLora(injected: Model, adapters: readonly LoraAdapter[], values: Map<string, Float32Array> = new Map()): Model {
  const model = cloneModel(injected);
  const init = model.graph.initializers;
  const data = (n: string) => values.get(n) ?? (init.get(n)!.data as Float32Array);
  const drop = new Set(adapters.flatMap((a) => a.addedNodes));
  const rename = new Map(adapters.map((a) => [a.baseOutput, a.output]));
  model.graph.nodes = model.graph.nodes.filter((n) => !drop.has(n.name));
  for (const n of model.graph.nodes) n.outputs = n.outputs.map((o) => rename.get(o) ?? o);
  const merged = new Map<string, Float32Array>();
  for (const ad of adapters) {
    const w = merged.get(ad.weight) ?? Float32Array.from(data(ad.weight));
    addLoraDelta(w, ad, data(ad.a), data(ad.b), init.get(ad.a)!.dims[0]!);
    merged.set(ad.weight, w);
    init.set(ad.weight, { ...init.get(ad.weight)!, data: w });
  }
  // Adapter initializers (and the scale constants) are now unread.
  const read = new Set(model.graph.nodes.flatMap((n) => n.inputs));
  for (const name of [...init.keys()]) if (!read.has(name) && !model.graph.outputs.some((o) => o.name === name)) init.delete(name);
  return model;
}

/** w += scale * A B in place: A [in, r], B [r, out], w [in, out] (or [out, in] when transposedWeight). */
export function addLoraDelta(w: Float32Array, ad: Pick<LoraAdapter, 'scale' | 'transposedWeight'>, A: Float32Array, B: Float32Array, inDim: number): void {
  const r = A.length / inDim;
  const outDim = B.length / r;
  if (w.length !== inDim * outDim) throw fail('ALIGNKIT_ERR_TENSOR', `LoRA delta [${inDim}, ${outDim}] does not fit a weight of ${w.length} values`, {});
  for (let i = 0; i < inDim; i++)
    for (let k = 0; k < r; k++) {
      const aik = A[i * r + k]! * ad.scale;
      if (aik === 0) continue;
      for (let j = 0; j < outDim; j++) {
        const idx = ad.transposedWeight ? j * inDim + i : i * outDim + j;
        w[idx] = w[idx]! + aik * B[k * outDim + j]!;
      }
    }
}
