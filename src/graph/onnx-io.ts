// Load and save ONNX ModelProto files with the `onnx-proto` schema, converting to alignkit's IR.
// External data (`model.onnx_data`, as optimum and torch.onnx write for large models) is read
// straight into each tensor's own buffer and can be written on save.

import fs from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';
import { fail } from '../errors.js';
import { DTYPES, dtypeFromOnnx, fromBytes, numel, toBytes, type DType, type TypedArray } from './dtypes.js';
import type { Attribute, Dim, Graph, Model, Node, Tensor, ValueInfo } from './ir.js';

const { onnx } = onnxProto;
type Long = { toNumber(): number; toString(): string };
type IntLike = number | Long;

const toNum = (v: IntLike | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

// ---------------------------------------------------------------- decoding

interface DecodeContext {
  /** Directory that external-data locations are relative to; null for in-memory bytes. */
  baseDir: string | null;
  source: string;
  allocator?: LoadOptions['allocator'];
}

export interface LoadOptions {
  /**
   * Where float32 tensors stored as external data are read to (default: fresh arrays). A training
   * arena here puts the weights where the trainer keeps its parameters, and a trainer sharing its
   * source adopts them instead of copying: one model-sized set of fresh pages and of RSS less.
   */
  allocator?: { f32(n: number): Float32Array };
}

function readExternal(t: onnxProto.onnx.ITensorProto, dtype: DType, ctx: DecodeContext): TypedArray {
  const entries = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = entries.get('location');
  if (!location) throw fail('ALIGNKIT_ERR_ONNX_MODEL', `tensor ${t.name} in ${ctx.source} has external data but no location`);
  if (!ctx.baseDir) throw fail('ALIGNKIT_ERR_ONNX_MODEL', `tensor ${t.name} uses external data ${location}; load the model from its file path, not from bytes`);
  const file = path.join(ctx.baseDir, location);
  const count = numel((t.dims ?? []).map(toNum));
  const length = entries.has('length') ? Number(entries.get('length')) : count * DTYPES[dtype].bytes;
  const offset = Number(entries.get('offset') ?? 0);
  const out = dtype === 'float32' && ctx.allocator ? ctx.allocator.f32(count) : new DTYPES[dtype].array!(count);
  const target = toBytes(out);
  if (length !== target.byteLength) throw fail('ALIGNKIT_ERR_ONNX_MODEL', `tensor ${t.name}: external length ${length} != ${target.byteLength} bytes for its dims`);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `external data file ${file} for tensor ${t.name} cannot be opened`, { file }, e);
  }
  try {
    const got = fs.readSync(fd, target, 0, length, offset);
    if (got !== length) throw fail('ALIGNKIT_ERR_ONNX_MODEL', `external data file ${file} ends early for tensor ${t.name} (offset ${offset}, length ${length})`);
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

/** Typed fields per dtype when a tensor does not use raw_data. */
const TYPED_FIELDS: Partial<Record<DType, (t: onnxProto.onnx.ITensorProto) => TypedArray>> = {
  float32: (t) => Float32Array.from(t.floatData ?? []),
  float64: (t) => Float64Array.from(t.doubleData ?? []),
  int32: (t) => Int32Array.from(t.int32Data ?? []),
  int16: (t) => Int16Array.from(t.int32Data ?? []),
  int8: (t) => Int8Array.from(t.int32Data ?? []),
  uint16: (t) => Uint16Array.from(t.int32Data ?? []),
  uint8: (t) => Uint8Array.from(t.int32Data ?? []),
  bool: (t) => Uint8Array.from(t.int32Data ?? []),
  float16: (t) => Uint16Array.from(t.int32Data ?? []),
  bfloat16: (t) => Uint16Array.from(t.int32Data ?? []),
  int64: (t) => BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt(v.toString()))),
  uint32: (t) => Uint32Array.from((t.uint64Data ?? []).map(toNum)),
  uint64: (t) => BigUint64Array.from((t.uint64Data ?? []).map((v) => BigInt(v.toString()))),
};

function decodeTensor(t: onnxProto.onnx.ITensorProto, ctx: DecodeContext): Tensor {
  const dtype = dtypeFromOnnx(t.dataType ?? 0);
  const dims = (t.dims ?? []).map(toNum);
  if (dtype === 'string') {
    const strings = (t.stringData ?? []).map((b) => Buffer.from(b).toString('utf8'));
    return { dtype, dims, data: new Uint8Array(0), strings };
  }
  let data: TypedArray;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) data = readExternal(t, dtype, ctx);
  else if (t.rawData && t.rawData.length > 0) data = fromBytes(dtype, t.rawData);
  else data = TYPED_FIELDS[dtype]!(t);
  if (data.length !== numel(dims))
    throw fail('ALIGNKIT_ERR_ONNX_MODEL', `tensor ${t.name} in ${ctx.source} has ${data.length} values for dims [${dims}]`);
  return { dtype, dims, data };
}

function decodeValueInfo(v: onnxProto.onnx.IValueInfoProto): ValueInfo {
  const tt = v.type?.tensorType;
  const dtype = tt?.elemType ? dtypeFromOnnx(tt.elemType) : 'float32';
  const dims: Dim[] | undefined = tt?.shape ? (tt.shape.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? toNum(d.dimValue) : '?')) : undefined;
  return { name: v.name ?? '', dtype, dims };
}

const ATTR_DECODERS: Record<number, (a: onnxProto.onnx.IAttributeProto, ctx: DecodeContext) => Attribute> = {
  [onnx.AttributeProto.AttributeType.FLOAT]: (a) => ({ type: 'float', value: a.f ?? 0 }),
  [onnx.AttributeProto.AttributeType.INT]: (a) => ({ type: 'int', value: toNum(a.i) }),
  [onnx.AttributeProto.AttributeType.STRING]: (a) => ({ type: 'string', value: Buffer.from(a.s ?? []).toString('utf8') }),
  [onnx.AttributeProto.AttributeType.TENSOR]: (a, ctx) => ({ type: 'tensor', value: decodeTensor(a.t!, ctx) }),
  [onnx.AttributeProto.AttributeType.GRAPH]: (a, ctx) => ({ type: 'graph', value: decodeGraph(a.g!, ctx) }),
  [onnx.AttributeProto.AttributeType.FLOATS]: (a) => ({ type: 'floats', value: [...(a.floats ?? [])] }),
  [onnx.AttributeProto.AttributeType.INTS]: (a) => ({ type: 'ints', value: (a.ints ?? []).map(toNum) }),
  [onnx.AttributeProto.AttributeType.STRINGS]: (a) => ({ type: 'strings', value: (a.strings ?? []).map((s) => Buffer.from(s).toString('utf8')) }),
};

function decodeNode(n: onnxProto.onnx.INodeProto, index: number, ctx: DecodeContext): Node {
  const attrs: Record<string, Attribute> = {};
  for (const a of n.attribute ?? []) {
    const dec = ATTR_DECODERS[a.type ?? 0];
    if (!dec) throw fail('ALIGNKIT_ERR_ONNX_MODEL', `node ${n.name} (${n.opType}) attribute ${a.name} has unsupported type ${a.type}`);
    attrs[a.name ?? ''] = dec(a, ctx);
  }
  return {
    opType: n.opType ?? '',
    inputs: [...(n.input ?? [])],
    outputs: [...(n.output ?? [])],
    name: n.name || `${n.opType}_${index}`,
    domain: n.domain ?? '',
    attrs,
  };
}

function decodeGraph(g: onnxProto.onnx.IGraphProto, ctx: DecodeContext): Graph {
  const initializers = new Map<string, Tensor>();
  for (const t of g.initializer ?? []) initializers.set(t.name ?? '', decodeTensor(t, ctx));
  return {
    name: g.name ?? 'main',
    nodes: (g.node ?? []).map((n, i) => decodeNode(n, i, ctx)),
    // Models from older exporters list initializers among the inputs too; those are not runtime inputs.
    inputs: (g.input ?? []).map(decodeValueInfo).filter((v) => !initializers.has(v.name)),
    outputs: (g.output ?? []).map(decodeValueInfo),
    initializers,
    valueInfo: (g.valueInfo ?? []).map(decodeValueInfo),
  };
}

export function decodeModel(bytes: Uint8Array, baseDir: string | null = null, source = '<bytes>', opts: LoadOptions = {}): Model {
  let proto: onnxProto.onnx.ModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw fail('ALIGNKIT_ERR_ONNX_MODEL', `${source} is not a valid ONNX ModelProto: ${(e as Error).message}`, { file: source }, e);
  }
  if (!proto.graph) throw fail('ALIGNKIT_ERR_ONNX_MODEL', `${source} has no graph`, { file: source });
  const ctx = { baseDir, source, allocator: opts.allocator };
  return {
    irVersion: toNum(proto.irVersion as IntLike),
    opsetImports: (proto.opsetImport ?? []).map((o) => ({ domain: o.domain ?? '', version: toNum(o.version as IntLike) })),
    producerName: proto.producerName ?? '',
    producerVersion: proto.producerVersion ?? '',
    graph: decodeGraph(proto.graph, ctx),
    metadata: Object.fromEntries((proto.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? ''])),
  };
}

/** Load an ONNX file, resolving external data relative to its directory. */
export function loadModel(file: string, opts: LoadOptions = {}): Model {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `ONNX file ${file} cannot be read`, { file }, e);
  }
  return decodeModel(bytes, path.dirname(file), file, opts);
}

// ---------------------------------------------------------------- encoding

interface EncodeContext {
  /** Tensors at or above this many bytes go to the external file; Infinity keeps everything inline. */
  threshold: number;
  location: string;
  chunks: Uint8Array[];
  offset: number;
}

function encodeTensor(name: string, t: Tensor, ctx: EncodeContext | null): onnxProto.onnx.ITensorProto {
  const base = { name, dims: t.dims, dataType: DTYPES[t.dtype].onnx };
  if (t.dtype === 'string') return { ...base, stringData: (t.strings ?? []).map((s) => Buffer.from(s, 'utf8')) };
  const bytes = toBytes(t.data);
  if (ctx && bytes.byteLength >= ctx.threshold) {
    const offset = ctx.offset;
    ctx.chunks.push(bytes);
    ctx.offset += bytes.byteLength;
    return {
      ...base,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: 'location', value: ctx.location },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(bytes.byteLength) },
      ],
    };
  }
  return { ...base, rawData: bytes };
}

function encodeValueInfo(v: ValueInfo): onnxProto.onnx.IValueInfoProto {
  const shape = v.dims ? { dim: v.dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } : undefined;
  return { name: v.name, type: { tensorType: { elemType: DTYPES[v.dtype].onnx, shape } } };
}

const T = onnx.AttributeProto.AttributeType;
const ATTR_ENCODERS: { [K in Attribute['type']]: (a: Extract<Attribute, { type: K }>, ctx: EncodeContext | null) => onnxProto.onnx.IAttributeProto } = {
  float: (a) => ({ type: T.FLOAT, f: a.value }),
  int: (a) => ({ type: T.INT, i: a.value }),
  string: (a) => ({ type: T.STRING, s: Buffer.from(a.value, 'utf8') }),
  tensor: (a) => ({ type: T.TENSOR, t: encodeTensor('', a.value, null) }),
  graph: (a, ctx) => ({ type: T.GRAPH, g: encodeGraph(a.value, ctx) }),
  floats: (a) => ({ type: T.FLOATS, floats: a.value }),
  ints: (a) => ({ type: T.INTS, ints: a.value }),
  strings: (a) => ({ type: T.STRINGS, strings: a.value.map((s) => Buffer.from(s, 'utf8')) }),
};

function encodeNode(n: Node, ctx: EncodeContext | null): onnxProto.onnx.INodeProto {
  const attribute = Object.entries(n.attrs).map(([name, a]) => ({
    name,
    ...(ATTR_ENCODERS[a.type] as (x: Attribute, c: EncodeContext | null) => onnxProto.onnx.IAttributeProto)(a, ctx),
  }));
  return { opType: n.opType, input: n.inputs, output: n.outputs, name: n.name, domain: n.domain ?? '', attribute };
}

function encodeGraph(g: Graph, ctx: EncodeContext | null): onnxProto.onnx.IGraphProto {
  return {
    name: g.name,
    node: g.nodes.map((n) => encodeNode(n, ctx)),
    input: g.inputs.map(encodeValueInfo),
    output: g.outputs.map(encodeValueInfo),
    initializer: [...g.initializers].map(([name, t]) => encodeTensor(name, t, ctx)),
    valueInfo: g.valueInfo.map(encodeValueInfo),
  };
}

function encodeModelProto(model: Model, ctx: EncodeContext | null): Uint8Array {
  const proto = onnx.ModelProto.create({
    irVersion: model.irVersion,
    opsetImport: model.opsetImports,
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    graph: encodeGraph(model.graph, ctx),
    metadataProps: Object.entries(model.metadata).map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(proto).finish();
}

/** Serialize with every tensor inline (what onnxruntime's from-bytes session creation needs). */
export function encodeModel(model: Model): Uint8Array {
  return encodeModelProto(model, null);
}

export interface SaveOptions {
  /**
   * Write tensors of at least `externalThreshold` bytes to `<file>_data` (optimum's
   * `model.onnx_data` convention). Default: external only when the inline model would pass
   * protobuf's 2 GiB limit.
   */
  externalData?: boolean;
  externalThreshold?: number;
}

const PROTOBUF_LIMIT = 2 ** 31 - 1;

export function saveModel(model: Model, file: string, opts: SaveOptions = {}): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const location = `${path.basename(file)}_data`;
  const totalBytes = [...model.graph.initializers.values()].reduce((s, t) => s + t.data.byteLength, 0);
  const external = opts.externalData ?? totalBytes > PROTOBUF_LIMIT * 0.9;
  if (!external) {
    fs.writeFileSync(file, encodeModel(model));
    return;
  }
  const ctx: EncodeContext = { threshold: opts.externalThreshold ?? 1024, location, chunks: [], offset: 0 };
  const bytes = encodeModelProto(model, ctx);
  const dataFile = path.join(path.dirname(file), location);
  const fd = fs.openSync(dataFile, 'w');
  try {
    for (const c of ctx.chunks) fs.writeSync(fd, c);
  } finally {
    fs.closeSync(fd);
  }
  fs.writeFileSync(file, bytes);
}
