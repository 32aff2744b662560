// koffi (a foreign-function interface with prebuilt binaries) for the two places alignkit reaches
// below Node.js: plain views of shared wasm memory (src/optim/plain-view.ts) and glibc's malloc
// settings (src/graph/malloc.ts). Optional: where it does not load, callers fall back.

import { createRequire } from 'node:module';

export interface Koffi {
  address(value: unknown): bigint;
  view(ptr: unknown, len: number): ArrayBuffer;
  load(path: string): { func(signature: string): (...args: unknown[]) => unknown };
}

let koffi: Koffi | null | undefined;

/** koffi, or null where it does not load. */
export function loadKoffi(): Koffi | null {
  if (koffi === undefined) {
    try {
      koffi = createRequire(import.meta.url)('koffi') as Koffi;
    } catch {
      koffi = null;
    }
  }
  return koffi;
}
