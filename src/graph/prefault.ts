// Faulting memory in ahead of use, on another thread.
//
// A training process's first step touches gigabytes of fresh memory (GPT-2-small: gradients and
// AdamW's state, 1.5 GB, 366 k pages of 4 KiB), and on this project's VMs each first touch costs
// microseconds. madvise(MADV_POPULATE_WRITE) (Linux 5.14) makes the kernel fault a range in for
// writing in one call, which koffi runs on one of its worker threads while the main thread goes on
// (the onnxruntime session is being created meanwhile), so the first step finds the pages present.
// Linux with glibc only; elsewhere, or where koffi does not load, nothing is done and callers fall
// back to touching the memory themselves.

import { loadKoffi } from './koffi.js';

const MADV_POPULATE_WRITE = 23;
const PAGE = 4096;

type Madvise = ((addr: bigint, length: bigint, advice: number) => number) & {
  async(addr: bigint, length: bigint, advice: number, done: (err: unknown, res: number) => void): void;
};

let madvise: Madvise | null | undefined;

function load(): Madvise | null {
  if (madvise === undefined) {
    madvise = null;
    const k = loadKoffi();
    if (k && process.platform === 'linux') {
      try {
        madvise = k.load('libc.so.6').func('int madvise(void *addr, size_t length, int advice)') as Madvise;
      } catch {
        madvise = null;
      }
    }
  }
  return madvise;
}

/** Whether prefault can work here. */
export function canPrefault(): boolean {
  return load() !== null;
}

/**
 * Fault in the whole pages of `buffer` within [from, to) bytes for writing, off the main thread.
 * Resolves true when the kernel did (false: not supported here, or the kernel refused: older than 5.14).
 */
export function prefault(buffer: ArrayBuffer, from: number, to: number): Promise<boolean> {
  const f = load();
  const k = loadKoffi();
  if (!f || !k || to - from < PAGE) return Promise.resolve(false);
  const base = k.address(new Uint8Array(buffer));
  const start = (base + BigInt(from) + BigInt(PAGE - 1)) & ~BigInt(PAGE - 1);
  const end = (base + BigInt(to)) & ~BigInt(PAGE - 1);
  if (end <= start) return Promise.resolve(false);
  return new Promise((resolve) => f.async(start, end - start, MADV_POPULATE_WRITE, (err, res) => resolve(!err && res === 0)));
}
