// safetensors read/write (the Hugging Face format: 8-byte little-endian header length, a JSON header
// of {name: {dtype, shape, data_offsets}} plus optional __metadata__, then the raw little-endian
// bytes). Used for checkpoints and optimizer state; small enough that a dependency is not worth it.

import fs from 'node:fs';
import { fail } from '../errors.js';
import { DTYPES, fromBytes, numel, toBytes, type DType } from './dtypes.js';
import type { Tensor } from './ir.js';

// safetensors dtype names <-> alignkit dtypes.
const ST_NAMES: Partial<Record<DType, string>> = {
  float32: 'F32', float16: 'F16', bfloat16: 'BF16', float64: 'F64',
  int8: 'I8', uint8: 'U8', int16: 'I16', uint16: 'U16', int32: 'I32', uint32: 'U32', int64: 'I64', uint64: 'U64', bool: 'BOOL',
};
const FROM_ST = new Map(Object.entries(ST_NAMES).map(([k, v]) => [v, k as DType]));

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

export function encodeSafetensors(tensors: Map<string, Tensor> | Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    const st = ST_NAMES[t.dtype];
    if (!st) throw fail('ALIGNKIT_ERR_TENSOR', `tensor ${name}: dtype ${t.dtype} cannot be stored in safetensors`);
    header[name] = { dtype: st, shape: t.dims, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  // The spec allows padding the header with spaces; pad to 8 bytes so the data is aligned.
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const [, t] of entries) {
    out.set(toBytes(t.data), pos);
    pos += t.data.byteLength;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array, source = '<bytes>'): SafetensorsFile {
  if (bytes.byteLength < 8) throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${source} is too short to be a safetensors file`, { file: source });
  const headerLen = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + headerLen > bytes.byteLength) throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${source}: safetensors header length ${headerLen} exceeds the file`, { file: source });
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString('utf8'));
  } catch (e) {
    throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${source}: safetensors header is not JSON`, { file: source }, e);
  }
  const base = 8 + headerLen;
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = info as Record<string, string>;
      continue;
    }
    const { dtype: st, shape, data_offsets } = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const dtype = FROM_ST.get(st);
    if (!dtype) throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${source}: tensor ${name} has unsupported dtype ${st}`, { file: source, field: name });
    const [start, end] = data_offsets;
    if (end - start !== numel(shape) * DTYPES[dtype].bytes || base + end > bytes.byteLength)
      throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${source}: tensor ${name} offsets [${start}, ${end}] do not fit shape [${shape}]`, { file: source, field: name });
    tensors.set(name, { dtype, dims: shape, data: fromBytes(dtype, bytes.subarray(base + start, base + end)) });
  }
  return { tensors, metadata };
}

export function saveSafetensors(file: string, tensors: Map<string, Tensor> | Record<string, Tensor>, metadata?: Record<string, string>): void {
  // Write to a temporary name and rename, so a crash never leaves a half-written checkpoint.
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, encodeSafetensors(tensors, metadata));
  fs.renameSync(tmp, file);
}

export function loadSafetensors(file: string): SafetensorsFile {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw fail('ALIGNKIT_ERR_FILE_NOT_FOUND', `safetensors file ${file} cannot be read`, { file }, e);
  }
  return decodeSafetensors(bytes, file);
}
