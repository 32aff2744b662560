// onnxruntime's C API, reached through koffi in the library onnxruntime-node already loaded.
//
// Why: onnxruntime-node 1.30 returns a JavaScript copy of every output of a run, also of the outputs
// it wrote into tensors the caller pre-allocated (src/graph/output-copies.ts). A training step's
// outputs are its gradients: at GPT-2-small 475 MB copied per step and resident until V8 collects
// them. The C API's Run writes a pre-allocated output in place and returns nothing more, so a session
// opened here (src/graph/native-session.ts) costs no copy, no collection and no extra peak memory.
//
// The API is a table of function pointers (OrtApi) returned by OrtGetApiBase()->GetApi(version).
// Entries are only ever appended, so an entry's index is fixed from the version that introduced it
// on; the indices below follow the order of `ort_api_1_to_<latest>` in onnxruntime's
// onnxruntime_c_api.cc, as mirrored by the OrtApi struct of its C# binding
// (csharp/src/Microsoft.ML.OnnxRuntime/NativeMethods.shared.cs). Every entry used here dates from
// API version 1-4, so version 17 (onnxruntime 1.17, the oldest this project's binding could carry)
// is asked for.

import { createRequire } from 'node:module';
import path from 'node:path';
import { loadKoffi } from './koffi.js';

const API_VERSION = 17;

// Index in OrtApi and C prototype of every entry used (pointers as void*: koffi passes BigInts).
const ENTRIES = {
  GetErrorMessage: [2, 'const char *GetErrorMessage(void *status)'],
  CreateEnv: [3, 'void *CreateEnv(int level, const char *logid, _Out_ void **env)'],
  CreateSession: [7, 'void *CreateSession(void *env, const char *path, void *options, _Out_ void **session)'],
  CreateSessionFromArray: [8, 'void *CreateSessionFromArray(void *env, const void *data, size_t len, void *options, _Out_ void **session)'],
  Run: [9, 'void *Run(void *session, void *runOptions, const char **inputNames, void **inputs, size_t nInputs, const char **outputNames, size_t nOutputs, _Inout_ void **outputs)'],
  CreateSessionOptions: [10, 'void *CreateSessionOptions(_Out_ void **options)'],
  SetSessionExecutionMode: [13, 'void *SetSessionExecutionMode(void *options, int mode)'],
  EnableProfiling: [14, 'void *EnableProfiling(void *options, const char *prefix)'],
  EnableMemPattern: [16, 'void *EnableMemPattern(void *options)'],
  DisableMemPattern: [17, 'void *DisableMemPattern(void *options)'],
  EnableCpuMemArena: [18, 'void *EnableCpuMemArena(void *options)'],
  DisableCpuMemArena: [19, 'void *DisableCpuMemArena(void *options)'],
  SetSessionLogSeverityLevel: [22, 'void *SetSessionLogSeverityLevel(void *options, int level)'],
  SetSessionGraphOptimizationLevel: [23, 'void *SetSessionGraphOptimizationLevel(void *options, int level)'],
  SetIntraOpNumThreads: [24, 'void *SetIntraOpNumThreads(void *options, int n)'],
  SetInterOpNumThreads: [25, 'void *SetInterOpNumThreads(void *options, int n)'],
  SessionGetInputCount: [30, 'void *SessionGetInputCount(void *session, _Out_ size_t *n)'],
  SessionGetOutputCount: [31, 'void *SessionGetOutputCount(void *session, _Out_ size_t *n)'],
  SessionGetInputTypeInfo: [33, 'void *SessionGetInputTypeInfo(void *session, size_t i, _Out_ void **typeInfo)'],
  SessionGetInputName: [36, 'void *SessionGetInputName(void *session, size_t i, void *allocator, _Out_ void **name)'],
  SessionGetOutputName: [37, 'void *SessionGetOutputName(void *session, size_t i, void *allocator, _Out_ void **name)'],
  CreateTensorWithDataAsOrtValue: [49, 'void *CreateTensorWithDataAsOrtValue(void *memoryInfo, void *data, size_t len, const int64_t *shape, size_t rank, int type, _Out_ void **value)'],
  GetTensorMutableData: [51, 'void *GetTensorMutableData(void *value, _Out_ void **data)'],
  CastTypeInfoToTensorInfo: [55, 'void *CastTypeInfoToTensorInfo(void *typeInfo, _Out_ void **info)'],
  GetOnnxTypeFromTypeInfo: [56, 'void *GetOnnxTypeFromTypeInfo(void *typeInfo, _Out_ int *type)'],
  GetTensorElementType: [60, 'void *GetTensorElementType(void *info, _Out_ int *type)'],
  GetDimensionsCount: [61, 'void *GetDimensionsCount(void *info, _Out_ size_t *n)'],
  GetDimensions: [62, 'void *GetDimensions(void *info, _Out_ int64_t *dims, size_t n)'],
  GetTensorTypeAndShape: [65, 'void *GetTensorTypeAndShape(void *value, _Out_ void **info)'],
  CreateCpuMemoryInfo: [69, 'void *CreateCpuMemoryInfo(int allocatorType, int memType, _Out_ void **info)'],
  AllocatorFree: [76, 'void *AllocatorFree(void *allocator, void *p)'],
  GetAllocatorWithDefaultOptions: [78, 'void *GetAllocatorWithDefaultOptions(_Out_ void **allocator)'],
  ReleaseStatus: [93, 'void ReleaseStatus(void *status)'],
  ReleaseSession: [95, 'void ReleaseSession(void *session)'],
  ReleaseValue: [96, 'void ReleaseValue(void *value)'],
  ReleaseTypeInfo: [98, 'void ReleaseTypeInfo(void *typeInfo)'],
  ReleaseTensorTypeAndShapeInfo: [99, 'void ReleaseTensorTypeAndShapeInfo(void *info)'],
  ReleaseSessionOptions: [100, 'void ReleaseSessionOptions(void *options)'],
  SessionEndProfiling: [110, 'void *SessionEndProfiling(void *session, void *allocator, _Out_ void **file)'],
  AddSessionConfigEntry: [130, 'void *AddSessionConfigEntry(void *options, const char *key, const char *value)'],
} as const;

type EntryName = keyof typeof ENTRIES;
export type Pointer = bigint | null;
export type NativeFn = ((...args: unknown[]) => unknown) & { async(...args: unknown[]): void };

interface KoffiFull {
  load(file: string): { func(signature: string): NativeFn };
  proto(signature: string): unknown;
  decode(ptr: unknown, type: unknown, len?: number): unknown;
  view(ptr: unknown, len: number): ArrayBuffer;
  address(value: unknown): bigint;
}

export interface OrtCApi {
  fn: Record<EntryName, NativeFn>;
  koffi: KoffiFull;
  env: bigint;
  /** CPU memory description for tensors over caller memory (arena allocator type, default memory). */
  cpuMemory: bigint;
  /** onnxruntime's default allocator: frees the names it returns. */
  allocator: bigint;
}

let api: OrtCApi | null | undefined;
let unavailable = '';

/** The shared library onnxruntime-node's binding links against (loaded already: the same handle). */
function libraryPath(): string {
  const pkg = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  const file = { linux: 'libonnxruntime.so.1', darwin: 'libonnxruntime.1.dylib', win32: 'onnxruntime.dll' }[process.platform as string];
  if (!file) throw new Error(`no onnxruntime library name for platform ${process.platform}`);
  return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch, file);
}

/** Throw onnxruntime's message for a non-null status (and release it). */
export function check(c: OrtCApi, status: unknown, what: string): void {
  if (status === null || status === 0n || status === undefined) return;
  const message = c.fn.GetErrorMessage(status) as string;
  c.fn.ReleaseStatus(status);
  throw new Error(`${what}: ${message}`);
}

function open(): OrtCApi {
  const k = loadKoffi() as unknown as KoffiFull | null;
  if (!k) throw new Error('koffi is not available');
  const lib = k.load(libraryPath());
  const base = lib.func('void *OrtGetApiBase()')() as bigint;
  const getApi = k.decode((k.decode(base, 'void *') as bigint), k.proto('void *GetApi(uint32_t version)')) as NativeFn;
  const table = getApi(API_VERSION) as bigint | null;
  if (!table) throw new Error(`onnxruntime does not provide C API version ${API_VERSION}`);
  const slots = k.decode(table, 'void *', 131) as bigint[];
  const fn = Object.fromEntries(
    Object.entries(ENTRIES).map(([name, [index, signature]]) => [name, k.decode(slots[index], k.proto(signature)) as NativeFn]),
  ) as Record<EntryName, NativeFn>;
  const partial = { fn, koffi: k, env: 0n, cpuMemory: 0n, allocator: 0n };
  // onnxruntime keeps one environment per process: this returns (and references) the binding's own.
  const env: Pointer[] = [null];
  check(partial, fn.CreateEnv(3, 'alignkit', env), 'onnxruntime CreateEnv');
  const memory: Pointer[] = [null];
  check(partial, fn.CreateCpuMemoryInfo(1, 0, memory), 'onnxruntime CreateCpuMemoryInfo');
  const allocator: Pointer[] = [null];
  check(partial, fn.GetAllocatorWithDefaultOptions(allocator), 'onnxruntime GetAllocatorWithDefaultOptions');
  return { ...partial, env: env[0]!, cpuMemory: memory[0]!, allocator: allocator[0]! };
}

/** The C API, or null where it cannot be reached here (no koffi, another platform's layout). */
export function ortCApi(): OrtCApi | null {
  if (api === undefined) {
    try {
      api = open();
    } catch (e) {
      unavailable = (e as Error).message;
      api = null;
    }
  }
  return api;
}

/** Why ortCApi() returned null ('' when it did not). */
export function ortCApiUnavailable(): string {
  ortCApi();
  return unavailable;
}

/** A string onnxruntime allocated with its default allocator, read and freed. */
export function takeString(c: OrtCApi, ptr: bigint): string {
  const s = c.koffi.decode(ptr, 'char', -1) as string;
  c.fn.AllocatorFree(c.allocator, ptr);
  return s;
}
