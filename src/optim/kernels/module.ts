// The compiled kernel module, one instance per arena (its memory imported), and the scratch
// buffers kernels need beyond the optimizer's own state (allocated in the arena once, on first use).
// A multi-threaded arena gets the shared-memory module, whose elementwise kernels split over the
// arena's worker pool (split.ts, pool.ts), started at the first call large enough to split.

import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { WasmArena } from '../arena.js';
import { SIGNED_MAP, UNSIGNED_MAP, lookupTableOf } from '../quant8.js';
import { KernelPool } from './pool.js';
import { SPLIT_KERNELS, splitExports, type Threads } from './split.js';

/** The C functions of optim_kernels.c (pointers are byte offsets into the arena). */
export interface KernelExports {
  sumsq(x: number, n: number): number;
  absmax(x: number, n: number): number;
  absmax_sumsq(x: number, n: number, max: number): number;
  clipped_sumsq(g: number, n: number, limit: number, scale: number): number;
  row_dots(p: number, g: number, rows: number, width: number, out: number): void;
  adam_step(p: number, g: number, m: number, v: number, vmax: number, n: number, step: number, b1: number, b2: number, c1: number, c2: number, eps: number, k1: number, k2: number, l2: number, decayPre: number, decayPost: number, theta: number, clipLimit: number, clipScale: number, gscale: number, nesterov: number): void;
  lion_step(p: number, g: number, m: number, n: number, lr: number, b1: number, b2: number, c1: number, c2: number, wd: number): void;
  exadam_step(p: number, g: number, m: number, v: number, n: number, b1: number, b2: number, c1: number, c2: number, eps: number, b1t: number, b2t: number, ibc1: number, ibc2: number, step: number, decay: number): void;
  adabelief_step(p: number, g: number, m: number, s: number, smax: number, n: number, b1: number, b2: number, c1: number, c2: number, eps: number, l2: number, mode: number, k1: number, k2: number, step: number, decay: number): void;
  momentum_step(p: number, g: number, buf: number, n: number, l2: number, momentum: number, c: number, nesterov: number, first: number, step: number, decay: number): void;
  sophia_step(p: number, g: number, m: number, h: number, hest: number, n: number, b1: number, b2: number, c1: number, c2: number, gamma: number, eps: number, lr: number, wd: number): void;
  adahessian_step(p: number, g: number, d: number, m: number, v: number, n: number, block: number, b1: number, b2: number, c1: number, c2: number, ibc1: number, isq2k: number, eps: number, lr: number, wd: number, quarter: number): void;
  onebit_local(m: number, g: number, e: number, acc: number, es: number, n: number, b1: number, c1: number, first: number, last: number, out: number): void;
  onebit_compress(e: number, acc: number, n: number, scale: number, w: number, first: number): void;
  onebit_finish(p: number, m: number, v: number, e: number, acc: number, es: number, n: number, scale: number, w: number, first: number, scale2: number, eps: number, lr: number, wd: number): void;
  onebit_pack(m: number, y: number, n: number, b1: number): void;
  onebit_unpack(m: number, v: number, e: number, n: number, b1: number, scale: number): void;
  onebit_norm(g: number, y: number, n: number, c1: number, out: number): void;
  onebit_single(p: number, v: number, y: number, g: number, n: number, b1: number, c1: number, scale: number, eps: number, lr: number, wd: number): void;
  projected_step(p: number, g: number, m: number, v: number, rows: number, width: number, kind: number, b1: number, b2: number, c1: number, c2: number, eps: number, k1: number, k2: number, nesterov: number, inv: number, urow: number, step: number, decay: number): void;
  gemm(a: number, sai: number, sak: number, b: number, ldb: number, c: number, ldc: number, m: number, k: number, n: number, accumulate: number): void;
  soap_adam(g: number, m: number, v: number, out: number, n: number, b1: number, b2: number, c1: number, c2: number, eps: number): void;
  scale_to(x: number, out: number, n: number, s: number): void;
  transpose(src: number, rows: number, cols: number, dst: number): void;
  transpose_columns(src: number, rows: number, cols: number, dst: number, first: number, count: number): void;
  apply_step(p: number, u: number, n: number, lr: number, keep: number): void;
  adam8bit_step(p: number, g: number, mq: number, vq: number, mabs: number, vabs: number, n: number, block: number, smap: number, umap: number, slut: number, ulut: number, scratch: number, lr: number, b1: number, b2: number, c1: number, c2: number, eps: number, ibc1: number, ibc2: number, gscale: number, decayPost: number): void;
}

/** The committed modules: next to this file in src/, or found from dist/ (tsc does not copy .wasm). */
export function kernelWasmPath(file: 'optim_kernels.wasm' | 'optim_kernels.threads.wasm' = 'optim_kernels.wasm'): string {
  const here = fileURLToPath(new URL(`./${file}`, import.meta.url));
  if (fs.existsSync(here)) return here;
  return fileURLToPath(new URL(`../../../src/optim/kernels/${file}`, import.meta.url));
}

/** The plain-memory module (one thread) and the shared-memory one (an instance per thread), compiled once. */
const compiled = new Map<boolean, WebAssembly.Module>();
function moduleFor(shared: boolean): WebAssembly.Module {
  let m = compiled.get(shared);
  if (!m) compiled.set(shared, (m = new WebAssembly.Module(fs.readFileSync(kernelWasmPath(shared ? 'optim_kernels.threads.wasm' : 'optim_kernels.wasm')))));
  return m;
}

/** The pool behind an arena's split kernels, with a scratch per worker (8-bit Adam's block buffers). */
function threadsOf(arena: WasmArena, module: WebAssembly.Module, heapBase: number): () => Threads {
  let pool: KernelPool | undefined;
  const scratches: Float32Array[] = [];
  const threads: Threads = {
    get size() {
      return pool!.size;
    },
    post: (w, name, args) => pool!.post(w, name, args),
    join: (w) => pool!.join(w),
    scratch(w, floats) {
      if (!scratches[w] || scratches[w]!.length < floats) scratches[w] = arena.f32(floats);
      return scratches[w]!.byteOffset;
    },
  };
  return () => {
    pool ??= new KernelPool(arena, module, heapBase, SPLIT_KERNELS);
    return threads;
  };
}

export interface ArenaKernels {
  x: KernelExports;
  arena: WasmArena;
  /** A float32 scratch of at least n entries, one per purpose, grown by reallocating in the arena. */
  scratch(purpose: string, n: number): Float32Array;
  /** Offsets of the 8-bit maps and lookup tables copied into the arena, and a scratch block. */
  q8(): { smap: number; umap: number; slut: number; ulut: number; scratch: number };
  /**
   * Start the worker threads and run the Adam kernel a few times on a scratch, so that the first real
   * update neither waits for the workers to start nor runs in V8's baseline (Liftoff) code: measured
   * on 16 M values over two threads, 74 ms for the first update against 16 ms for the next ones.
   */
  warmUp(): void;
}

const instances = new WeakMap<WasmArena, ArenaKernels>();
/** Calls of warmUp: V8 tiers a wasm function up after it has run a while; a few calls over 128 k values start it. */
const WARM_UP_CALLS = 4;

/** A float32 view of `bytes` fresh arena bytes, or a float64 one. */
function arenaF64(arena: WasmArena, n: number): Float64Array {
  return new Float64Array(arena.buffer, arena.allocBytes(8 * n), n);
}

export function kernelsFor(arena: WasmArena): ArenaKernels {
  let k = instances.get(arena);
  if (k) return k;
  const shared = arena.threads > 1;
  const module = moduleFor(shared);
  const exports = new WebAssembly.Instance(module, { env: { memory: arena.memory } }).exports;
  const heapBase = (exports.__heap_base as WebAssembly.Global).value as number;
  const plain = exports as unknown as KernelExports;
  const x = shared ? splitExports(plain, threadsOf(arena, module, heapBase), arena.splitFrom) : plain;
  let warm = false;
  const scratches = new Map<string, Float32Array>();
  let q8: ReturnType<ArenaKernels['q8']> | undefined;
  k = {
    x,
    arena,
    scratch(purpose, n) {
      let s = scratches.get(purpose);
      if (!s || s.length < n) scratches.set(purpose, (s = arena.f32(n)));
      return s;
    },
    q8() {
      if (!q8) {
        // Two +inf entries after each map: the kernel's branch-free search may read map[256] and map[257].
        const smap = arena.f32(258).fill(Infinity);
        smap.set(SIGNED_MAP);
        const umap = arena.f32(258).fill(Infinity);
        umap.set(UNSIGNED_MAP);
        const slut = arena.u8(65536);
        slut.set(lookupTableOf(SIGNED_MAP));
        const ulut = arena.u8(65536);
        ulut.set(lookupTableOf(UNSIGNED_MAP));
        const scratch = arena.f32(2 * 4096);
        q8 = { smap: smap.byteOffset, umap: umap.byteOffset, slut: slut.byteOffset, ulut: ulut.byteOffset, scratch: scratch.byteOffset };
      }
      return q8;
    },
    warmUp() {
      if (warm) return;
      warm = true;
      // Twice the split threshold, so that the call is split over every thread.
      const n = 2 * Math.max(16, Math.ceil(arena.splitFrom / 16) * 16);
      const s = k!.scratch('warm-up', 4 * n);
      const at = (i: number) => s.byteOffset + 4 * i * n;
      for (let i = 0; i < WARM_UP_CALLS; i++) x.adam_step(at(0), at(1), at(2), at(3), 0, n, 1e-3, 0.9, 0.999, 0.1, 0.001, 1e-8, 1, 1, 0, 0, 0, 0, Infinity, 1, 1, 0);
    },
  };
  instances.set(arena, k);
  return k;
}

/** A float64 scratch in the arena (row reductions), cached per arena and purpose. */
const f64Scratch = new WeakMap<WasmArena, Map<string, Float64Array>>();
export function scratchF64(arena: WasmArena, purpose: string, n: number): Float64Array {
  let m = f64Scratch.get(arena);
  if (!m) f64Scratch.set(arena, (m = new Map()));
  let s = m.get(purpose);
  if (!s || s.length < n) m.set(purpose, (s = arenaF64(arena, n)));
  return s;
}
