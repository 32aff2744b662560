// SPAM's sparse momentum as a transform wrapper: for each matrix parameter, the wrapped
// transformation (spike clipping and Adam moments) only exists for a random subset of
// round(density * n) entries, re-drawn at every momentum reset (and at the first step); the other
// entries get a zero update (the official code's grad_full[~mask] = 0). The wrapped state is sized
// to the subset, which is where the memory saving comes from. Vectors (biases, norms) stay dense.

import { mulberry32 } from '../random.js';
import { zeroState } from './reset.js';
import { emptyState, transform, type Allocator, type GradientTransformation, type Param, type TransformState } from './core.js';

interface Workspace {
  virtual: Param[];
  compact: Float32Array[];
  compactGrads: Float32Array[];
}

function drawIndices(n: number, k: number, rnd: () => number, out: Uint32Array): void {
  // Partial Fisher-Yates over 0..n-1, then sorted so gathers walk memory forwards.
  const pool = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rnd() * (n - i));
    const tmp = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = tmp;
  }
  out.set(pool.subarray(0, k).sort());
}

export function sparseMoments(inner: GradientTransformation, density: number, period: number, seed = 0): GradientTransformation {
  const workspaces = new WeakMap<TransformState, Workspace>();
  const subsetSize = (p: Param) => (p.dims.length >= 2 ? Math.max(1, Math.round(density * p.data.length)) : p.data.length);
  return transform(
    'sparseMoments',
    { density, period, seed },
    (params: Param[], alloc: Allocator) => {
      const virtual = params.map((p) => ({ name: p.name, dims: [subsetSize(p)], data: new Float32Array(subsetSize(p)) }));
      const state: TransformState = {
        ...emptyState(params),
        scalars: { seed },
        slots: params.map((p) => ({ indices: new Uint32Array(subsetSize(p)) })),
        children: [inner.init(virtual, alloc)],
      };
      workspaces.set(state, { virtual, compact: virtual.map((v) => new Float32Array(v.data.length)), compactGrads: virtual.map((v) => new Float32Array(v.data.length)) });
      return state;
    },
    (updates, state, ctx) => {
      const t = ++state.count;
      const ws = workspaces.get(state)!;
      if (t === 1 || (period > 0 && t % period === 0)) {
        // A fresh draw per redraw step, reproducible from the seed and the step.
        const rnd = mulberry32((state.scalars.seed! * 1000003 + t) >>> 0).next;
        state.slots.forEach((s, i) => drawIndices(ctx.params[i]!.data.length, s.indices!.length, rnd, s.indices as Uint32Array));
        if (t > 1) zeroState(state.children![0]!);
      }
      for (let i = 0; i < updates.length; i++) {
        const idx = state.slots[i]!.indices as Uint32Array;
        const u = updates[i]!;
        const g = ctx.grads[i]!;
        const p = ctx.params[i]!.data;
        for (let k = 0; k < idx.length; k++) {
          ws.compact[i]![k] = u[idx[k]!]!;
          ws.compactGrads[i]![k] = g[idx[k]!]!;
          ws.virtual[i]!.data[k] = p[idx[k]!]!;
        }
      }
      inner.update(ws.compact, state.children![0]!, { ...ctx, params: ws.virtual, grads: ws.compactGrads });
      for (let i = 0; i < updates.length; i++) {
        const idx = state.slots[i]!.indices as Uint32Array;
        const u = updates[i]!;
        if (idx.length === u.length) {
          for (let k = 0; k < idx.length; k++) u[idx[k]!] = ws.compact[i]![k]!;
          continue;
        }
        u.fill(0);
        for (let k = 0; k < idx.length; k++) u[idx[k]!] = ws.compact[i]![k]!;
      }
    },
    { children: [inner] },
  );
}
