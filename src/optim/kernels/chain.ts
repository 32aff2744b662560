// How a kernel reads a chain: its structure as a signature string, a member's hyperparameters and
// state by transform name, the counts advanced as the TypeScript path advances them, and the
// learning rate a scaleByLearningRate member gives at this step.

import { fail } from '../../errors.js';
import type { GradientTransformation, Param, TransformState } from '../core.js';
import type { Schedule } from '../schedules.js';
import type { ArenaKernels } from './module.js';

/** `chain(scaleByAdam,addDecayedWeights,scaleByLearningRate)`: names, with wrappers' children in parentheses. */
export function signature(t: GradientTransformation): string {
  return t.children ? `${t.name}(${t.children.map(signature).join(',')})` : t.name;
}

export interface Member {
  hyper: Record<string, unknown>;
  state: TransformState;
}

/** The first member of this name, depth first (wrappers included). */
export function member(t: GradientTransformation, s: TransformState, name: string): Member {
  const found = search(t, s, name);
  // Signatures are matched before a kernel runs, so a missing member is a bug in a kernel spec.
  if (!found) throw fail('ALIGNKIT_ERR_INTERNAL', `optimizer kernel: the chain has no ${name}`, { field: name });
  return found;
}

export function hasMember(t: GradientTransformation, name: string): boolean {
  return t.name === name || (t.children ?? []).some((c) => hasMember(c, name));
}

function search(t: GradientTransformation, s: TransformState, name: string): Member | undefined {
  if (t.name === name) return { hyper: t.hyper as Record<string, unknown>, state: s };
  for (let i = 0; i < (t.children ?? []).length; i++) {
    const r = search(t.children![i]!, s.children![i]!, name);
    if (r) return r;
  }
  return undefined;
}

/** Advance every count in the tree, as one TypeScript step does for chains whose members all run every step. */
export function tickAll(s: TransformState): void {
  s.count++;
  for (const c of s.children ?? []) tickAll(c);
}

/** lr * schedule(count) of the scaleByLearningRate member (after the tick). */
export function learningRate(t: GradientTransformation, s: TransformState): number {
  const m = member(t, s, 'scaleByLearningRate');
  return (m.hyper.lr as number) * (m.hyper.schedule as Schedule)(m.state.count);
}

/** What a kernel's run() gets besides parameters, gradients and state. */
export interface KernelAux {
  /** The optimizer's 1-based step. */
  step: number;
  /** Hessian diagonals in the arena, when the chain asked for them this step. */
  hessianDiag?: Float32Array[];
  /** Per-worker gradients (anywhere in memory: kernels copy them into the arena). */
  workerGrads?: Float32Array[][];
}

export type KernelRun = (params: Param[], grads: Float32Array[], state: TransformState, t: GradientTransformation, aux: KernelAux) => void;

export interface KernelSpec {
  name: string;
  /** Chain signatures this kernel computes. */
  signatures: string[];
  /** Further conditions on hyperparameters (options the kernel does not implement). */
  accepts?(t: GradientTransformation, params: Param[]): boolean;
  make(k: ArenaKernels): KernelRun;
  /**
   * For a kernel that keeps its state in a layout of its own between steps (1-bit Adam): restore
   * the layout the TypeScript transforms use, before anything else reads or writes the state.
   */
  canonicalize?(k: ArenaKernels, state: TransformState, t: GradientTransformation): void;
}

/** Byte offset of an array in the arena (0 = absent, as the C code reads null). */
export const ptr = (a: ArrayBufferView | undefined): number => (a ? a.byteOffset : 0);
