// The moment-probing reward head: "Tuning Pre-trained Model via Moment Probing" (Gao, Wang, Lin,
// Zhu, Hu, Zhou; ICCV 2023), following the official code (github.com/mingzeG/Moment-Probing,
// models/representation/MP.py: `Moment_Probing_ViT` and `Covariance`). Linear probing reads the
// first-order statistic of the final features only; moment probing puts the linear classifier on
// first- AND second-order moments, the second-order one computed as multi-head cross-covariances
// of a low-dimensional projection (MHC3) instead of the full C x C covariance.
//
// As a graph rewrite: a causal LM or a sequence classifier becomes a sequence classifier whose
// `logits` [B, K] come from this head over the backbone's final hidden states X [B, T, C], with
// the attention mask m [B, T] respected (padding never changes a score). Per sequence b, with
// n = sum_t m[t] real tokens:
//   first order   f = X[last real token]   (or the masked mean over real tokens, `firstOrder: 'mean'`)
//   projection    Z = X P^T + p, split into H heads Z^h [T, d]; U^h = LayerNorm(Z^h) (one norm shared
//                 by the heads, as the official `self.ln`)
//   centering     A^h[t] = m[t] (U^h[t] - mu^h), mu^h = sum_t m[t] U^h[t] / n
//   cross-cov     S^h = (1/n) (A^h)^T A^{h+1}  [d, d], h = 0..H-2 (the official 'near' pairing)
//   l2 norm       S^h[i, j] / sqrt(sum_i S^h[i, j]^2 + eps)  (the official normalize over dim 2)
//   classifier    logits = W [f ; vec S^0 ; ... ; vec S^{H-2}] + c
// The official head averages two classifiers, one on the class token and one on the flattened
// cross-covariances; that is one linear map over the concatenation, which is what is built here.
// Deliberate differences from the official code, for token sequences of varying length:
//  - masked statistics: the mean, the covariance and the 1/n use real tokens only;
//  - each channel is centred on its own mean (the covariance as the paper defines the second-order
//    moment); the official `_remove_mean` subtracts one mean over a head's whole [d, T] block;
//  - no convolutional down-sampling of the stacked cross-covariances: the official two strided
//    3x3 convolutions shrink 3 x 128 x 128 maps to 2,883 features; at the small head widths used
//    here (d = 16 gives (H-1) 256 features) the flattened maps are already small, and alignkit's
//    autodiff has no Conv rule.
// Which tokens: all real (attention_mask = 1) tokens, prompt and response alike. The exported graph
// must take only input_ids and attention_mask so that SequenceClassifier, RewardModel, `alignkit
// serve` and a plain onnxruntime session run it unchanged; none of them knows where the prompt
// ends. The first-order feature is the last real token's state: in a decoder it is the one token
// that has attended to the whole prompt and response, and it is what a linear score head reads.

import { fail } from '../../errors.js';
import { mulberry32, normalSample } from '../../random.js';
import { createShapeEnv, typeOf } from '../autodiff/shapes.js';
import { GraphBuilder, type Value } from '../builder.js';
import type { DType } from '../dtypes.js';
import { onnxOpset, type Graph, type Model, type Node, type Tensor } from '../ir.js';
import { stripKvCache, hasKvCache } from './kv-cache.js';
import { finalHiddenState } from './hidden-states.js';
import { cloneModel } from './lora.js';
import { uniquifyNodeNames } from './names.js';
import type { HeadResult } from './logprob-head.js';

export type FirstOrderMoment = 'last' | 'mean';

export interface MomentProbeConfig {
  /** Heads the projection splits into; the H-1 adjacent pairs give the cross-covariances (official: 4). */
  heads: number;
  /** Width d of each head (official: 512 / 4 = 128); the second-order features number (H-1) d^2. */
  headDim: number;
  /** First-order moment: the last real token's state, or the masked mean over real tokens. */
  firstOrder: FirstOrderMoment;
}

/** Defaults: the official 4 heads and 'near' pairing, with heads narrow enough for small backbones. */
export const MOMENT_PROBE_DEFAULTS: Readonly<MomentProbeConfig> = Object.freeze({ heads: 4, headDim: 16, firstOrder: 'last' });

const FIRST_ORDER: readonly FirstOrderMoment[] = ['last', 'mean'];

// Constants of the formula: LayerNorm's epsilon as torch.nn.LayerNorm's default; the l2 norm's
// epsilon is added under the square root (not a max(|x|, eps) as F.normalize does) so the gradient
// stays finite when a column is all zero (a one-token sequence has zero centred features).
const LN_EPSILON = 1e-5;
const L2_EPSILON = 1e-6;
// Initial weights: truncated-normal std 0.02 as the official ViT code initialises nn.Linear (timm's
// init_weights_vit_timm), biases zero, the LayerNorm at identity.
const INIT_STD = 0.02;

/** Initializer names: under `score.` so the `head` trainable selection (SCORE_HEAD_PATTERNS) finds them. */
export const MOMENT_PROBE_PARAMS = {
  projWeight: 'score.moment_probe.proj.weight',
  projBias: 'score.moment_probe.proj.bias',
  normWeight: 'score.moment_probe.norm.weight',
  normBias: 'score.moment_probe.norm.bias',
  classifierWeight: 'score.moment_probe.classifier.weight',
  classifierBias: 'score.moment_probe.classifier.bias',
} as const;

const bad = (field: string, message: string, value: unknown) =>
  fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `moment-probe head option ${field}: ${message}, got ${JSON.stringify(value)}`, { field, value });

const CHECKS: Record<keyof MomentProbeConfig, (field: string, v: unknown) => void> = {
  heads: (f, v) => {
    if (!Number.isInteger(v) || (v as number) < 2) throw bad(f, 'must be an integer >= 2 (cross-covariances pair adjacent heads)', v);
  },
  headDim: (f, v) => {
    if (!Number.isInteger(v) || (v as number) < 2) throw bad(f, 'must be an integer >= 2', v);
  },
  firstOrder: (f, v) => {
    if (!FIRST_ORDER.includes(v as FirstOrderMoment)) throw bad(f, `must be one of ${FIRST_ORDER.join(', ')}`, v);
  },
};

/** The defaults overridden by `hp`, every field validated; an unknown field is an error naming it. */
export function momentProbeConfig(hp: Record<string, unknown> = {}): MomentProbeConfig {
  for (const k of Object.keys(hp))
    if (!(k in CHECKS)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `moment-probe head has no option ${k}; options: ${Object.keys(CHECKS).join(', ')}`, { field: k });
  const merged = { ...MOMENT_PROBE_DEFAULTS, ...Object.fromEntries(Object.entries(hp).filter(([, v]) => v !== undefined)) } as MomentProbeConfig;
  for (const [field, check] of Object.entries(CHECKS)) check(field, merged[field as keyof MomentProbeConfig]);
  return merged;
}

/** Width of the classifier's input: C first-order values and (H-1) d^2 second-order ones. */
export function momentProbeFeatureWidth(width: number, config: MomentProbeConfig): number {
  return width + (config.heads - 1) * config.headDim * config.headDim;
}

type FloatArray = Float32Array | Float64Array;

/** Initial head parameters for hidden width C and K labels, drawn from `seed`. */
export function momentProbeParameters(width: number, numLabels: number, config: MomentProbeConfig, seed: number, dtype: 'float32' | 'float64' = 'float32'): Map<string, Tensor> {
  const rand = mulberry32(seed).next;
  const make = (n: number, fill: (i: number) => number): FloatArray => (dtype === 'float64' ? Float64Array.from({ length: n }, (_, i) => fill(i)) : Float32Array.from({ length: n }, (_, i) => fill(i)));
  // Truncated at 2 std as torch's trunc_normal_ with its default a = -2, b = 2 (in std units here).
  const truncated = () => {
    for (;;) {
      const z = normalSample(rand);
      if (Math.abs(z) <= 2) return INIT_STD * z;
    }
  };
  const hd = config.heads * config.headDim;
  const features = momentProbeFeatureWidth(width, config);
  const P = MOMENT_PROBE_PARAMS;
  const t = (dims: number[], fill: (i: number) => number): Tensor => ({ dtype, dims, data: make(dims.reduce((a, b) => a * b, 1), fill) });
  return new Map([
    [P.projWeight, t([hd, width], truncated)], // nn.Linear layout [out, in]
    [P.projBias, t([hd], () => 0)],
    [P.normWeight, t([config.headDim], () => 1)],
    [P.normBias, t([config.headDim], () => 0)],
    [P.classifierWeight, t([numLabels, features], truncated)],
    [P.classifierBias, t([numLabels], () => 0)],
  ]);
}

export interface MomentProbeGraphInputs {
  /** Final hidden states [B, T, C]. */
  hidden: Value;
  /** int64 [B, T]: 1 for real tokens, 0 for padding. */
  mask: Value;
  dtype: 'float32' | 'float64';
}

/** Per-token pooling weights [B, T] for the first-order moment (rows sum to 1 over real tokens). */
const FIRST_ORDER_WEIGHTS: Record<FirstOrderMoment, (g: GraphBuilder, mask: Value, maskF: Value, count: Value, dtype: DType) => Value> = {
  // One-hot at the last real token: argmax over position * mask (transformers' GPT2ForSequenceClassification
  // finds the last non-pad token the same way), valid for right and left padding alike.
  last: (g, mask, _maskF, _count, dtype) => {
    const length = g.gather(g.shape(mask), g.constant(BigInt64Array.of(1n), [], 'int64'), 0);
    const positions = g.unsqueeze(g.range(g.constant(BigInt64Array.of(0n), [], 'int64'), length, g.constant(BigInt64Array.of(1n), [], 'int64')), [0]); // [1, T]
    const last = g.op1('ArgMax', [g.mul(mask, positions)], { axis: 1, keepdims: 1 }); // [B, 1]
    return g.cast(g.equal(positions, last), dtype); // [B, T]
  },
  mean: (g, _mask, maskF, count) => g.div(maskF, count),
};

/** LayerNormalization over the last axis: the fused op from opset 17, its definition below it. */
function layerNormLast(g: GraphBuilder, x: Value, scale: Value, bias: Value, dtype: DType): Value {
  if (g.opset >= 17) return g.layerNorm(x, scale, bias, { axis: -1, epsilon: LN_EPSILON });
  const centred = g.sub(x, g.reduceMean(x, [-1]));
  const variance = g.reduceMean(g.mul(centred, centred), [-1]);
  return g.add(g.mul(g.div(centred, g.sqrt(g.add(variance, g.scalar(LN_EPSILON, dtype)))), scale), bias);
}

/**
 * Appends the head to `g` (its parameters must be initializers of the graph, named as
 * MOMENT_PROBE_PARAMS) and returns the [B, K] scores value.
 */
export function buildMomentProbeHead(g: GraphBuilder, inputs: MomentProbeGraphInputs, config: MomentProbeConfig): Value {
  const { hidden: X, mask, dtype } = inputs;
  const { heads: H, headDim: d } = config;
  const P = MOMENT_PROBE_PARAMS;
  const maskF = g.cast(mask, dtype); // [B, T]
  const count = g.max(g.reduceSum(maskF, [1], true), g.scalar(1, dtype)); // [B, 1]; an all-pad row divides by 1, not 0
  const count4 = g.reshape(count, [-1, 1, 1, 1]); // [B, 1, 1, 1]

  const weights = FIRST_ORDER_WEIGHTS[config.firstOrder](g, mask, maskF, count, dtype); // [B, T]
  const first = g.squeeze(g.matMul(g.unsqueeze(weights, [1]), X), [1]); // [B, 1, T] @ [B, T, C] -> [B, C]

  const Z = g.add(g.matMul(X, g.transpose(P.projWeight, [1, 0])), P.projBias); // [B, T, H*d]
  const U = layerNormLast(g, g.reshape(Z, [0, 0, H, d]), P.normWeight, P.normBias, dtype); // [B, T, H, d]
  const mask4 = g.reshape(maskF, [0, 0, 1, 1]); // [B, T, 1, 1]
  const mean = g.div(g.reduceSum(g.mul(U, mask4), [1], true), count4); // [B, 1, H, d]
  const A = g.transpose(g.mul(g.sub(U, mean), mask4), [0, 2, 1, 3]); // [B, H, T, d], zero at padding
  const left = g.slice(A, [0], [H - 1], [1]); // heads 0..H-2
  const right = g.slice(A, [1], [H], [1]); // heads 1..H-1
  const S = g.div(g.matMul(g.transpose(left, [0, 1, 3, 2]), right), count4); // [B, H-1, d, d]: all pairs in one batched product
  const norm = g.sqrt(g.add(g.reduceSum(g.mul(S, S), [2], true), g.scalar(L2_EPSILON, dtype))); // [B, H-1, 1, d]
  const second = g.reshape(g.div(S, norm), [0, -1]); // [B, (H-1) d^2]

  const features = g.concat([first, second], 1); // [B, C + (H-1) d^2]
  return g.gemm(features, P.classifierWeight, P.classifierBias, { transB: true }); // [B, K]
}

// Ops that carry a score head's per-token values to its pooled output without mixing in weights:
// walking back through them from `logits` reaches the head's matrix product.
function hiddenWidth(model: Model, hidden: string): number {
  const dims = typeOf(createShapeEnv(model), hidden)?.dims;
  const width = dims?.[dims.length - 1];
  if (dims?.length !== 3 || typeof width !== 'number')
    throw fail('ALIGNKIT_ERR_ONNX_MODEL', `hidden states ${hidden} of graph ${model.graph.name} have dims [${dims ?? '?'}]; the moment-probe head needs [batch, sequence, width] with a fixed width (a head on an already pooled value has no token features to take moments of)`, { field: 'hiddenState', value: hidden });
  return width;
}

/** Names read inside a node's graph attributes (If/Loop bodies read outer values implicitly). */
function subgraphReads(node: Node): string[] {
  return Object.values(node.attrs).flatMap((a) => (a.type === 'graph' ? a.value.nodes.flatMap((n) => [...n.inputs, ...subgraphReads(n)]) : []));
}

/** Drop nodes, initializers and value infos no graph output depends on (the replaced head). */
function pruneToOutputs(graph: Graph): void {
  const needed = new Set(graph.outputs.map((o) => o.name));
  const kept: Node[] = [];
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i]!;
    if (!n.outputs.some((o) => needed.has(o))) continue;
    kept.push(n);
    for (const x of [...n.inputs, ...subgraphReads(n)]) if (x) needed.add(x);
  }
  graph.nodes = kept.reverse();
  for (const name of [...graph.initializers.keys()]) if (!needed.has(name)) graph.initializers.delete(name);
  const produced = new Set([...graph.nodes.flatMap((n) => n.outputs), ...graph.inputs.map((v) => v.name)]);
  graph.valueInfo = graph.valueInfo.filter((v) => produced.has(v.name));
}

export interface MomentProbeHeadOptions extends Partial<MomentProbeConfig> {
  /** Scores per sequence K (default 1: a single reward). */
  numLabels?: number;
  /** Seed of the head's initial weights (default 0). */
  seed?: number;
  /** The model's output whose head is replaced and whose name the scores take (default `logits`). */
  logits?: string;
  /** The [B, T, C] final hidden states (default: found from `logits` by finalHiddenState). */
  hiddenState?: string;
  /** int64 [B, T] mask input (default `attention_mask`, added when the graph lacks it). */
  mask?: string;
}

export interface MomentProbeHeadResult extends HeadResult {
  hiddenState: string;
  width: number;
  config: MomentProbeConfig;
  /** The head's initializers (what `train: head` trains). */
  parameters: string[];
}

/**
 * A copy of `source` (causal LM or sequence classifier) whose only output is `logits` [B, K] from
 * the moment-probing head. A KV cache is stripped first (a classifier never decodes), and the
 * replaced head's nodes and weights are dropped.
 */
export function addMomentProbeHead(source: Model, opts: MomentProbeHeadOptions = {}): MomentProbeHeadResult {
  const config = momentProbeConfig({ heads: opts.heads, headDim: opts.headDim, firstOrder: opts.firstOrder });
  const numLabels = opts.numLabels ?? 1;
  if (!Number.isInteger(numLabels) || numLabels < 1) throw bad('numLabels', 'must be a positive integer', numLabels);
  const logits = opts.logits ?? 'logits';
  if (!source.graph.outputs.some((o) => o.name === logits))
    throw fail('ALIGNKIT_ERR_ONNX_MODEL', `graph ${source.graph.name} has no output ${logits}; outputs: ${source.graph.outputs.map((o) => o.name).join(', ')}`, { field: 'logits' });
  const model = hasKvCache(source) ? stripKvCache(source).model : cloneModel(source);
  const graph = model.graph;
  const found = opts.hiddenState ? { value: opts.hiddenState, width: hiddenWidth(model, opts.hiddenState) } : ((h) => ({ value: h, width: hiddenWidth(model, h) }))(finalHiddenState(model, logits).value);
  const maskName = opts.mask ?? 'attention_mask';
  const g = new GraphBuilder({ graph, opset: onnxOpset(model) });
  const mask = graph.inputs.some((v) => v.name === maskName) ? maskName : g.input(maskName, 'int64', graph.inputs.find((v) => v.name === 'input_ids')?.dims ?? ['batch', 'sequence']);
  const params = momentProbeParameters(found.width, numLabels, config, opts.seed ?? 0);
  for (const [name, t] of params) {
    if (graph.initializers.has(name)) throw fail('ALIGNKIT_ERR_ONNX_MODEL', `graph ${graph.name} already has an initializer ${name} (a moment-probe head on a moment-probe model?)`, { field: name });
    g.initializer(name, t);
  }
  const scores = buildMomentProbeHead(g, { hidden: found.value, mask, dtype: 'float32' }, config);
  graph.outputs = [{ name: scores, dtype: 'float32', dims: ['batch_size', numLabels] }];
  pruneToOutputs(graph);
  // The old head's nodes are gone, so nothing else produces `logits` now: the scores take its name.
  const producer = graph.nodes.find((n) => n.outputs.includes(scores))!;
  producer.outputs = producer.outputs.map((o) => (o === scores ? logits : o));
  graph.outputs = [{ name: logits, dtype: 'float32', dims: ['batch_size', numLabels] }];
  uniquifyNodeNames(graph);
  return { model, outputs: { logits }, hiddenState: found.value, width: found.width, config, parameters: [...params.keys()] };
}
