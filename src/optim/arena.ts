// One pre-sized WebAssembly.Memory holding parameters, gradients and optimizer state, so the wasm
// kernels update them in place and onnxruntime-node reads parameters from the same bytes. The memory
// is never grown: `grow` would detach every view handed out. Views start at 64-byte aligned offsets.
//
// Threads: with `threads` > 1 the memory is shared and the fused kernels split their elementwise
// loops over a worker pool (src/optim/kernels/pool.ts). onnxruntime-node does not take views of a
// SharedArrayBuffer, so every view the arena hands out is over a plain ArrayBuffer aliasing the
// shared bytes (src/optim/plain-view.ts); the kernels' instances use the shared memory itself.

import os from 'node:os';
import { fail } from '../errors.js';
import type { Param } from './core.js';
import { canViewShared, plainView } from './plain-view.js';
import { prefault } from '../graph/prefault.js';

const PAGE = 65536;
const ALIGN = 64;
/** A wasm32 memory holds at most 65536 pages (4 GiB). */
export const MAX_ARENA_BYTES = 65536 * PAGE;
/** Bytes at the start of the memory kept for the kernel modules' stacks, static data and thread control blocks. */
export const ARENA_RESERVED_BYTES = 1 << 20;
/** Worker stacks and control blocks live in the reserved bytes: room for this many threads. */
export const MAX_ARENA_THREADS = 8;
const DEFAULT_SPLIT_FROM = 1 << 16;

export interface ArenaOptions {
  /**
   * Threads the fused optimizer kernels use (the calling thread plus threads - 1 workers). Default:
   * 2 when the machine has at least 2 cores (the second one is idle between onnxruntime runs), else 1.
   * 1 keeps a plain, non-shared memory and everything on the calling thread.
   */
  threads?: number;
  /**
   * A kernel call over at least this many entries is split over the threads (default 65536: below it,
   * waking a worker costs about what it saves; GPT-2's biases and norms stay on the calling thread).
   */
  splitFrom?: number;
}

/** 2 on a machine with at least two cores and where shared-memory views work, else 1. */
export function defaultArenaThreads(): number {
  return os.availableParallelism() >= 2 && canViewShared() ? 2 : 1;
}

export class WasmArena {
  readonly memory: WebAssembly.Memory;
  readonly threads: number;
  readonly splitFrom: number;
  /** What every view is over: the memory's own buffer, or (threads > 1) a plain alias of the shared one. */
  readonly buffer: ArrayBuffer;
  private next = ARENA_RESERVED_BYTES;
  private closers: (() => void)[] = [];

  /** @param bytes usable bytes (parameters + gradients + state + workspace); rounded up to whole pages. */
  constructor(readonly bytes: number, opts: ArenaOptions = {}) {
    const total = ARENA_RESERVED_BYTES + bytes;
    if (!(bytes > 0) || total > MAX_ARENA_BYTES)
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `arena size ${bytes} bytes must be positive and at most ${MAX_ARENA_BYTES - ARENA_RESERVED_BYTES} (one wasm32 memory); use the TypeScript path (no arena) for larger models`, { field: 'arena.bytes' });
    const threads = opts.threads ?? defaultArenaThreads();
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_ARENA_THREADS)
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `arena threads must be an integer from 1 to ${MAX_ARENA_THREADS}, got ${threads}`, { field: 'arena.threads', value: threads });
    if (threads > 1 && !canViewShared())
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `arena threads ${threads} need the optional dependency koffi (npm install koffi), which did not load; use threads 1`, { field: 'arena.threads', value: threads });
    const pages = Math.ceil(total / PAGE);
    this.threads = threads;
    this.splitFrom = opts.splitFrom ?? DEFAULT_SPLIT_FROM;
    if (!(this.splitFrom >= 1)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `arena splitFrom must be at least 1, got ${opts.splitFrom}`, { field: 'arena.splitFrom', value: opts.splitFrom });
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: threads > 1 });
    this.buffer = threads > 1 ? plainView(this.memory) : (this.memory.buffer as ArrayBuffer);
  }

  /** Byte offset where the next allocation starts: a mark for prefaultSince. */
  get end(): number {
    return this.next;
  }

  /**
   * Fault in, off the main thread, the pages of everything allocated since `mark` (an earlier `end`),
   * so that the first writes to it find them present (src/graph/prefault.ts). False where it cannot.
   */
  prefaultSince(mark: number): Promise<boolean> {
    return prefault(this.buffer, mark, this.next);
  }

  get bytesUsed(): number {
    return this.next - ARENA_RESERVED_BYTES;
  }

  get bytesFree(): number {
    return this.buffer.byteLength - this.next;
  }

  /** Reserve `size` bytes at a 64-byte aligned offset and return the offset. */
  allocBytes(size: number): number {
    const at = Math.ceil(this.next / ALIGN) * ALIGN;
    if (at + size > this.buffer.byteLength)
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `arena is full: ${size} more bytes requested, ${this.bytesFree} free of ${this.bytes}; size the arena for parameters, gradients and optimizer state`, { field: 'arena.bytes' });
    this.next = at + size;
    return at;
  }

  f32(n: number): Float32Array {
    return new Float32Array(this.buffer, this.allocBytes(4 * n), n);
  }

  u8(n: number): Uint8Array {
    return new Uint8Array(this.buffer, this.allocBytes(n), n);
  }

  /** A parameter whose data lives in the arena, optionally filled from `init`. */
  param(name: string, dims: number[], init?: ArrayLike<number>): Param {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = this.f32(n);
    if (init) {
      if (init.length !== n) throw fail('ALIGNKIT_ERR_TENSOR', `initial value of "${name}" has ${init.length} elements, dims [${dims}] need ${n}`, { field: name });
      data.set(init);
    }
    return { name, data, dims };
  }

  contains(view: ArrayBufferView): boolean {
    return view.buffer === this.buffer;
  }

  /** Byte offset of a view in the memory (the pointer a kernel takes). */
  offsetOf(view: ArrayBufferView): number {
    if (!this.contains(view)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'array does not live in this arena', {});
    return view.byteOffset;
  }

  /** Run `fn` on close() (the kernels' worker pool registers its shutdown here). */
  onClose(fn: () => void): void {
    this.closers.push(fn);
  }

  /** Stops the arena's worker threads. The memory and its views stay usable, on one thread. */
  close(): void {
    for (const fn of this.closers.splice(0)) fn();
  }
}

/**
 * Bytes a training arena reserves per trainable parameter: the parameter and its gradient (4 + 4),
 * optimizer state up to 16 (AdamW's m and v take 8, 1-bit Adam's 16) and 4 of update workspace for
 * optimizers that run their TypeScript path.
 */
export const TRAINING_BYTES_PER_PARAM = 28;
/** Room for the 8-bit optimizers' maps and lookup tables, scalar state and 64-byte alignment padding. */
const TRAINING_SLACK_BYTES = 64 << 20;

/**
 * An arena for training `parameters` trainable float32 values, or undefined when they do not fit
 * one wasm32 memory (the trainer and optimizer then keep everything on the JS heap, TypeScript path).
 * Reserving generously costs nothing: a WebAssembly.Memory's pages take physical memory only once
 * written, so peak RSS follows what is really allocated in it.
 */
export function trainingArena(parameters: number, bytesPerParam = TRAINING_BYTES_PER_PARAM, opts: ArenaOptions = {}): WasmArena | undefined {
  const bytes = parameters * bytesPerParam + TRAINING_SLACK_BYTES;
  return bytes + ARENA_RESERVED_BYTES <= MAX_ARENA_BYTES ? new WasmArena(bytes, opts) : undefined;
}

/** Same thing, named for what the training loop uses it for. */
export { WasmArena as ParamArena };
