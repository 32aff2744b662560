// Heads spliced after a model's `logits` so the [B, T, V] tensor never leaves the runtime: per-token
// log-probs of the sequence's own tokens, and two scalar losses over them (next-token
// cross-entropy and a weighted sum of token log-probs), plus a weighted sum of a classifier's
// scores. Built with GraphBuilder on a copy of the model, ready for buildTrainingGraph.
//
// Alignment convention (causal LMs, as transformers' loss shifts labels by one): the head's output
// token_logprobs[b, t] = log p(ids[b, t] | ids[b, <t]) for t >= 1 and 0 at t = 0, so it lines up
// with input_ids, attention_mask and per-token weights position by position.
// Cost (DESIGN.md, training graphs): LogSoftmax on the last axis plus GatherElements, not
// SoftmaxCrossEntropyLoss; the [B, T, V] log-softmax is gathered at the next token of every
// position (the last position wraps to the first token and is cut), so no [B, T-1, V] slice is copied.

import { fail } from '../../errors.js';
import { GraphBuilder, type Value } from '../builder.js';
import { onnxOpset, producers, topological, type Graph, type Model, type Node } from '../ir.js';
import { cloneModel } from './lora.js';
import { uniquifyNodeNames } from './names.js';

const INT64_MAX = Number.MAX_SAFE_INTEGER;

/** The name training graphs and reference sessions give the head's `from` input. */
export const LOGITS_FROM = 'logits_from';

function builderFor(model: Model): { model: Model; b: GraphBuilder } {
  const copy = cloneModel(model);
  return { model: copy, b: new GraphBuilder({ graph: copy.graph, opset: onnxOpset(copy) }) };
}

function requireValue(model: Model, name: string, what: string): void {
  const g = model.graph;
  const known = g.inputs.some((v) => v.name === name) || g.nodes.some((n) => n.outputs.includes(name)) || g.initializers.has(name);
  if (!known) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `${what} ${name} is not a value of graph ${g.name}`, { field: what, value: name });
}

function ensureInput(b: GraphBuilder, model: Model, name: string, dtype: 'float32' | 'int64', dims: (string | number)[]): Value {
  if (model.graph.inputs.some((v) => v.name === name)) return name;
  return b.input(name, dtype, dims);
}

/** A [B, width] float tensor of zeros shaped after `ref` [B, ...] (width a 1-D int64 value, default 1). */
function zerosColumn(b: GraphBuilder, ref: Value, width?: Value): Value {
  const batch = b.slice(b.shape(ref), [0], [1], [0]);
  return b.constantOfShape(b.concat([batch, width ?? b.int64s([1])], 0), 0);
}

/** `x[:, from:]` on axis 1 with `from` a 1-D int64 value. */
function sliceFrom(b: GraphBuilder, x: Value, from: Value): Value {
  return b.op1('Slice', [x, from, b.int64s([INT64_MAX]), b.int64s([1])]);
}

/** The output projection's node when `logits` is MatMul(h, W), bias added or not: h is [B, T, D]. */
function outputProjection(g: Graph, logits: string): Node | undefined {
  const made = producers(g);
  let n = made.get(logits);
  // Identity names the output in graphs our builders write (and in some exports): look through it.
  while (n?.opType === 'Identity' && !n.domain) n = made.get(n.inputs[0]!);
  if (n?.opType === 'Add' && !n.domain) n = n.inputs.map((v) => made.get(v)).find((p) => p?.opType === 'MatMul' && !p.domain);
  return n?.opType === 'MatMul' && !n.domain ? n : undefined;
}

/** [B, T] -> [B, T] with column 0 zeroed (position 0 has no prediction). */
function dropFirstColumn(b: GraphBuilder, x: Value): Value {
  return b.concat([zerosColumn(b, x), b.slice(x, [1], [INT64_MAX], [1])], 1);
}

function removeOutput(model: Model, name: string): void {
  model.graph.outputs = model.graph.outputs.filter((o) => o.name !== name);
}

export interface TokenLogProbHeadOptions {
  /** The model's [B, T, V] logits value (default `logits`). */
  logits?: string;
  /** Token ids [B, T] whose log-probs are taken (default `input_ids`; pass `labels` for a separate input). */
  labels?: string;
  /** Output name (default `token_logprobs`). */
  output?: string;
  /** Keep `logits` among the graph outputs (default false). */
  keepLogits?: boolean;
  /**
   * Name of a [1] int64 input `from`: logits are computed only at positions >= from (the output
   * projection reads h[:, from:]), and token_logprobs[:, <= from] are 0. A batch whose weighted
   * tokens all start after its prompts (DPO's responses) skips the head's work on the prompts.
   */
  from?: string;
}

export interface HeadResult {
  model: Model;
  /** Graph output names the head added, by role. */
  outputs: Record<string, string>;
}

export function addTokenLogProbHead(source: Model, opts: TokenLogProbHeadOptions = {}): HeadResult {
  const logits = opts.logits ?? 'logits';
  const labels = opts.labels ?? 'input_ids';
  const output = opts.output ?? 'token_logprobs';
  requireValue(source, logits, 'logits');
  const { model, b } = builderFor(source);
  const ids = ensureInput(b, model, labels, 'int64', ['batch', 'sequence']);
  const from = opts.from ? ensureInput(b, model, opts.from, 'int64', [1]) : undefined;
  let scored = logits; // [B, T', V]: T' = T - from
  if (from) {
    const projection = outputProjection(model.graph, logits);
    if (projection) projection.inputs[0] = sliceFrom(b, projection.inputs[0]!, from);
    else scored = sliceFrom(b, logits, from); // another head (scaled, soft-capped): the log-softmax is still saved
  }
  const logp = b.logSoftmax(scored, -1);
  // The token each position predicts: ids[:, from + 1:], and the first token as a wrap-around filler.
  const first = from ? b.add(from, b.int64s([1])) : undefined;
  const following = first ? sliceFrom(b, ids, first) : b.slice(ids, [1], [INT64_MAX], [1]);
  const next = b.concat([following, b.slice(ids, [0], [1], [1])], 1); // [B, T']
  const picked = b.squeeze(b.gatherElements(logp, b.unsqueeze(next, [2]), 2), [2]); // [B, T']: log p(ids[t+1] | <= t)
  const shifted = b.slice(picked, [0], [-1], [1]); // [B, T' - 1]
  b.op('Concat', [zerosColumn(b, ids, first), shifted], { axis: 1 }, { names: [output] }); // [B, T]
  b.output(output, output, 'float32', ['batch', 'sequence']);
  if (!opts.keepLogits) removeOutput(model, logits);
  if (from) model.graph.nodes = topological(model.graph.nodes, new Set([...model.graph.inputs.map((v) => v.name), ...model.graph.initializers.keys()]));
  uniquifyNodeNames(model.graph);
  return { model, outputs: { tokenLogprobs: output } };
}

export interface TokenLossOptions {
  /** The [B, T] per-token log-probs (default `token_logprobs`). */
  tokenLogprobs?: string;
  /** [B, T] int64 mask of real tokens (default `attention_mask`). */
  mask?: string;
  /** Scalar loss output name (default `loss`). */
  output?: string;
}

/**
 * Mean next-token cross-entropy over real predicted tokens, as transformers' causal-LM loss:
 * loss = -sum_{b, t >= 1} mask[b, t] lp[b, t] / sum_{b, t >= 1} mask[b, t]. Also outputs
 * `token_count` (the denominator), the weight for averaging across micro-batches.
 */
export function addNextTokenLoss(source: Model, opts: TokenLossOptions = {}): HeadResult {
  const lp = opts.tokenLogprobs ?? 'token_logprobs';
  const output = opts.output ?? 'loss';
  requireValue(source, lp, 'tokenLogprobs');
  const { model, b } = builderFor(source);
  const mask = b.cast(ensureInput(b, model, opts.mask ?? 'attention_mask', 'int64', ['batch', 'sequence']), 'float32');
  const valid = dropFirstColumn(b, mask); // [B, T]
  const count = b.reduceSum(valid, undefined, false);
  b.op('Identity', [count], {}, { names: ['token_count'] });
  const total = b.reduceSum(b.mul(lp, valid), undefined, false);
  b.op('Div', [b.neg(total), b.max(count, b.scalar(1))], {}, { names: [output] });
  b.output(output, output, 'float32', []);
  b.output('token_count', 'token_count', 'float32', []);
  uniquifyNodeNames(model.graph);
  return { model, outputs: { loss: output, tokenCount: 'token_count' } };
}

export interface WeightedLogProbLossOptions extends TokenLossOptions {
  /** [B, T] float per-token weights input (default `token_weights`). */
  weights?: string;
}

/** S = sum_{b, t} weights[b, t] * mask[b, t] * lp[b, t] (lp is 0 at t = 0), a scalar. */
export function addWeightedLogProbLoss(source: Model, opts: WeightedLogProbLossOptions = {}): HeadResult {
  const lp = opts.tokenLogprobs ?? 'token_logprobs';
  const output = opts.output ?? 'loss';
  requireValue(source, lp, 'tokenLogprobs');
  const { model, b } = builderFor(source);
  const mask = b.cast(ensureInput(b, model, opts.mask ?? 'attention_mask', 'int64', ['batch', 'sequence']), 'float32');
  const weights = ensureInput(b, model, opts.weights ?? 'token_weights', 'float32', ['batch', 'sequence']);
  const s = b.reduceSum(b.mul(b.mul(lp, weights), mask), undefined, false);
  b.op('Identity', [s], {}, { names: [output] });
  b.output(output, output, 'float32', []);
  uniquifyNodeNames(model.graph);
  return { model, outputs: { loss: output } };
}

export interface WeightedScoreLossOptions {
  /** The classifier's [B, K] scores (default `logits`). */
  scores?: string;
  /** [B, K] float weights input (default `score_weights`). */
  weights?: string;
  output?: string;
}

/** S = sum_{b, k} weights[b, k] * scores[b, k]: its gradient is the weighted gradient of the scores. */
export function addWeightedScoreLoss(source: Model, opts: WeightedScoreLossOptions = {}): HeadResult {
  const scores = opts.scores ?? 'logits';
  const output = opts.output ?? 'loss';
  requireValue(source, scores, 'scores');
  const { model, b } = builderFor(source);
  const weights = ensureInput(b, model, opts.weights ?? 'score_weights', 'float32', ['batch', 'labels']);
  const s = b.reduceSum(b.mul(scores, weights), undefined, false);
  b.op('Identity', [s], {}, { names: [output] });
  b.output(output, output, 'float32', []);
  uniquifyNodeNames(model.graph);
  return { model, outputs: { loss: output } };
}
