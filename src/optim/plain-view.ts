// A plain (non-shared) ArrayBuffer over the bytes of a shared WebAssembly.Memory. The optimizer's
// threads need a shared memory (a worker can reach nothing else), but onnxruntime-node 1.30 rejects
// any tensor whose buffer is a SharedArrayBuffer ("Invalid argument": its binding reads the buffer
// with napi_get_arraybuffer_info, which refuses shared ones), for feeds and pre-allocated outputs
// alike. koffi's view() makes an external ArrayBuffer at the memory's address: the same bytes, so
// parameters and gradients stay zero-copy for onnxruntime while the kernels' threads update them.
// koffi is optional: where it does not load, callers fall back to one thread and a plain memory.

import { loadKoffi } from '../graph/koffi.js';

/** Whether plainView can work here (koffi loads). */
export function canViewShared(): boolean {
  return loadKoffi() !== null;
}

/**
 * Views keep the memory alive: the external buffer does not own its bytes, so the memory must not be
 * collected while any view (or a typed array over one) is reachable.
 */
const owners = new WeakMap<ArrayBuffer, WebAssembly.Memory>();

/** A plain ArrayBuffer aliasing all of `memory` (which must be shared and never grow). */
export function plainView(memory: WebAssembly.Memory): ArrayBuffer {
  const k = loadKoffi();
  if (!k) throw new Error('koffi is not available');
  const bytes = new Uint8Array(memory.buffer);
  const view = k.view(k.address(bytes), bytes.byteLength);
  owners.set(view, memory);
  return view;
}
