// Fused WebAssembly kernels for chains that dominate training time. A kernel is selected when a
// group's chain matches its transform names (and hyperparameters it supports) and all parameters
// and state live in the WasmArena; it reads the same hyperparameters and updates the same state
// arrays and counts as the TypeScript transforms, so results agree within float32 rounding.

import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { GradientTransformation, Param, TransformState } from '../core.js';
import type { WasmArena } from '../arena.js';
import type { Schedule } from '../schedules.js';
import { SIGNED_LUT, SIGNED_MAP, UNSIGNED_LUT, UNSIGNED_MAP } from '../quant8.js';

export interface FusedKernel {
  readonly name: string;
  run(params: Param[], grads: Float32Array[], state: TransformState, t: GradientTransformation): void;
}

interface KernelExports {
  adamw_step(p: number, g: number, m: number, v: number, n: number, lr: number, b1: number, b2: number, c1: number, c2: number, eps: number, wd: number, bc1: number, bc2: number): void;
  lion_step(p: number, g: number, m: number, n: number, lr: number, b1: number, b2: number, c1: number, c2: number, wd: number): void;
  adam8bit_step(p: number, g: number, mq: number, vq: number, mabs: number, vabs: number, n: number, block: number, smap: number, umap: number, slut: number, ulut: number, scratch: number, lr: number, b1: number, b2: number, c1: number, c2: number, eps: number, wd: number, bc1: number, bc2: number): void;
}

/** The committed module: next to this file in src/, or found from dist/ (tsc does not copy .wasm). */
export function kernelWasmPath(): string {
  const here = fileURLToPath(new URL('./optim_kernels.wasm', import.meta.url));
  if (fs.existsSync(here)) return here;
  return fileURLToPath(new URL('../../../src/optim/kernels/optim_kernels.wasm', import.meta.url));
}

let compiled: WebAssembly.Module | undefined;

interface ArenaKernels {
  x: KernelExports;
  /** Offsets of the 8-bit maps and lookup tables copied into the arena, and a scratch block. */
  q8: { smap: number; umap: number; slut: number; ulut: number; scratch: number } | undefined;
}

const instances = new WeakMap<WasmArena, ArenaKernels>();

function kernelsFor(arena: WasmArena): ArenaKernels {
  let k = instances.get(arena);
  if (!k) {
    compiled ??= new WebAssembly.Module(fs.readFileSync(kernelWasmPath()));
    const inst = new WebAssembly.Instance(compiled, { env: { memory: arena.memory } });
    k = { x: inst.exports as unknown as KernelExports, q8: undefined };
    instances.set(arena, k);
  }
  return k;
}

function q8Tables(arena: WasmArena, k: ArenaKernels): NonNullable<ArenaKernels['q8']> {
  if (!k.q8) {
    // Two +inf entries after each map: the kernel's branch-free search may read map[256] and map[257].
    const smap = arena.f32(258).fill(Infinity);
    smap.set(SIGNED_MAP);
    const umap = arena.f32(258).fill(Infinity);
    umap.set(UNSIGNED_MAP);
    const slut = arena.u8(65536);
    slut.set(SIGNED_LUT);
    const ulut = arena.u8(65536);
    ulut.set(UNSIGNED_LUT);
    const scratch = arena.f32(2 * 4096);
    k.q8 = { smap: smap.byteOffset, umap: umap.byteOffset, slut: slut.byteOffset, ulut: ulut.byteOffset, scratch: scratch.byteOffset };
  }
  return k.q8;
}

/** Advance every count of the chain as the TypeScript path does. */
function tick(state: TransformState): void {
  state.count++;
  for (const c of state.children!) c.count++;
}

/** A chain member by transform name: its hyperparameters and state. */
function member(t: GradientTransformation, state: TransformState, name: string): { hyper: Record<string, unknown>; state: TransformState } {
  const i = t.children!.findIndex((c) => c.name === name);
  return { hyper: t.children![i]!.hyper as Record<string, unknown>, state: state.children![i]! };
}

/** Numbers every Adam-family kernel takes, after advancing the counts. */
function adamStep(t: GradientTransformation, state: TransformState, moments: string) {
  tick(state);
  const a = member(t, state, moments);
  const { b1, b2, eps } = a.hyper as { b1: number; b2: number; eps: number };
  const lrm = member(t, state, 'scaleByLearningRate');
  const { lr, schedule } = lrm.hyper as { lr: number; schedule: Schedule };
  const step = a.state.count;
  return { a, b1, b2, eps, wd: member(t, state, 'addDecayedWeights').hyper.weightDecay as number, lr: lr * schedule(lrm.state.count), bc1: 1 - b1 ** step, bc2: 1 - b2 ** step };
}

interface KernelSpec {
  name: string;
  chain: string[];
  accepts(t: GradientTransformation): boolean;
  make(arena: WasmArena, k: ArenaKernels): FusedKernel['run'];
}

const plainAdam = (t: GradientTransformation) => {
  const h = t.children!.find((c) => c.name === 'scaleByAdam')!.hyper;
  return h.amsgrad === false && h.epsOutsideCorrection === false;
};
const noDecay = (t: GradientTransformation) => t.children![0]!.hyper.weightDecay === 0;

const adamwRun: KernelSpec['make'] = (_arena, { x }) => (params, grads, state, t) => {
  const s = adamStep(t, state, 'scaleByAdam');
  params.forEach((p, i) => {
    const slot = s.a.state.slots[i]!;
    x.adamw_step(p.data.byteOffset, grads[i]!.byteOffset, slot.m!.byteOffset, slot.v!.byteOffset, p.data.length, s.lr, s.b1, s.b2, 1 - s.b1, 1 - s.b2, s.eps, s.wd, s.bc1, s.bc2);
  });
};

const adam8bitRun: KernelSpec['make'] = (arena, k) => {
  const q = q8Tables(arena, k);
  return (params, grads, state, t) => {
    const s = adamStep(t, state, 'scaleByAdam8bit');
    const blockSize = s.a.hyper.blockSize as number;
    params.forEach((p, i) => {
      const slot = s.a.state.slots[i]!;
      const n = p.data.length;
      if (slot.m) k.x.adamw_step(p.data.byteOffset, grads[i]!.byteOffset, slot.m.byteOffset, slot.v!.byteOffset, n, s.lr, s.b1, s.b2, 1 - s.b1, 1 - s.b2, s.eps, s.wd, s.bc1, s.bc2);
      else k.x.adam8bit_step(p.data.byteOffset, grads[i]!.byteOffset, slot.mq!.byteOffset, slot.vq!.byteOffset, slot.mAbsmax!.byteOffset, slot.vAbsmax!.byteOffset, n, blockSize, q.smap, q.umap, q.slut, q.ulut, q.scratch, s.lr, s.b1, s.b2, 1 - s.b1, 1 - s.b2, s.eps, s.wd, s.bc1, s.bc2);
    });
  };
};

const KERNELS: KernelSpec[] = [
  { name: 'adamw', chain: ['scaleByAdam', 'addDecayedWeights', 'scaleByLearningRate'], accepts: plainAdam, make: adamwRun },
  // Adam with an L2 term is the same update when the term is zero.
  { name: 'adamw', chain: ['addDecayedWeights', 'scaleByAdam', 'scaleByLearningRate'], accepts: (t) => plainAdam(t) && noDecay(t), make: adamwRun },
  {
    name: 'lion',
    chain: ['scaleByLion', 'addDecayedWeights', 'scaleByLearningRate'],
    accepts: (t) => t.children![0]!.hyper.kappa === 'sign',
    make: (_arena, { x }) => (params, grads, state, t) => {
      tick(state);
      const lion = member(t, state, 'scaleByLion');
      const { b1, b2 } = lion.hyper as { b1: number; b2: number };
      const wd = member(t, state, 'addDecayedWeights').hyper.weightDecay as number;
      const lrm = member(t, state, 'scaleByLearningRate');
      const lr = (lrm.hyper.lr as number) * (lrm.hyper.schedule as Schedule)(lrm.state.count);
      params.forEach((p, i) => x.lion_step(p.data.byteOffset, grads[i]!.byteOffset, lion.state.slots[i]!.m!.byteOffset, p.data.length, lr, b1, b2, 1 - b1, 1 - b2, wd));
    },
  },
  { name: 'adam8bit', chain: ['scaleByAdam8bit', 'addDecayedWeights', 'scaleByLearningRate'], accepts: () => true, make: adam8bitRun },
  { name: 'adam8bit', chain: ['addDecayedWeights', 'scaleByAdam8bit', 'scaleByLearningRate'], accepts: noDecay, make: adam8bitRun },
];

export const KERNEL_NAMES = [...new Set(KERNELS.map((k) => k.name))];

/** The fused kernel for this chain, if one matches. */
export function findKernel(t: GradientTransformation, arena: WasmArena): FusedKernel | undefined {
  if (t.name !== 'chain' || !t.children) return undefined;
  const names = t.children.map((c) => c.name);
  const spec = KERNELS.find((k) => k.chain.length === names.length && k.chain.every((n, i) => n === names[i]) && k.accepts(t));
  return spec ? { name: spec.name, run: spec.make(arena, kernelsFor(arena)) } : undefined;
}
