// Values a session left on its device (Session.runKeeping): read back or freed by whoever holds them.
// On the CPU they are ordinary tensors: reading returns their data, freeing does nothing.

import type { TypedArray } from './dtypes.js';
import type { Feed } from './runtime.js';
import { exclusive } from './webgpu/exclusive.js';

interface DeviceTensor {
  location?: string;
  data?: unknown;
  getData?(release?: boolean): Promise<unknown>;
  dispose?(): void;
}

const onDevice = (v: Feed): boolean => (v as DeviceTensor).location === 'gpu-buffer';

/** Free every GPU-located value of `values` (KV caches, parameters, optimizer state of a past step). */
export function releaseResident(values: Record<string, Feed> | Iterable<Feed> | undefined): void {
  if (!values) return;
  const list = Symbol.iterator in values ? [...(values as Iterable<Feed>)] : Object.values(values);
  for (const v of list) if (onDevice(v)) (v as DeviceTensor).dispose?.();
}

/** A resident value's data on the host (a download for a GPU buffer, which stays on the device). */
export async function readResident(v: Feed): Promise<TypedArray> {
  if (onDevice(v)) return (await exclusive(() => (v as DeviceTensor).getData!(false))) as TypedArray;
  return (v as { data: TypedArray }).data;
}
