// glibc malloc settings for a training process.
//
// Every step, onnxruntime-node returns a JavaScript copy of each gradient it wrote in place
// (src/graph/output-copies.ts), and, with its CPU arena off, onnxruntime allocates and frees the
// step's activations. glibc serves blocks from 32 MB up (and, after its dynamic threshold, smaller
// ones) with a fresh mmap and unmaps them when freed, so every step faults all of that memory in
// again: 122 k page faults per GPT-2-small step (475 MB of gradient copies), 2-15 us each on this
// VM. With mmap off for malloc (M_MMAP_MAX 0) and freed memory kept (M_TRIM_THRESHOLD at its
// maximum), the next step's blocks reuse the freed ones: 1 k faults per step, and the gradient
// copies land in the memory the activations just left. Process-wide and one-way (the process keeps
// its high-water mark of heap memory), so only a trainer of a large model asks for it. Linux with
// glibc only; elsewhere, or where koffi does not load, it does nothing.

import { loadKoffi } from './koffi.js';

// mallopt parameters (glibc malloc.h).
const M_TRIM_THRESHOLD = -1;
const M_MMAP_MAX = -4;
const INT_MAX = 2 ** 31 - 1;

let applied: boolean | undefined;

/** Keep freed heap memory for reuse instead of returning it to the system; true when glibc took the settings. */
export function reuseFreedMemory(): boolean {
  if (applied !== undefined) return applied;
  applied = false;
  const k = loadKoffi();
  if (!k || process.platform !== 'linux') return applied;
  // Without glibc (musl, say) there is no libc.so.6 to load, or its mallopt refuses the settings.
  try {
    const mallopt = k.load('libc.so.6').func('int mallopt(int param, int value)');
    applied = mallopt(M_MMAP_MAX, 0) === 1 && mallopt(M_TRIM_THRESHOLD, INT_MAX) === 1;
  } catch {
    applied = false;
  }
  return applied;
}
