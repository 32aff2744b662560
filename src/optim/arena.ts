// One pre-sized, non-shared WebAssembly.Memory holding parameters, gradients and optimizer state, so
// the wasm kernels update them in place and onnxruntime-node reads parameters from the same bytes
// (it accepts views of a non-shared wasm memory, not of a SharedArrayBuffer). The memory is never
// grown: `grow` would detach every view handed out. Views start at 64-byte aligned offsets.

import { fail } from '../errors.js';
import type { Param } from './core.js';

const PAGE = 65536;
const ALIGN = 64;
/** A wasm32 memory holds at most 65536 pages (4 GiB). */
export const MAX_ARENA_BYTES = 65536 * PAGE;
/** Bytes at the start of the memory kept for the kernel module's stack and static data. */
export const ARENA_RESERVED_BYTES = 1 << 20;

export class WasmArena {
  readonly memory: WebAssembly.Memory;
  private next = ARENA_RESERVED_BYTES;

  /** @param bytes usable bytes (parameters + gradients + state + workspace); rounded up to whole pages. */
  constructor(readonly bytes: number) {
    const total = ARENA_RESERVED_BYTES + bytes;
    if (!(bytes > 0) || total > MAX_ARENA_BYTES)
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `arena size ${bytes} bytes must be positive and at most ${MAX_ARENA_BYTES - ARENA_RESERVED_BYTES} (one wasm32 memory); use the TypeScript path (no arena) for larger models`, { field: 'arena.bytes' });
    const pages = Math.ceil(total / PAGE);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  }

  get buffer(): ArrayBuffer {
    return this.memory.buffer;
  }

  get bytesUsed(): number {
    return this.next - ARENA_RESERVED_BYTES;
  }

  get bytesFree(): number {
    return this.memory.buffer.byteLength - this.next;
  }

  /** Reserve `size` bytes at a 64-byte aligned offset and return the offset. */
  allocBytes(size: number): number {
    const at = Math.ceil(this.next / ALIGN) * ALIGN;
    if (at + size > this.memory.buffer.byteLength)
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `arena is full: ${size} more bytes requested, ${this.bytesFree} free of ${this.bytes}; size the arena for parameters, gradients and optimizer state`, { field: 'arena.bytes' });
    this.next = at + size;
    return at;
  }

  f32(n: number): Float32Array {
    return new Float32Array(this.memory.buffer, this.allocBytes(4 * n), n);
  }

  u8(n: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, this.allocBytes(n), n);
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
    return view.buffer === this.memory.buffer;
  }

  /** Byte offset of a view in the memory (the pointer a kernel takes). */
  offsetOf(view: ArrayBufferView): number {
    if (!this.contains(view)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'array does not live in this arena', {});
    return view.byteOffset;
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
export function trainingArena(parameters: number, bytesPerParam = TRAINING_BYTES_PER_PARAM): WasmArena | undefined {
  const bytes = parameters * bytesPerParam + TRAINING_SLACK_BYTES;
  return bytes + ARENA_RESERVED_BYTES <= MAX_ARENA_BYTES ? new WasmArena(bytes) : undefined;
}

/** Same thing, named for what the training loop uses it for. */
export { WasmArena as ParamArena };
