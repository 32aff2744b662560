// A small typed ONNX graph builder. Values are names (strings) so that the IR, the builder and the
// autodiff speak the same language; every method appends nodes to one Graph and returns the names
// of what it produced. Used for test fixtures, the shipped models, losses and gradient rules.

import { fail } from '../errors.js';
import { DTYPES, type DType, type TypedArray } from './dtypes.js';
import { emptyGraph, type Attribute, type Dim, type Graph, type Model, type Node, type Tensor } from './ir.js';

export type Value = string;

/** Attribute values as a caller writes them; numbers become int or float by the table below. */
export type AttrInput = number | string | number[] | string[] | Tensor | Attribute;

// Attributes whose numbers are floats in the ONNX operator schemas (everything else numeric is int).
const FLOAT_ATTRS = new Set(['alpha', 'beta', 'epsilon', 'gamma', 'ratio', 'bias', 'lambd', 'momentum', 'spatial_scale', 'min', 'max', 'value_float', 'value_floats', 'scale', 'seed']);

function isAttribute(v: AttrInput): v is Attribute {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'type' in v && 'value' in v && !('dims' in v);
}

function toAttribute(name: string, v: AttrInput): Attribute {
  if (isAttribute(v)) return v;
  const float = FLOAT_ATTRS.has(name);
  if (typeof v === 'number') return float ? { type: 'float', value: v } : { type: 'int', value: v };
  if (typeof v === 'string') return { type: 'string', value: v };
  if (Array.isArray(v)) {
    if (v.length > 0 && typeof v[0] === 'string') return { type: 'strings', value: v as string[] };
    return float ? { type: 'floats', value: v as number[] } : { type: 'ints', value: v as number[] };
  }
  return { type: 'tensor', value: v };
}

/** IR version that matches a default-domain opset (onnx/onnx docs/Versioning.md). */
export function irVersionFor(opset: number): number {
  if (opset <= 15) return 8;
  if (opset <= 19) return opset <= 17 ? 8 : 9;
  if (opset <= 21) return 10;
  return 11;
}

export interface OpOptions {
  /** Number of outputs (default 1). */
  outputs?: number;
  /** Explicit output names; otherwise unique names derived from the op type. */
  names?: string[];
  domain?: string;
  name?: string;
}

export class GraphBuilder {
  readonly graph: Graph;
  readonly opset: number;
  private counter = 0;
  private readonly used = new Set<string>();
  private readonly extraDomains = new Map<string, number>();

  constructor(opts: { name?: string; opset?: number; graph?: Graph } = {}) {
    this.opset = opts.opset ?? 17;
    this.graph = opts.graph ?? emptyGraph(opts.name ?? 'main');
    for (const v of this.graph.inputs) this.used.add(v.name);
    // Node names and value names share one pool: onnxruntime rejects two nodes with one name.
    for (const n of this.graph.nodes) {
      this.used.add(n.name);
      for (const o of n.outputs) this.used.add(o);
    }
    for (const k of this.graph.initializers.keys()) this.used.add(k);
  }

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    let name = `${prefix}_${this.counter++}`;
    while (this.used.has(name)) name = `${prefix}_${this.counter++}`;
    this.used.add(name);
    this.freshNames.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.used.has(name)) throw fail('ALIGNKIT_ERR_GRAPH_BUILD', `value name ${name} is already used in graph ${this.graph.name}`);
    this.used.add(name);
    return name;
  }

  useDomain(domain: string, version: number): void {
    this.extraDomains.set(domain, version);
  }

  // ------------------------------------------------------------ graph interface

  input(name: string, dtype: DType, dims: Dim[]): Value {
    this.graph.inputs.push({ name: this.claim(name), dtype, dims });
    return name;
  }

  /** Mark `value` as a graph output named `name` (an Identity is added when the names differ). */
  output(value: Value, name: string = value, dtype: DType = 'float32', dims?: Dim[]): Value {
    let v = value;
    if (name !== value) v = this.op('Identity', [value], {}, { names: [name] })[0]!;
    this.graph.outputs.push({ name: v, dtype, dims });
    return v;
  }

  initializer(name: string, tensor: Tensor): Value;
  initializer(name: string, data: TypedArray, dims: number[], dtype?: DType): Value;
  initializer(name: string, a: Tensor | TypedArray, dims?: number[], dtype?: DType): Value {
    const t: Tensor = ArrayBuffer.isView(a) ? { dtype: dtype ?? dtypeOfArray(a), dims: dims ?? [a.length], data: a } : a;
    const n = t.dims.reduce((x, y) => x * y, 1);
    if (t.dtype !== 'string' && t.data.length !== n)
      throw fail('ALIGNKIT_ERR_GRAPH_BUILD', `initializer ${name} has ${t.data.length} values for dims [${t.dims}]`);
    this.graph.initializers.set(this.claimUnlessFresh(name), t);
    return name;
  }

  private readonly freshNames = new Set<string>();
  private claimUnlessFresh(name: string): string {
    if (this.freshNames.delete(name)) return name;
    return this.claim(name);
  }

  /** A constant tensor (stored as an initializer with a generated name). */
  constant(data: TypedArray, dims: number[], dtype?: DType, prefix = 'const'): Value {
    return this.initializer(this.fresh(prefix), data, dims, dtype);
  }

  scalar(value: number, dtype: DType = 'float32'): Value {
    if (dtype === 'int64') return this.constant(BigInt64Array.of(BigInt(value)), [], 'int64');
    const ctor = DTYPES[dtype].array!;
    const a = new ctor(1);
    (a as Float32Array)[0] = value;
    return this.constant(a, [], dtype);
  }

  int64s(values: readonly number[]): Value {
    return this.constant(BigInt64Array.from(values.map((v) => BigInt(v))), [values.length], 'int64');
  }

  /** Append one node; returns its output names. */
  op(opType: string, inputs: Value[], attrs: Record<string, AttrInput> = {}, opts: OpOptions = {}): Value[] {
    const count = opts.names?.length ?? opts.outputs ?? 1;
    const outputs = opts.names ? opts.names.map((n) => (n === '' ? '' : this.claim(n))) : Array.from({ length: count }, () => this.fresh(opType.toLowerCase()));
    const node: Node = {
      opType,
      inputs,
      outputs,
      name: opts.name ?? this.fresh(`${opType}_node`),
      domain: opts.domain ?? '',
      attrs: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, toAttribute(k, v)])),
    };
    this.graph.nodes.push(node);
    return outputs;
  }

  /** Single-output op. */
  op1(opType: string, inputs: Value[], attrs: Record<string, AttrInput> = {}, opts: OpOptions = {}): Value {
    return this.op(opType, inputs, attrs, opts)[0]!;
  }

  // ------------------------------------------------------------ arithmetic
  add(a: Value, b: Value): Value { return this.op1('Add', [a, b]); }
  sub(a: Value, b: Value): Value { return this.op1('Sub', [a, b]); }
  mul(a: Value, b: Value): Value { return this.op1('Mul', [a, b]); }
  div(a: Value, b: Value): Value { return this.op1('Div', [a, b]); }
  pow(a: Value, b: Value): Value { return this.op1('Pow', [a, b]); }
  neg(x: Value): Value { return this.op1('Neg', [x]); }
  abs(x: Value): Value { return this.op1('Abs', [x]); }
  exp(x: Value): Value { return this.op1('Exp', [x]); }
  log(x: Value): Value { return this.op1('Log', [x]); }
  sqrt(x: Value): Value { return this.op1('Sqrt', [x]); }
  reciprocal(x: Value): Value { return this.op1('Reciprocal', [x]); }
  tanh(x: Value): Value { return this.op1('Tanh', [x]); }
  erf(x: Value): Value { return this.op1('Erf', [x]); }
  sigmoid(x: Value): Value { return this.op1('Sigmoid', [x]); }
  softplus(x: Value): Value { return this.op1('Softplus', [x]); }
  relu(x: Value): Value { return this.op1('Relu', [x]); }
  sin(x: Value): Value { return this.op1('Sin', [x]); }
  cos(x: Value): Value { return this.op1('Cos', [x]); }
  min(...xs: Value[]): Value { return this.op1('Min', xs); }
  max(...xs: Value[]): Value { return this.op1('Max', xs); }
  identity(x: Value): Value { return this.op1('Identity', [x]); }
  /** The value unchanged, with no gradient flowing back through it (see autodiff/registry.ts). */
  stopGradient(x: Value): Value { return this.op1('Identity', [x], {}, { name: this.fresh('StopGradient') }); }
  where(cond: Value, a: Value, b: Value): Value { return this.op1('Where', [cond, a, b]); }
  equal(a: Value, b: Value): Value { return this.op1('Equal', [a, b]); }
  less(a: Value, b: Value): Value { return this.op1('Less', [a, b]); }
  greater(a: Value, b: Value): Value { return this.op1('Greater', [a, b]); }
  not(x: Value): Value { return this.op1('Not', [x]); }
  clip(x: Value, min?: Value, max?: Value): Value { return this.op1('Clip', [x, min ?? '', max ?? ''].slice(0, max ? 3 : min ? 2 : 1)); }
  cast(x: Value, to: DType): Value { return this.op1('Cast', [x], { to: DTYPES[to].onnx }); }

  // ------------------------------------------------------------ linear algebra and nn
  matMul(a: Value, b: Value): Value { return this.op1('MatMul', [a, b]); }
  gemm(a: Value, b: Value, c?: Value, opts: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number } = {}): Value {
    const attrs: Record<string, AttrInput> = {};
    if (opts.transA) attrs.transA = 1;
    if (opts.transB) attrs.transB = 1;
    if (opts.alpha !== undefined) attrs.alpha = opts.alpha;
    if (opts.beta !== undefined) attrs.beta = opts.beta;
    return this.op1('Gemm', c ? [a, b, c] : [a, b], attrs);
  }
  softmax(x: Value, axis = -1): Value { return this.op1('Softmax', [x], { axis }); }
  logSoftmax(x: Value, axis = -1): Value { return this.op1('LogSoftmax', [x], { axis }); }
  /** LayerNormalization (opset 17) over the trailing axes from `axis`. */
  layerNorm(x: Value, scale: Value, bias: Value | undefined, opts: { axis?: number; epsilon?: number } = {}): Value {
    return this.op1('LayerNormalization', bias ? [x, scale, bias] : [x, scale], { axis: opts.axis ?? -1, epsilon: opts.epsilon ?? 1e-5 });
  }
  /** GELU: the `Gelu` op from opset 20, the exact erf form below it. */
  gelu(x: Value, approximate: 'none' | 'tanh' = 'none'): Value {
    if (this.opset >= 20) return this.op1('Gelu', [x], { approximate });
    const half = this.scalar(0.5);
    const inner = this.erf(this.mul(x, this.scalar(Math.SQRT1_2)));
    return this.mul(this.mul(x, half), this.add(inner, this.scalar(1)));
  }

  // ------------------------------------------------------------ reductions (input or attribute axes by opset)
  private reduce(op: string, x: Value, axes: number[] | undefined, keepdims: boolean, inputFormSince: number): Value {
    const attrs: Record<string, AttrInput> = { keepdims: keepdims ? 1 : 0 };
    if (axes === undefined) return this.op1(op, [x], attrs);
    if (this.opset >= inputFormSince) return this.op1(op, [x, this.int64s(axes)], attrs);
    return this.op1(op, [x], { ...attrs, axes });
  }
  reduceSum(x: Value, axes?: number[], keepdims = true): Value { return this.reduce('ReduceSum', x, axes, keepdims, 13); }
  reduceMean(x: Value, axes?: number[], keepdims = true): Value { return this.reduce('ReduceMean', x, axes, keepdims, 18); }
  reduceMax(x: Value, axes?: number[], keepdims = true): Value { return this.reduce('ReduceMax', x, axes, keepdims, 18); }
  reduceLogSumExp(x: Value, axes?: number[], keepdims = true): Value { return this.reduce('ReduceLogSumExp', x, axes, keepdims, 18); }

  // ------------------------------------------------------------ shapes
  shape(x: Value): Value { return this.op1('Shape', [x]); }
  reshape(x: Value, shape: Value | number[]): Value { return this.op1('Reshape', [x, Array.isArray(shape) ? this.int64s(shape) : shape]); }
  transpose(x: Value, perm: number[]): Value { return this.op1('Transpose', [x], { perm }); }
  unsqueeze(x: Value, axes: number[]): Value { return this.op1('Unsqueeze', [x, this.int64s(axes)]); }
  squeeze(x: Value, axes?: number[]): Value { return this.op1('Squeeze', axes ? [x, this.int64s(axes)] : [x]); }
  concat(xs: Value[], axis: number): Value { return this.op1('Concat', xs, { axis }); }
  split(x: Value, sizes: number[], axis: number): Value[] {
    return this.op('Split', [x, this.int64s(sizes)], { axis }, { outputs: sizes.length });
  }
  slice(x: Value, starts: number[], ends: number[], axes?: number[], steps?: number[]): Value {
    const ins = [x, this.int64s(starts), this.int64s(ends)];
    if (axes) ins.push(this.int64s(axes));
    if (steps) ins.push(this.int64s(steps));
    return this.op1('Slice', ins);
  }
  gather(x: Value, indices: Value, axis = 0): Value { return this.op1('Gather', [x, indices], { axis }); }
  gatherElements(x: Value, indices: Value, axis: number): Value { return this.op1('GatherElements', [x, indices], { axis }); }
  expand(x: Value, shape: Value): Value { return this.op1('Expand', [x, shape]); }
  trilu(x: Value, upper: boolean, k?: Value): Value { return this.op1('Trilu', k ? [x, k] : [x], { upper: upper ? 1 : 0 }); }
  range(start: Value, limit: Value, delta: Value): Value { return this.op1('Range', [start, limit, delta]); }
  constantOfShape(shape: Value, value: number, dtype: DType = 'float32'): Value {
    const a = new (DTYPES[dtype].array!)(1);
    if (dtype === 'int64') (a as BigInt64Array)[0] = BigInt(value);
    else (a as Float32Array)[0] = value;
    return this.op1('ConstantOfShape', [shape], { value: { dtype, dims: [1], data: a } });
  }

  // ------------------------------------------------------------ model
  toModel(opts: { producerName?: string; metadata?: Record<string, string> } = {}): Model {
    return {
      irVersion: irVersionFor(this.opset),
      opsetImports: [{ domain: '', version: this.opset }, ...[...this.extraDomains].map(([domain, version]) => ({ domain, version }))],
      producerName: opts.producerName ?? 'alignkit',
      producerVersion: '0.1.0',
      graph: this.graph,
      metadata: opts.metadata ?? {},
    };
  }
}

const ARRAY_DTYPES: [Function, DType][] = [
  [Float32Array, 'float32'], [Float64Array, 'float64'], [Int32Array, 'int32'], [BigInt64Array, 'int64'],
  [Uint8Array, 'uint8'], [Int8Array, 'int8'], [Uint16Array, 'uint16'], [Int16Array, 'int16'],
  [Uint32Array, 'uint32'], [BigUint64Array, 'uint64'],
];

export function dtypeOfArray(a: TypedArray): DType {
  for (const [ctor, d] of ARRAY_DTYPES) if (a instanceof ctor) return d;
  throw fail('ALIGNKIT_ERR_TENSOR', `unsupported typed array ${a.constructor.name}`);
}
