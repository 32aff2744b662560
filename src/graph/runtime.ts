// A thin wrapper over onnxruntime-node: sessions from a file, bytes or an in-memory Model, an
// execution provider chosen by the user, thread settings, and alignkit Tensors in and out.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { fail } from '../errors.js';
import { numel, type DType, type TypedArray } from './dtypes.js';
import type { Model, Tensor } from './ir.js';
import { encodeModel } from './onnx-io.js';
import type { DeviceInfo } from './webgpu/adapter.js';

/** `webgpu`: onnxruntime-web's WebGPU provider over Dawn (src/graph/webgpu), installed from npm. */
export const PROVIDERS = ['cpu', 'cuda', 'webgpu'] as const;
export type Provider = (typeof PROVIDERS)[number];

export interface SessionOptions {
  /** Execution provider; `cuda` needs onnxruntime-node installed with its CUDA binaries. */
  provider?: Provider;
  /** Threads for one op (default: onnxruntime's choice, the number of cores). */
  intraOpThreads?: number;
  /** Threads running independent nodes at once, with `executionMode` 'parallel'. */
  interOpThreads?: number;
  /**
   * 'sequential' (default) runs one node at a time; 'parallel' runs independent branches of the graph
   * at once on the inter-op threads (e.g. GenARM's base and ARM in one merged graph on two cores).
   * Measured on GenARM with alignkit-base and alignkit-arm (4 x 64 greedy tokens, 2 cores, load ~3):
   * 1.9x the sequential wall time with 2 inter-op threads, 4.7x with spinning; their ~400 small nodes
   * cost more in hand-offs between threads than the branches gain.
   */
  executionMode?: 'sequential' | 'parallel';
  /**
   * Spin-waiting of the intra-op (and, in parallel mode, inter-op) pool. Off by default: with several sessions in one process each
   * session's spinning threads steal the cores from the next (measured: a forward went 64 -> 100 ms).
   * 'during-run' spins between the nodes of a run and stops when the run returns (onnxruntime's
   * `session.force_spinning_stop`), so nothing spins while JavaScript, the optimizer or another
   * session has the cores; the Trainer's default.
   */
  allowSpinning?: boolean | 'during-run';
  graphOptimization?: 'disabled' | 'basic' | 'extended' | 'all';
  /** CUDA device id. */
  deviceId?: number;
  /**
   * Path prefix of an onnxruntime profile (per-node timings and shapes, chrome-trace JSON): profiling
   * is on from session creation and `endProfiling()` writes `<prefix>_<timestamp>.json`.
   */
  profile?: string;
  /**
   * onnxruntime's CPU arena (default on): freed activations stay reserved for the next run. Off, each
   * tensor is malloc'd and freed, so peak RSS follows the live tensors at the cost of fresh pages per run.
   */
  memoryArena?: boolean;
  /** Memory pattern planning for static shapes (default on): one block per run laid out from the first run. */
  memoryPattern?: boolean;
  /** onnxruntime graph optimizers to skip by name (e.g. CommonSubexpressionElimination, which undoes recomputation). */
  disabledOptimizers?: string[];
  /** WebGPU adapter: 'auto' (default: a GPU, never a software renderer), an index or a name (src/graph/webgpu/adapter.ts). */
  adapter?: string;
  /**
   * Outputs that `runKeeping` leaves on the device (webgpu: GPU buffers) to be fed to the next run:
   * KV caches between decoding steps, parameters and optimizer state between training steps.
   */
  residentOutputs?: readonly string[];
  /**
   * How the CPU provider is reached: `node` (default) is onnxruntime-node's binding; `c-api` is
   * onnxruntime's C API through koffi (src/graph/native-session.ts), which writes pre-allocated
   * outputs in place without returning a copy of them. Where the C API cannot be reached, `c-api`
   * falls back to `node`.
   */
  binding?: 'node' | 'c-api';
}

export const CUDA_INSTALL_HINT =
  'reinstall onnxruntime-node with its CUDA 12 binaries: `npm install onnxruntime-node --onnxruntime-node-install=cuda12` ' +
  '(or ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node); alignkit\'s .npmrc skips them by default';

/** The CUDA provider library is dropped next to the binding by onnxruntime-node's install script. */
function cudaAvailable(): boolean {
  const pkg = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  return fs.existsSync(path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch, lib));
}

/** The spinning entries of onnxruntime's session config (`session.` prefix left out), shared by both bindings. */
export function spinningConfig(allow: SessionOptions['allowSpinning']): { intra_op: { allow_spinning: string }; inter_op: { allow_spinning: string }; force_spinning_stop?: string } {
  const spin = allow ? '1' : '0';
  return { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin }, ...(allow === 'during-run' && { force_spinning_stop: '1' }) };
}

function toOrtOptions(o: SessionOptions): ort.InferenceSession.SessionOptions {
  const provider = o.provider ?? 'cpu';
  const executionProviders: ort.InferenceSession.ExecutionProviderConfig[] =
    provider === 'cuda' ? [{ name: 'cuda', deviceId: o.deviceId ?? 0 } as ort.InferenceSession.ExecutionProviderConfig, 'cpu'] : ['cpu'];
  return {
    executionProviders,
    ...(o.intraOpThreads !== undefined && { intraOpNumThreads: o.intraOpThreads }),
    ...(o.interOpThreads !== undefined && { interOpNumThreads: o.interOpThreads }),
    ...(o.executionMode !== undefined && { executionMode: o.executionMode }),
    graphOptimizationLevel: o.graphOptimization ?? 'all',
    ...(o.profile !== undefined && { enableProfiling: true, profileFilePrefix: o.profile }),
    ...(o.memoryArena !== undefined && { enableCpuMemArena: o.memoryArena }),
    ...(o.memoryPattern !== undefined && { enableMemPattern: o.memoryPattern }),
    extra: {
      session: spinningConfig(o.allowSpinning),
      ...(o.disabledOptimizers?.length && { optimization: { disable_specified_optimizers: o.disabledOptimizers.join(',') } }),
    },
  };
}

/** alignkit Tensor -> onnxruntime Tensor (zero copy). */
export function toOrt(t: Tensor): ort.Tensor {
  if (t.dtype === 'string') return new ort.Tensor('string', t.strings ?? [], t.dims);
  if (t.data.length !== numel(t.dims)) throw fail('ALIGNKIT_ERR_TENSOR', `tensor data has ${t.data.length} values for dims [${t.dims}]`);
  return new ort.Tensor(t.dtype as 'float32', t.data as Float32Array, t.dims);
}

/** onnxruntime Tensor -> alignkit Tensor (zero copy). */
export function fromOrt(t: ort.Tensor): Tensor {
  const dims = [...t.dims];
  if (t.type === 'string') return { dtype: 'string', dims, data: new Uint8Array(0), strings: t.data as string[] };
  return { dtype: t.type as DType, dims, data: t.data as TypedArray };
}

export type Feed = Tensor | ort.Tensor;

export class Session {
  protected constructor(
    readonly ort: ort.InferenceSession,
    readonly source: string,
    protected readonly options: SessionOptions = {},
  ) {}

  static async create(src: string | Uint8Array | Model, opts: SessionOptions = {}): Promise<Session> {
    if (opts.provider === 'webgpu') return (await import('./webgpu/session.js')).WebGpuSession.open(src, opts);
    if (opts.provider === 'cuda' && !cudaAvailable())
      throw fail('ALIGNKIT_ERR_PROVIDER_MISSING', `the CUDA execution provider is not installed: ${CUDA_INSTALL_HINT}`);
    if (opts.binding === 'c-api' && (opts.provider ?? 'cpu') === 'cpu') {
      const native = await import('./native-session.js');
      if (native.nativeSessionsAvailable()) return native.NativeSession.open(src, opts);
    }
    const source = typeof src === 'string' ? src : src instanceof Uint8Array ? '<bytes>' : `<model ${src.graph.name}>`;
    const payload = typeof src === 'string' || src instanceof Uint8Array ? src : encodeModel(src);
    try {
      const s = typeof payload === 'string'
        ? await ort.InferenceSession.create(payload, toOrtOptions(opts))
        : await ort.InferenceSession.create(payload, toOrtOptions(opts));
      return new Session(s, source, opts);
    } catch (e) {
      const msg = (e as Error).message;
      if (opts.provider === 'cuda' && /cuda/i.test(msg))
        throw fail('ALIGNKIT_ERR_PROVIDER_MISSING', `the CUDA execution provider failed to load (${msg}): ${CUDA_INSTALL_HINT}`, {}, e);
      throw fail('ALIGNKIT_ERR_SESSION', `onnxruntime could not load ${source}: ${msg}`, { source }, e);
    }
  }

  get inputNames(): readonly string[] {
    return this.ort.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.ort.outputNames;
  }

  /**
   * Run with named feeds; returns the requested (default: all) outputs as alignkit Tensors. Outputs
   * named in `into` are written by onnxruntime straight into the given tensors (their dims must be
   * the output's), so their memory is the caller's and nothing is copied; they are returned as given.
   */
  async run(feeds: Record<string, Feed>, fetches?: readonly string[], into?: Record<string, Feed>): Promise<Record<string, Tensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) ortFeeds[k] = v instanceof ort.Tensor ? v : toOrt(v as Tensor);
    let out: ort.InferenceSession.ReturnType;
    try {
      if (into) {
        const targets: Record<string, ort.Tensor | null> = Object.fromEntries((fetches ?? this.outputNames).map((n) => [n, null]));
        for (const [k, v] of Object.entries(into)) targets[k] = v instanceof ort.Tensor ? v : toOrt(v as Tensor);
        out = await this.ort.run(ortFeeds, targets);
      } else out = fetches ? await this.ort.run(ortFeeds, fetches as string[]) : await this.ort.run(ortFeeds);
    } catch (e) {
      throw fail('ALIGNKIT_ERR_SESSION', `run of ${this.source} failed: ${(e as Error).message}`, { source: this.source }, e);
    }
    const result: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(out)) result[k] = into?.[k] && !(into[k] instanceof ort.Tensor) ? (into[k] as Tensor) : fromOrt(v);
    return result;
  }

  /** Stop profiling (session option `profile`) and return the profile file onnxruntime wrote. */
  endProfiling(): string {
    if (this.options.profile === undefined) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `session ${this.source} was not created with the profile option`, { field: 'profile' });
    this.ort.endProfiling();
    // onnxruntime-node does not return the file name: it is `<prefix>_<start time>.json`, the newest such file.
    const dir = path.dirname(this.options.profile);
    const stem = `${path.basename(this.options.profile)}_`;
    const written = fs.readdirSync(dir).filter((f) => f.startsWith(stem) && f.endsWith('.json')).map((f) => path.join(dir, f));
    if (written.length === 0) throw fail('ALIGNKIT_ERR_SESSION', `onnxruntime wrote no profile file under ${this.options.profile}`, { field: 'profile' });
    return written.reduce((a, b) => (fs.statSync(b).mtimeMs > fs.statSync(a).mtimeMs ? b : a));
  }

  /**
   * `run`, with the outputs named in `residentOutputs` returned apart, as feeds for a later run that
   * stay on the device (on the CPU they are ordinary tensors). Release them with releaseResident.
   */
  async runKeeping(feeds: Record<string, Feed>, fetches?: readonly string[]): Promise<{ outputs: Record<string, Tensor>; resident: Record<string, Feed> }> {
    const all = await this.run(feeds, fetches);
    const keep = new Set(this.options.residentOutputs ?? []);
    const outputs: Record<string, Tensor> = {};
    const resident: Record<string, Feed> = {};
    for (const [k, v] of Object.entries(all)) (keep.has(k) ? resident : outputs)[k] = v;
    return { outputs, resident };
  }

  /**
   * Whether run() hands back a fresh JavaScript copy of every output, also of those written into
   * `into` (onnxruntime-node 1.30 does: src/graph/output-copies.ts).
   */
  get copiesOutputs(): boolean {
    return true;
  }

  /** The provider (and for webgpu the adapter) this session runs on. */
  get device(): DeviceInfo {
    return { provider: this.options.provider ?? 'cpu' };
  }

  async release(): Promise<void> {
    await this.ort.release();
  }
}
