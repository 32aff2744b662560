// A CPU Session over onnxruntime's C API (src/graph/ort-capi.ts) instead of onnxruntime-node's
// binding: same feeds and Tensors, but outputs the caller pre-allocates (`run`'s `into`) are written
// in place and never copied back into JavaScript, and a run makes no allocation on the JS heap beyond
// the outputs it was asked to fetch. Runs are asynchronous (on one of koffi's worker threads), like
// the binding's. Tensors passed in must not be touched by JavaScript until the run settles.

import type ort from 'onnxruntime-node';
import { fail } from '../errors.js';
import { DTYPES, numel, type DType, type TypedArray } from './dtypes.js';
import type { Model, Tensor } from './ir.js';
import { encodeModel } from './onnx-io.js';
import { check, ortCApi, takeString, type OrtCApi, type Pointer } from './ort-capi.js';
import { Session, spinningConfig, type Feed, type SessionOptions } from './runtime.js';

// GraphOptimizationLevel (onnxruntime_c_api.h).
const OPTIMIZATION_LEVEL = { disabled: 0, basic: 1, extended: 2, all: 99 } as const;
// ExecutionMode (onnxruntime_c_api.h).
const EXECUTION_MODE = { sequential: 0, parallel: 1 } as const;
// ONNXType (onnxruntime_c_api.h).
const ONNX_TYPE_TENSOR = 1;
const DTYPE_OF_ONNX = new Map(Object.entries(DTYPES).map(([name, info]) => [info.onnx, name as DType]));

/** Whether sessions can be opened here through the C API. */
export function nativeSessionsAvailable(): boolean {
  return ortCApi() !== null;
}

function callAsync(f: { async(...args: unknown[]): void }, ...args: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => f.async(...args, (err: unknown, res: unknown) => (err ? reject(err) : resolve(res))));
}

function sessionOptions(c: OrtCApi, o: SessionOptions): bigint {
  const out: Pointer[] = [null];
  check(c, c.fn.CreateSessionOptions(out), 'CreateSessionOptions');
  const so = out[0]!;
  try {
    const f = c.fn;
    check(c, f.SetSessionLogSeverityLevel(so, 3), 'SetSessionLogSeverityLevel');
    check(c, f.SetSessionGraphOptimizationLevel(so, OPTIMIZATION_LEVEL[o.graphOptimization ?? 'all']), 'SetSessionGraphOptimizationLevel');
    if (o.intraOpThreads !== undefined) check(c, f.SetIntraOpNumThreads(so, o.intraOpThreads), 'SetIntraOpNumThreads');
    if (o.interOpThreads !== undefined) check(c, f.SetInterOpNumThreads(so, o.interOpThreads), 'SetInterOpNumThreads');
    if (o.executionMode !== undefined) check(c, f.SetSessionExecutionMode(so, EXECUTION_MODE[o.executionMode]), 'SetSessionExecutionMode');
    if (o.memoryArena !== undefined) check(c, (o.memoryArena ? f.EnableCpuMemArena : f.DisableCpuMemArena)(so), 'CpuMemArena');
    if (o.memoryPattern !== undefined) check(c, (o.memoryPattern ? f.EnableMemPattern : f.DisableMemPattern)(so), 'MemPattern');
    if (o.profile !== undefined) check(c, f.EnableProfiling(so, o.profile), 'EnableProfiling');
    const spin = spinningConfig(o.allowSpinning);
    const config: Record<string, string> = { 'session.intra_op.allow_spinning': spin.intra_op.allow_spinning, 'session.inter_op.allow_spinning': spin.inter_op.allow_spinning };
    if (spin.force_spinning_stop) config['session.force_spinning_stop'] = spin.force_spinning_stop;
    if (o.disabledOptimizers?.length) config['optimization.disable_specified_optimizers'] = o.disabledOptimizers.join(',');
    for (const [key, value] of Object.entries(config)) check(c, f.AddSessionConfigEntry(so, key, value), `session config ${key}`);
    return so;
  } catch (e) {
    c.fn.ReleaseSessionOptions(so);
    throw e;
  }
}

function names(c: OrtCApi, session: bigint, count: 'SessionGetInputCount' | 'SessionGetOutputCount', get: 'SessionGetInputName' | 'SessionGetOutputName'): string[] {
  const n: number[] = [0];
  check(c, c.fn[count](session, n), count);
  return Array.from({ length: Number(n[0]) }, (_, i) => {
    const name: Pointer[] = [null];
    check(c, c.fn[get](session, i, c.allocator, name), get);
    return takeString(c, name[0]!);
  });
}

/** An input's entry as onnxruntime-node's `inputMetadata` gives it: whether it is a tensor, and of which element type. */
function inputMetadata(c: OrtCApi, session: bigint, name: string, i: number): { name: string; isTensor: boolean; type?: string } {
  const typeInfo: Pointer[] = [null];
  check(c, c.fn.SessionGetInputTypeInfo(session, i, typeInfo), 'SessionGetInputTypeInfo');
  try {
    const kind: number[] = [0];
    check(c, c.fn.GetOnnxTypeFromTypeInfo(typeInfo[0], kind), 'GetOnnxTypeFromTypeInfo');
    if (kind[0] !== ONNX_TYPE_TENSOR) return { name, isTensor: false };
    const info: Pointer[] = [null];
    check(c, c.fn.CastTypeInfoToTensorInfo(typeInfo[0], info), 'CastTypeInfoToTensorInfo'); // owned by typeInfo
    const element: number[] = [0];
    check(c, c.fn.GetTensorElementType(info[0], element), 'GetTensorElementType');
    const dtype = DTYPE_OF_ONNX.get(element[0]!);
    return { name, isTensor: true, ...(dtype && { type: DTYPES[dtype].ort }) };
  } finally {
    c.fn.ReleaseTypeInfo(typeInfo[0]);
  }
}

interface TensorLike {
  dtype: DType;
  dims: readonly number[];
  data: TypedArray;
}

function tensorOf(name: string, v: Feed, source: string): TensorLike {
  const t = 'type' in v && 'location' in v ? { dtype: (v as ort.Tensor).type as DType, dims: (v as ort.Tensor).dims, data: (v as ort.Tensor).data as TypedArray } : (v as Tensor);
  if (t.dtype === 'string') throw fail('ALIGNKIT_ERR_TENSOR', `feed ${name} of ${source} is a string tensor, which the C API session does not take`, { field: name });
  if (t.data.length !== numel(t.dims)) throw fail('ALIGNKIT_ERR_TENSOR', `tensor ${name} has ${t.data.length} values for dims [${t.dims}]`, { field: name });
  return t;
}

// A byte to point empty tensors at: onnxruntime wants a valid address even for zero elements.
const EMPTY = new Uint8Array(8);

export class NativeSession extends Session {
  private released = false;
  private readonly inflight = new Set<Promise<unknown>>();

  private constructor(
    private readonly c: OrtCApi,
    private readonly handle: bigint,
    inputs: string[],
    outputs: string[],
    source: string,
    opts: SessionOptions,
  ) {
    // In place of the base class's onnxruntime-node session: what callers read from it (the names and
    // the inputs' element types, src/models/feeds.ts); every method that would run it is overridden.
    const described = { inputNames: inputs, outputNames: outputs, inputMetadata: inputs.map((name, i) => inputMetadata(c, handle, name, i)) };
    super(described as unknown as ort.InferenceSession, source, opts);
  }

  /** A session from a model file (its external data beside it), the bytes of one, or an in-memory Model. */
  static async open(src: string | Uint8Array | Model, opts: SessionOptions = {}): Promise<NativeSession> {
    const c = ortCApi();
    if (!c) throw fail('ALIGNKIT_ERR_SESSION', 'onnxruntime\'s C API is not reachable here (koffi did not load)');
    const source = typeof src === 'string' ? src : src instanceof Uint8Array ? '<bytes>' : `<model ${src.graph.name}>`;
    const so = sessionOptions(c, opts);
    const out: Pointer[] = [null];
    try {
      if (typeof src === 'string') check(c, await callAsync(c.fn.CreateSession, c.env, src, so, out), 'CreateSession');
      else {
        const bytes = src instanceof Uint8Array ? src : encodeModel(src);
        check(c, await callAsync(c.fn.CreateSessionFromArray, c.env, bytes, bytes.byteLength, so, out), 'CreateSessionFromArray');
      }
    } catch (e) {
      throw fail('ALIGNKIT_ERR_SESSION', `onnxruntime could not load ${source}: ${(e as Error).message}`, { source }, e);
    } finally {
      c.fn.ReleaseSessionOptions(so);
    }
    const handle = out[0]!;
    return new NativeSession(c, handle, names(c, handle, 'SessionGetInputCount', 'SessionGetInputName'), names(c, handle, 'SessionGetOutputCount', 'SessionGetOutputName'), source, opts);
  }

  override get copiesOutputs(): boolean {
    return false;
  }

  /** An OrtValue over the tensor's own bytes (released by the caller after the run). */
  private valueOver(name: string, t: TensorLike): bigint {
    const info = DTYPES[t.dtype];
    const bytes = t.data.length * info.bytes;
    const out: Pointer[] = [null];
    const data = bytes === 0 ? EMPTY : t.data;
    check(this.c, this.c.fn.CreateTensorWithDataAsOrtValue(this.c.cpuMemory, this.c.koffi.address(data), bytes, t.dims.map(BigInt), t.dims.length, info.onnx, out), `tensor ${name}`);
    return out[0]!;
  }

  /** Copy an output onnxruntime allocated into a JavaScript Tensor. */
  private read(value: bigint): Tensor {
    const f = this.c.fn;
    const info: Pointer[] = [null];
    check(this.c, f.GetTensorTypeAndShape(value, info), 'GetTensorTypeAndShape');
    try {
      const type: number[] = [0];
      const rank: number[] = [0];
      check(this.c, f.GetTensorElementType(info[0], type), 'GetTensorElementType');
      check(this.c, f.GetDimensionsCount(info[0], rank), 'GetDimensionsCount');
      const dims64 = new BigInt64Array(Number(rank[0]));
      if (dims64.length > 0) check(this.c, f.GetDimensions(info[0], dims64, dims64.length), 'GetDimensions');
      const dims = [...dims64].map(Number);
      const dtype = DTYPE_OF_ONNX.get(type[0]!);
      if (!dtype || dtype === 'string') throw fail('ALIGNKIT_ERR_SESSION', `${this.source} returned an output of ONNX type ${type[0]}, which the C API session does not read`);
      const { array, bytes } = DTYPES[dtype];
      const n = numel(dims);
      const data = new array!(n);
      if (n > 0) {
        const ptr: Pointer[] = [null];
        check(this.c, f.GetTensorMutableData(value, ptr), 'GetTensorMutableData');
        new Uint8Array(data.buffer).set(new Uint8Array(this.c.koffi.view(ptr[0], n * bytes)));
      }
      return { dtype, dims, data };
    } finally {
      f.ReleaseTensorTypeAndShapeInfo(info[0]);
    }
  }

  override async run(feeds: Record<string, Feed>, fetches?: readonly string[], into?: Record<string, Feed>): Promise<Record<string, Tensor>> {
    if (this.released) throw fail('ALIGNKIT_ERR_SESSION', `run of ${this.source} after release`, { source: this.source });
    // Outputs written into `into` run whether or not `fetches` names them, as with the binding.
    const wanted = [...new Set([...(fetches ?? this.outputNames), ...Object.keys(into ?? {})])];
    // The tensors onnxruntime reads and writes, kept referenced until the run settles.
    const given = new Map<string, TensorLike>();
    const values: bigint[] = [];
    const adopt = (name: string, v: Feed): bigint => {
      const t = tensorOf(name, v, this.source);
      given.set(name, t);
      const value = this.valueOver(name, t);
      values.push(value);
      return value;
    };
    try {
      const inputNames = Object.keys(feeds);
      const inputValues = inputNames.map((n) => adopt(n, feeds[n]!));
      const outputValues: Pointer[] = wanted.map((n) => (into?.[n] ? adopt(n, into[n]!) : null));
      const running = callAsync(this.c.fn.Run, this.handle, null, inputNames, inputValues, inputNames.length, wanted, wanted.length, outputValues);
      this.inflight.add(running);
      const status = await running.finally(() => this.inflight.delete(running));
      try {
        check(this.c, status, 'Run');
      } catch (e) {
        throw fail('ALIGNKIT_ERR_SESSION', `run of ${this.source} failed: ${(e as Error).message}`, { source: this.source }, e);
      }
      const result: Record<string, Tensor> = {};
      for (const [i, name] of wanted.entries()) {
        if (into?.[name]) result[name] = given.get(name) as Tensor;
        else {
          values.push(outputValues[i]!);
          result[name] = this.read(outputValues[i]!);
        }
      }
      return result;
    } finally {
      for (const v of values) this.c.fn.ReleaseValue(v);
    }
  }

  override endProfiling(): string {
    if (this.options.profile === undefined) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `session ${this.source} was not created with the profile option`, { field: 'profile' });
    const file: Pointer[] = [null];
    check(this.c, this.c.fn.SessionEndProfiling(this.handle, this.c.allocator, file), 'SessionEndProfiling');
    return takeString(this.c, file[0]!);
  }

  /** Releases the session once the runs in flight have settled (onnxruntime would free it under them). */
  override async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await Promise.allSettled([...this.inflight]);
    this.c.fn.ReleaseSession(this.handle);
  }
}
