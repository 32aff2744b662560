// ONNX element types and their JavaScript storage: one table, so every conversion (proto <-> typed
// array, onnxruntime tensor type, byte size) is a lookup, not a switch.

export type DType =
  | 'float32' | 'float16' | 'bfloat16' | 'float64'
  | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64'
  | 'bool' | 'string';

export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array
  | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

interface DTypeInfo {
  /** TensorProto.DataType enum value. */
  onnx: number;
  /** Bytes per element (0 for strings). */
  bytes: number;
  /** Constructor of the typed array that stores it (float16/bfloat16 as raw Uint16 bits, bool as Uint8). */
  array: { new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray; new (length: number): TypedArray } | null;
  /** Type string onnxruntime-node's Tensor takes. */
  ort: string;
}

export const DTYPES: Record<DType, DTypeInfo> = {
  float32: { onnx: 1, bytes: 4, array: Float32Array, ort: 'float32' },
  uint8: { onnx: 2, bytes: 1, array: Uint8Array, ort: 'uint8' },
  int8: { onnx: 3, bytes: 1, array: Int8Array, ort: 'int8' },
  uint16: { onnx: 4, bytes: 2, array: Uint16Array, ort: 'uint16' },
  int16: { onnx: 5, bytes: 2, array: Int16Array, ort: 'int16' },
  int32: { onnx: 6, bytes: 4, array: Int32Array, ort: 'int32' },
  int64: { onnx: 7, bytes: 8, array: BigInt64Array, ort: 'int64' },
  string: { onnx: 8, bytes: 0, array: null, ort: 'string' },
  bool: { onnx: 9, bytes: 1, array: Uint8Array, ort: 'bool' },
  float16: { onnx: 10, bytes: 2, array: Uint16Array, ort: 'float16' },
  float64: { onnx: 11, bytes: 8, array: Float64Array, ort: 'float64' },
  uint32: { onnx: 12, bytes: 4, array: Uint32Array, ort: 'uint32' },
  uint64: { onnx: 13, bytes: 8, array: BigUint64Array, ort: 'uint64' },
  bfloat16: { onnx: 16, bytes: 2, array: Uint16Array, ort: 'bfloat16' },
};

const BY_ONNX = new Map<number, DType>(Object.entries(DTYPES).map(([k, v]) => [v.onnx, k as DType]));

export function dtypeFromOnnx(code: number): DType {
  const d = BY_ONNX.get(code);
  if (d === undefined) throw new Error(`ONNX element type ${code} is not supported by alignkit`);
  return d;
}

export function isFloat(d: DType): boolean {
  return d === 'float32' || d === 'float16' || d === 'bfloat16' || d === 'float64';
}

export function numel(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** A typed array of `dtype` holding `n` zeros. */
export function allocate(dtype: DType, n: number): TypedArray {
  const ctor = DTYPES[dtype].array;
  if (!ctor) throw new Error(`cannot allocate a numeric array for dtype ${dtype}`);
  return new ctor(n);
}

/** Copy little-endian bytes into a fresh, aligned typed array of `dtype`. */
export function fromBytes(dtype: DType, bytes: Uint8Array): TypedArray {
  const info = DTYPES[dtype];
  if (!info.array) throw new Error(`dtype ${dtype} has no byte representation`);
  const n = bytes.byteLength / info.bytes;
  const out = new info.array(n);
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
  return out;
}

export function toBytes(a: TypedArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}
