// Reverse-mode autodiff as an ONNX-to-ONNX transform.
//
// Design (STYLE.md point 2; tinygrad/micrograd's walker plus onnxruntime's gradient builder
// registry): a forward graph, with its loss nodes already appended, is extended in place with its
// backward graph, so one onnxruntime run() does forward, loss and backward (DESIGN.md measured
// 1.21x torch eager that way on this machine; onnxruntime-node has no training kernels, so the
// backward uses standard ops only).
// - walker.ts, written once: reachability (a value is differentiated only when it lies on a path
//   from a parameter to the loss: integer/shape/bool sub-graphs and Sin/Cos of positions drop out
//   by themselves), topological order, the reverse sweep, fan-out accumulation (Sum, or folding a
//   dense gradient into an embedding's scatter-add), and pruning of unused backward nodes.
// - shapes.ts (+ shape-rules.ts per op, dims.ts for symbolic dim arithmetic): static shape/dtype
//   inference with symbolic dims ('batch*seq', 'past + seq') and propagated shape contents, so
//   broadcast axes, ranks and reshape targets are static in the common cases; the rules fall back
//   to Shape-based forms (found at run time) only when they are not.
// - registry.ts + rules/: one small rule per op type (input i, output i, grad of output i,
//   attributes, a GraphBuilder), grouped by family; NON_DIFFERENTIABLE lists the ops with no
//   gradient by design, and an op in neither table on a parameter's path is an error naming it.
//   The rules emit the forms DESIGN.md found fast: Gemm transA/transB for 2-D products,
//   MatMul-against-Transpose for batched ones (fused by onnxruntime), ScatterND/ScatterElements
//   with reduction='add' for gathers, reused LayerNormalization statistics.
// - check.ts: one finite-difference checker for every rule and every model.
// - training-graph.ts: trainable initializers become inputs; loss, metrics and gradients outputs.
// Supported: default-domain opsets 13 and later (13-15 are raised to 16, where ScatterND and
// ScatterElements take reduction='add'; no op the rules emit changed meaning in between), float32
// and float64 graphs. Attribute-form Unsqueeze/Squeeze/Split exist only below opset 13.
export { buildTrainingGraph, type TrainingGraph, type TrainingGraphSpec } from './training-graph.js';
export { recomputeActivations, gradientReads, type RecomputedTraining, type RecomputeOptions } from './recompute.js';
export { gradientOf, appendGradients, copyModel, MIN_TRAINING_OPSET, type GradientOptions } from './walker.js';
export { GRADIENT_RULES, NON_DIFFERENTIABLE, STOP_GRADIENT_PREFIX, isStopGradient } from './registry.js';
export type { GradContext, GradientRule } from './types.js';
export {
  checkGradients, checkGradientCase, seededRandom,
  type GradientCheckOptions, type GradientCheckResult, type GradientCheckFailure, type GradientCheckCase,
} from './check.js';
export { normalSample } from '../../random.js';
export { createShapeEnv, inferNode, typeOf, sameDim, isUnknownDim, type ShapeEnv, type ValueType } from './shapes.js';
