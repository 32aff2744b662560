// One registry of gradient rules keyed by op type, and a separate table of ops that have no
// gradient by design (onnxruntime's gradient builder registry keeps the same distinction): an op
// in NON_DIFFERENTIABLE cuts the path from parameters; an op in neither table on such a path is an
// error (ALIGNKIT_ERR_NO_GRADIENT_RULE) naming it.

import { ACTIVATION_RULES } from './rules/activations.js';
import { ELEMENTWISE_RULES } from './rules/elementwise.js';
import { GATHER_RULES } from './rules/gather.js';
import { MATMUL_RULES } from './rules/matmul.js';
import { NORMALIZATION_RULES } from './rules/normalization.js';
import { REDUCTION_RULES } from './rules/reductions.js';
import { SHAPE_RULES } from './rules/shape-ops.js';
import { SOFTMAX_RULES } from './rules/softmax.js';
import type { GradientRule } from './types.js';

export const GRADIENT_RULES: Readonly<Record<string, GradientRule>> = Object.freeze({
  ...ELEMENTWISE_RULES,
  ...ACTIVATION_RULES,
  ...MATMUL_RULES,
  ...REDUCTION_RULES,
  ...NORMALIZATION_RULES,
  ...SOFTMAX_RULES,
  ...SHAPE_RULES,
  ...GATHER_RULES,
});

const INTEGER_OR_SHAPE = 'computes shapes, indices or integers';
const BOOLEAN = 'produces booleans';
const PIECEWISE_CONSTANT = 'is piecewise constant (zero gradient almost everywhere)';
const CONSTANT = 'produces a constant or random value that does not depend on its inputs\' values';

/** Ops with no gradient by design, with the reason. Their outputs are never differentiated. */
export const NON_DIFFERENTIABLE: Readonly<Record<string, string>> = Object.freeze({
  Shape: INTEGER_OR_SHAPE, Size: INTEGER_OR_SHAPE, Range: INTEGER_OR_SHAPE, NonZero: INTEGER_OR_SHAPE,
  ArgMax: INTEGER_OR_SHAPE, ArgMin: INTEGER_OR_SHAPE, OneHot: INTEGER_OR_SHAPE,
  Equal: BOOLEAN, Less: BOOLEAN, Greater: BOOLEAN, LessOrEqual: BOOLEAN, GreaterOrEqual: BOOLEAN,
  Not: BOOLEAN, And: BOOLEAN, Or: BOOLEAN, Xor: BOOLEAN, IsNaN: BOOLEAN, IsInf: BOOLEAN,
  Sign: PIECEWISE_CONSTANT, Floor: PIECEWISE_CONSTANT, Ceil: PIECEWISE_CONSTANT, Round: PIECEWISE_CONSTANT,
  ConstantOfShape: CONSTANT, Constant: CONSTANT, RandomNormal: CONSTANT, RandomUniform: CONSTANT,
  RandomNormalLike: CONSTANT, RandomUniformLike: CONSTANT, Bernoulli: CONSTANT, Multinomial: CONSTANT, EyeLike: CONSTANT,
});

/**
 * Stop-gradient. ONNX has no such op, so it is an Identity whose node name starts with this prefix
 * (`GraphBuilder.stopGradient` emits it): the value passes unchanged at run time, and the walker
 * treats the node like a NON_DIFFERENTIABLE one, so no gradient flows back through it.
 */
export const STOP_GRADIENT_PREFIX = 'StopGradient';

export function isStopGradient(n: { opType: string; name: string }): boolean {
  return n.opType === 'Identity' && n.name.startsWith(STOP_GRADIENT_PREFIX);
}
