// One graph per training step (DESIGN.md: one run() holding forward, loss and backward trained at
// 1.21x torch eager; splitting it cost 1.35-1.7x): trainable initializers become inputs, and the
// loss, the metrics and every parameter's gradient become outputs.

import { fail } from '../../errors.js';
import { isFloat } from '../dtypes.js';
import type { Model } from '../ir.js';
import { fuseGeluForTraining } from '../rewrites/fused-elementwise.js';
import { maskWhereAsBias } from '../rewrites/mask-bias.js';
import { createShapeEnv, isUnknownDim, typeOf } from './shapes.js';
import { appendGradients, copyModel } from './walker.js';

export interface TrainingGraphSpec {
  /** Forward graph with the loss nodes already appended (GraphBuilder({graph: model.graph})). */
  model: Model;
  /** A scalar float value of the graph. */
  loss: string;
  /** Float initializers to train: promoted to graph inputs, their gradients become outputs. */
  trainable: string[];
  /** Extra values to expose (metrics). */
  outputs?: string[];
  /** Keep the forward graph's outputs (default true). */
  keepOutputs?: boolean;
  /** Output name of a parameter's gradient (default `grad.${param}`). */
  gradName?: (param: string) => string;
  /**
   * Rewrite tanh-GELU regions (GPT-2's gelu_new written in plain ops) into one FastGelu each before
   * differentiating (default true): same values up to float rounding, and the backward takes 12
   * elementwise passes instead of the ~20 the region's own ops differentiate into.
   */
  fuseGelu?: boolean;
  /**
   * Rewrite attention masks Where(keep, scores, fill <= -1e9) as Add(Mul(scores, keepF), bias), keepF
   * and bias built once per mask (default true): the same values and gradients, with broadcast
   * passes that onnxruntime runs faster than a broadcasting Where (src/graph/rewrites/mask-bias.ts).
   */
  maskAsBias?: boolean;
}

export interface TrainingGraph {
  model: Model;
  /** param -> gradient output name. */
  gradients: Map<string, string>;
  lossOutput: string;
  /** The first `forwardNodes` nodes are the forward (model and loss); the rest is the backward. */
  forwardNodes: number;
  /** The value holding dL/dL: every gradient of the backward depends on it. */
  seed: string;
}

const DEFAULT_GRAD_NAME = (param: string) => `grad.${param}`;

export function buildTrainingGraph(spec: TrainingGraphSpec): TrainingGraph {
  const fused = spec.fuseGelu === false ? undefined : fuseGeluForTraining(spec.model, [spec.loss, ...(spec.outputs ?? [])]);
  const masked = spec.maskAsBias === false ? undefined : maskWhereAsBias(fused ?? spec.model);
  const model = copyModel(masked ?? fused ?? spec.model);
  const graph = model.graph;
  const gradName = spec.gradName ?? DEFAULT_GRAD_NAME;
  const seen = new Set<string>();
  for (const p of spec.trainable) {
    if (seen.has(p)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `trainable parameter '${p}' is listed twice`, { parameter: p });
    seen.add(p);
    const t = graph.initializers.get(p);
    if (!t) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `trainable parameter '${p}' is not an initializer of graph ${graph.name}`, { parameter: p });
    if (!isFloat(t.dtype)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `trainable parameter '${p}' is ${t.dtype}; only float initializers can be trained`, { parameter: p });
    graph.initializers.delete(p);
    graph.inputs.push({ name: p, dtype: t.dtype, dims: [...t.dims] });
  }
  if (spec.keepOutputs === false) graph.outputs = [];
  const forwardNodes = graph.nodes.length;
  let seed = '';
  const gradients = appendGradients(model, spec.loss, spec.trainable, { names: new Map(spec.trainable.map((p) => [p, gradName(p)])), onSeed: (v) => (seed = v) });

  const env = createShapeEnv(model);
  const expose = (name: string) => {
    if (graph.outputs.some((o) => o.name === name)) return;
    const t = typeOf(env, name);
    if (!t) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `output '${name}' is not a value of graph ${graph.name}`, { output: name });
    // Symbolic dims inference could not name are left open rather than guessed.
    graph.outputs.push({ name, dtype: t.dtype, dims: t.dims?.some(isUnknownDim) ? undefined : t.dims });
  };
  expose(spec.loss);
  for (const m of spec.outputs ?? []) expose(m);
  for (const g of gradients.values()) expose(g);
  return { model, gradients, lossOutput: spec.loss, forwardNodes, seed };
}
