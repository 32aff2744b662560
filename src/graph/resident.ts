// Values a session left on its device (Session.runKeeping): freed when the caller is done with them.
// On the CPU they are ordinary tensors and this does nothing.

import type { Feed } from './runtime.js';

/** Free every GPU-located value of `values` (KV caches, parameters, optimizer state of a past step). */
export function releaseResident(values: Record<string, Feed> | Iterable<Feed> | undefined): void {
  if (!values) return;
  const list = Symbol.iterator in values ? [...(values as Iterable<Feed>)] : Object.values(values);
  for (const v of list) {
    const t = v as { location?: string; dispose?: () => void };
    if (t.location === 'gpu-buffer') t.dispose?.();
  }
}
