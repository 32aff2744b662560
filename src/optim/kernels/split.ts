// Elementwise kernels split over an arena's threads by parameter ranges. Every entry below updates
// entry i of its arrays from entry i alone (or from its own block, for the block-wise kernels), so
// running [0, a) on one thread and [a, n) on another with every array pointer shifted by a computes
// exactly what one call over [0, n) computes: bit-identical results. Split points are multiples of
// 16 entries (64 bytes, and a multiple of the kernels' 4-lane vectors, so each entry takes the same
// vector or scalar path as in one call) and of the kernel's block where it has one. Reductions
// (norms, row dots), gemm and SOAP's small transposes stay on the calling thread; transpose_columns
// (a large gradient turned around) splits over the source's columns, which are the rows it writes.

import type { KernelExports } from './module.js';

interface SplitSpec {
  /** Arguments that point at float32 arrays of n entries (0 = absent stays 0). */
  f32: number[];
  /** Arguments that point at byte arrays of n entries. */
  u8?: number[];
  /** Arguments that point at float32 arrays of one entry per block. */
  perBlock?: number[];
  /** The argument holding n. */
  n: number;
  /** An argument holding the index of the first entry (moved by the split instead of the pointers). */
  offset?: number;
  /** Entries of work in a call, compared with the split threshold (default: n). */
  work?: (args: number[]) => number;
  /** The argument holding the kernel's block size (split points are multiples of it). */
  block?: number;
  /** A fixed block the kernel works in (exadam_step's EXADAM_BLOCK in optim_kernels.c). */
  unit?: number;
  /** An argument pointing at a per-call scratch (each thread gets its own, of `scratchFloats(args)` floats). */
  scratch?: number;
  scratchFloats?: (args: number[]) => number;
}

/** The C signatures in optim_kernels.c, by argument position. */
const SPLITS: Partial<Record<keyof KernelExports, SplitSpec>> = {
  adam_step: { f32: [0, 1, 2, 3, 4], n: 5 },
  lion_step: { f32: [0, 1, 2], n: 3 },
  exadam_step: { f32: [0, 1, 2, 3], n: 4, unit: 256 },
  adabelief_step: { f32: [0, 1, 2, 3, 4], n: 5 },
  momentum_step: { f32: [0, 1, 2], n: 3 },
  sophia_step: { f32: [0, 1, 2, 3, 4], n: 5 },
  adahessian_step: { f32: [0, 1, 2, 3, 4], n: 5, block: 6 },
  onebit_compress: { f32: [0, 1], n: 2 },
  onebit_finish: { f32: [0, 1, 2, 3, 4, 5], n: 6 },
  onebit_pack: { f32: [0, 1], n: 2 },
  onebit_unpack: { f32: [0, 1, 2], n: 3 },
  onebit_single: { f32: [0, 1, 2, 3], n: 4 },
  soap_adam: { f32: [0, 1, 2, 3], n: 4 },
  scale_to: { f32: [0, 1], n: 2 },
  apply_step: { f32: [0, 1], n: 2 },
  transpose_columns: { f32: [], offset: 4, n: 5, work: (a) => a[1]! * a[5]! },
  adam8bit_step: { f32: [0, 1], u8: [2, 3], perBlock: [4, 5], n: 6, block: 7, scratch: 12, scratchFloats: (a) => 2 * a[7]! },
};

export const SPLIT_KERNELS = Object.keys(SPLITS) as (keyof KernelExports)[];

/** What a split call needs from the pool. */
export interface Threads {
  /** Workers besides the calling thread. */
  readonly size: number;
  post(w: number, name: string, args: number[]): void;
  join(w: number): void;
  /** Byte offset of worker w's own scratch of at least `floats` float32 entries. */
  scratch(w: number, floats: number): number;
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

/** Shift every array argument of a call by `first` entries and set its length to `count`. */
function shifted(spec: SplitSpec, args: number[], first: number, count: number): number[] {
  const out = args.slice();
  const move = (i: number, bytes: number) => {
    if (out[i]) out[i] += bytes;
  };
  for (const i of spec.f32) move(i, 4 * first);
  for (const i of spec.u8 ?? []) move(i, first);
  const block = spec.block === undefined ? 1 : args[spec.block]!;
  // first is a multiple of the block: whole blocks move.
  for (const i of spec.perBlock ?? []) move(i, (4 * first) / block);
  if (spec.offset !== undefined) out[spec.offset] = args[spec.offset]! + first;
  out[spec.n] = count;
  return out;
}

/**
 * `x` with the SPLITS kernels running over the calling thread and `threads` (started lazily, by the
 * first call of at least `from` entries; smaller calls stay on the calling thread), everything else unchanged.
 */
export function splitExports(x: KernelExports, threads: () => Threads, from: number): KernelExports {
  const out = { ...x } as Record<string, unknown>;
  for (const name of SPLIT_KERNELS) {
    const spec = SPLITS[name]!;
    const one = x[name] as (...a: number[]) => void;
    out[name] = (...args: number[]) => {
      const n = args[spec.n]!;
      if ((spec.work?.(args) ?? n) < from) return one(...args);
      const pool = threads();
      const block = spec.block === undefined ? 1 : args[spec.block]!;
      const base = spec.unit ?? 16;
      const granule = (base * block) / gcd(base, block);
      const parts = pool.size + 1;
      const bounds = Array.from({ length: parts + 1 }, (_, k) => (k === parts ? n : Math.floor((n * k) / parts / granule) * granule));
      for (let w = 0; w < pool.size; w++) {
        const [a, b] = [bounds[w + 1]!, bounds[w + 2]!];
        const call = shifted(spec, args, a, b - a);
        if (spec.scratch !== undefined) call[spec.scratch] = pool.scratch(w, spec.scratchFloats!(args));
        pool.post(w, name, call);
      }
      try {
        one(...shifted(spec, args, 0, bounds[1]!));
      } finally {
        for (let w = 0; w < pool.size; w++) pool.join(w);
      }
    };
  }
  return out as unknown as KernelExports;
}
