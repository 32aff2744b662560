// The tiny vocabulary a gradient rule is written in (after onnxruntime's gradient builders:
// input i, output i, grad of output i, attributes, and a builder to emit nodes with).

import type { GraphBuilder, Value } from '../builder.js';
import type { DType } from '../dtypes.js';
import type { Dim, Node } from '../ir.js';

export interface GradContext {
  readonly node: Node;
  readonly g: GraphBuilder;
  /** Default-domain opset of the graph being written (decides attribute vs input forms). */
  readonly opset: number;
  /** Name of input i ('' when the optional input is omitted). */
  input(i: number): Value;
  /** Name of output i; `ensureOutput` adds an optional output the forward node did not expose. */
  output(i: number): Value;
  ensureOutput(i: number): Value;
  /** Gradient flowing into output i, undefined when none reaches it (a zero gradient). */
  dy(i?: number): Value | undefined;
  /** Gradient of output i, or zeros of its shape when none reaches it. */
  dyOrZeros(i: number): Value;
  /** Whether input i lies on a path from a trainable parameter (only those gradients are used). */
  wants(i: number): boolean;
  attrInt(name: string, fallback: number): number;
  attrFloat(name: string, fallback: number): number;
  attrInts(name: string): number[] | undefined;
  attrString(name: string, fallback: string): string;
  /** Static dims of a value, undefined when its rank is unknown. */
  dims(v: Value): Dim[] | undefined;
  /** Static rank; throws a clear error naming the node when it cannot be inferred. */
  rank(v: Value): number;
  dtype(v: Value): DType;
  /** Static integer contents of a value (initializer, Constant, or propagated Shape arithmetic). */
  constInts(v: Value): number[] | undefined;
  /** A float scalar in the dtype of this node's float tensors. */
  scalar(x: number): Value;
  int64s(values: readonly number[]): Value;
  /** The shape of v as an int64 tensor: a constant when static, else a Shape node. */
  shapeOf(v: Value): Value;
  /** Broadcast reduction: sum `grad` down to the shape of `like` (ReduceSum over broadcast axes, then Reshape). */
  sumToShape(grad: Value, like: Value): Value;
  zerosLike(v: Value): Value;
  /** Zeros of a given int64 shape value, in `dtype`. */
  zeros(shape: Value, dtype: DType): Value;
  /** Whether v was made by zerosLike/zeros here (peepholes fold scatters into such zeros). */
  isZeros(v: Value): boolean;
  /** ReduceX with axes in the form this opset takes (attribute before 18 except ReduceSum, input after). */
  reduce(op: 'ReduceSum' | 'ReduceMean' | 'ReduceMax', x: Value, axes: number[] | undefined, keepdims: boolean): Value;
  /** The node that produced v, if v is a node output. */
  producer(v: Value): Node | undefined;
  /** An error naming the op and node. */
  fail(message: string): Error;
}

/** A rule returns one gradient per input (undefined: no gradient, or not wanted). */
export type GradientRule = (c: GradContext) => (Value | undefined)[];
