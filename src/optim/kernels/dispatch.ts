// Fused WebAssembly kernels, chosen per parameter group: a kernel is used when the group's chain
// has one of its signatures (and hyperparameters it implements) and all parameters and state live
// in the WasmArena. It reads the same hyperparameters and updates the same state arrays and counts
// as the TypeScript transforms, so results agree within float32 rounding and either path can take
// over mid-run (a kernel that packs its state between steps unpacks it in canonicalize, which the
// optimizer calls before anything else touches the state).

import type { GradientTransformation, Param, TransformState } from '../core.js';
import type { WasmArena } from '../arena.js';
import { ADAM_FAMILY_KERNELS } from './adam-family.js';
import { signature, type KernelRun, type KernelSpec } from './chain.js';
import { kernelsFor } from './module.js';
import { SECOND_ORDER_KERNELS } from './second-order.js';
import { SGD_FAMILY_KERNELS } from './sgd-family.js';
import { SOAP_KERNELS } from './soap.js';

export { kernelWasmPath } from './module.js';
export type { KernelAux } from './chain.js';

export interface FusedKernel {
  readonly name: string;
  run: KernelRun;
  /** Puts the state back in the TypeScript transforms' layout (a no-op for most kernels). */
  canonicalize(state: TransformState, t: GradientTransformation): void;
}

const KERNELS: KernelSpec[] = [...ADAM_FAMILY_KERNELS, ...SGD_FAMILY_KERNELS, ...SECOND_ORDER_KERNELS, ...SOAP_KERNELS];

export const KERNEL_NAMES = KERNELS.map((k) => k.name);

/** The fused kernel for this chain and these parameters, if one matches. */
export function findKernel(t: GradientTransformation, arena: WasmArena, params: Param[] = []): FusedKernel | undefined {
  const sig = signature(t);
  const spec = KERNELS.find((k) => k.signatures.includes(sig) && (k.accepts?.(t, params) ?? true));
  if (!spec) return undefined;
  const k = kernelsFor(arena);
  return { name: spec.name, run: spec.make(k), canonicalize: (state, t) => spec.canonicalize?.(k, state, t) };
}
