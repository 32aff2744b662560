// The optax contract, in TypeScript over typed arrays: a gradient transformation has
// `init(params) -> state` and `update(updates, state, ctx)`, and optimizers are `chain()`s of small
// transformations. One difference from optax, for speed: `update` rewrites the `updates` buffers in
// place instead of returning new arrays (the buffers are allocated once per run, never per step).
// The final updates are ADDED to the parameters (optax's `apply_updates`), so
// `scaleByLearningRate` multiplies by -lr.

import type { MatrixOps } from './matrix-ops.js';

/** A named float32 parameter, updated in place. */
export interface Param {
  name: string;
  data: Float32Array;
  dims: number[];
}

export type StateArray = Float32Array | Float64Array | Int8Array | Uint8Array | Uint32Array | Int32Array;

/** Typed arrays a transformation keeps for one parameter (moments, codes, per-tensor scalars as length-1 arrays). */
export type ParamSlots = Record<string, StateArray>;

/**
 * A transformation's state: a step count, named scalars shared by all its parameters, per-parameter
 * slots aligned with the params array, and the states of its children (for `chain`). All of it is
 * plain numbers and typed arrays, so it round-trips through safetensors.
 */
export interface TransformState {
  count: number;
  scalars: Record<string, number>;
  slots: ParamSlots[];
  children?: TransformState[];
}

/** Where state and workspace memory comes from: a WebAssembly arena, or the JS heap. */
export interface Allocator {
  f32(n: number): Float32Array;
  u8(n: number): Uint8Array;
  /** True when kernels can address this array (it lives in the arena's memory). */
  addressable(a: ArrayBufferView): boolean;
}

export const heapAllocator: Allocator = {
  f32: (n) => new Float32Array(n),
  u8: (n) => new Uint8Array(n),
  addressable: () => false,
};

/** Per-parameter Hessian information handed in by the training loop (see hessian.ts). */
export type DiagEstimate = Float32Array[];

export interface UpdateContext {
  params: Param[];
  /**
   * The optimizer's 1-based step. A transform normally counts its own steps; one inside a reset
   * wrapper (whose count restarts) reads this for schedules of the whole run (Stable-SPAM's cosine).
   */
  step?: number;
  /** The raw gradients of this step, read-only (AdamP's projection needs them after Adam has rewritten the updates). */
  grads: Float32Array[];
  /** Diagonal Hessian estimates for this step, when the optimizer asked for them (`needsHessian`). */
  hessianDiag?: DiagEstimate;
  /** Per-worker gradients for data-parallel compression (1-bit Adam); `grads` is their mean. */
  workerGrads?: Float32Array[][];
  /** Dense float32 operations (SOAP's rotations): the wasm kernels' on the arena path, else TypeScript's. */
  matrixOps?: MatrixOps;
  /** The state of a sibling transformation in the same chain, by name (spike clipping reads Adam's v). */
  stateOf(name: string): TransformState | undefined;
}

export interface GradientTransformation {
  readonly name: string;
  /** Hyperparameters as configured; kernels read them to run a fused chain with the same numbers. */
  readonly hyper: Readonly<Record<string, unknown>>;
  init(params: Param[], alloc: Allocator): TransformState;
  update(updates: Float32Array[], state: TransformState, ctx: UpdateContext): void;
  /** Does the step with this 1-based number need a Hessian estimate? (Sophia every k steps, AdaHessian every step.) */
  needsHessian?(step: number): boolean;
  /** Children of a combinator, so kernels can match a chain by names. */
  readonly children?: readonly GradientTransformation[];
}

export function emptyState(params: Param[]): TransformState {
  return { count: 0, scalars: {}, slots: params.map(() => ({})) };
}

/** Build a transformation from its parts; `hyper` is frozen so no step can change it. */
export function transform(
  name: string,
  hyper: Record<string, unknown>,
  init: GradientTransformation['init'],
  update: GradientTransformation['update'],
  extra: Partial<Pick<GradientTransformation, 'needsHessian' | 'children'>> = {},
): GradientTransformation {
  return { name, hyper: Object.freeze({ ...hyper }), init, update, ...extra };
}

/** optax.chain: apply transformations in order; each sees the updates the previous one produced. */
export function chain(...parts: GradientTransformation[]): GradientTransformation {
  return transform(
    'chain',
    {},
    (params, alloc) => ({ ...emptyState(params), children: parts.map((p) => p.init(params, alloc)) }),
    (updates, state, ctx) => {
      state.count++;
      const children = state.children!;
      const inner: UpdateContext = {
        ...ctx,
        stateOf: (name) => findState(parts, children, name) ?? ctx.stateOf(name),
      };
      for (let i = 0; i < parts.length; i++) parts[i]!.update(updates, children[i]!, inner);
    },
    {
      children: parts,
      needsHessian: (step) => parts.some((p) => p.needsHessian?.(step) ?? false),
    },
  );
}

/** Depth-first search for a transformation's state by name (a wrapper such as periodicReset hides its inner transform one level down). */
function findState(parts: readonly GradientTransformation[], states: TransformState[], name: string): TransformState | undefined {
  for (let i = 0; i < parts.length; i++) {
    if (parts[i]!.name === name) return states[i];
    const inner = parts[i]!.children ? findState(parts[i]!.children!, states[i]!.children ?? [], name) : undefined;
    if (inner) return inner;
  }
  return undefined;
}

/** optax.apply_updates: p += u. */
export function applyUpdates(params: Param[], updates: Float32Array[]): void {
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!.data;
    const u = updates[i]!;
    for (let j = 0; j < p.length; j++) p[j]! += u[j]!;
  }
}

