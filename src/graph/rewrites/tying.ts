// Weight tying across exported initializers. PyTorch ties GPT-2's `lm_head.weight` to
// `transformer.wte.weight`, but an export may write the tensor twice: as the same bytes under two
// names, or (torch.onnx.export folding the head's Transpose) as its [D, V] transpose. A
// ParameterMap groups such initializers. With `tie: false` (the default, what the public gradient
// API needs) each initializer is its own parameter with its own gradient; with `tie: true` the
// group trains as one parameter whose gradient is the sum of its members' gradients, as autograd
// computes for a shared nn.Parameter, and every member is rewritten after each update.

import { fail } from '../../errors.js';
import { numel } from '../dtypes.js';
import type { Model, Tensor } from '../ir.js';

export interface TiedMember {
  name: string;
  /** true when the member stores the 2-D transpose of the group's canonical tensor. */
  transposed: boolean;
}

export interface TiedGroup {
  /** The first member's name; the parameter's name when tied. */
  canonical: string;
  members: TiedMember[];
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isTransposeOf(a: Tensor, b: Tensor): boolean {
  if (a.dims.length !== 2 || b.dims.length !== 2 || a.dims[0] !== b.dims[1] || a.dims[1] !== b.dims[0]) return false;
  const [r, c] = a.dims as [number, number];
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) if (x[i * c + j] !== y[j * r + i]) return false;
  return true;
}

/** Groups of at least two float32 initializers among `names` holding the same tensor (or its transpose). */
export function findTiedGroups(model: Model, names: readonly string[]): TiedGroup[] {
  const groups: TiedGroup[] = [];
  const seen = new Set<string>();
  const init = model.graph.initializers;
  // Candidates are bucketed by element count and first value, so the full comparison runs rarely.
  const key = (t: Tensor) => `${numel(t.dims)}:${(t.data as Float32Array)[0]}`;
  const buckets = new Map<string, string[]>();
  for (const n of names) {
    const t = init.get(n);
    if (!t || t.dtype !== 'float32' || t.data.length === 0) continue;
    const k = key(t);
    buckets.set(k, [...(buckets.get(k) ?? []), n]);
  }
  for (const bucket of buckets.values()) {
    for (const a of bucket) {
      if (seen.has(a)) continue;
      const ta = init.get(a)!;
      const members: TiedMember[] = [{ name: a, transposed: false }];
      for (const b of bucket) {
        if (b === a || seen.has(b)) continue;
        const tb = init.get(b)!;
        if (tb.dims.join() === ta.dims.join() && sameValues(ta.data as Float32Array, tb.data as Float32Array)) members.push({ name: b, transposed: false });
        else if (isTransposeOf(ta, tb)) members.push({ name: b, transposed: true });
      }
      if (members.length > 1) {
        for (const m of members) seen.add(m.name);
        groups.push({ canonical: a, members });
      }
    }
  }
  // Transposed twins have different first values in general: pair 2-D tensors of swapped shape too.
  const twoD = names.filter((n) => !seen.has(n) && init.get(n)?.dtype === 'float32' && init.get(n)!.dims.length === 2);
  for (const a of twoD) {
    if (seen.has(a)) continue;
    for (const b of twoD) {
      if (b === a || seen.has(b) || !isTransposeOf(init.get(a)!, init.get(b)!)) continue;
      seen.add(a);
      seen.add(b);
      groups.push({ canonical: a, members: [{ name: a, transposed: false }, { name: b, transposed: true }] });
      break;
    }
  }
  return groups;
}

function transpose2d(src: Float32Array, rows: number, cols: number, out: Float32Array, accumulate: boolean): void {
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      const v = src[i * cols + j]!;
      out[j * rows + i] = accumulate ? out[j * rows + i]! + v : v;
    }
}

export interface ParameterMapOptions {
  tie?: boolean;
}

/** Trainable initializers as optimizer parameters, aware of tied groups. */
export class ParameterMap {
  readonly groups: TiedGroup[];
  /** Parameter name -> the initializers it stands for. */
  private readonly members = new Map<string, TiedMember[]>();
  private readonly dims = new Map<string, number[]>();

  constructor(model: Model, trainable: readonly string[], opts: ParameterMapOptions = {}) {
    for (const n of trainable)
      if (!model.graph.initializers.has(n)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `trainable ${n} is not an initializer of graph ${model.graph.name}`, { field: n });
    this.groups = findTiedGroups(model, trainable);
    const grouped = new Set<string>();
    if (opts.tie)
      for (const g of this.groups) {
        this.members.set(g.canonical, g.members);
        g.members.forEach((m) => grouped.add(m.name));
      }
    for (const n of trainable) if (!grouped.has(n)) this.members.set(n, [{ name: n, transposed: false }]);
    for (const p of this.members.keys()) this.dims.set(p, [...model.graph.initializers.get(p)!.dims]);
  }

  /** Parameter names, in a stable order. */
  get names(): string[] {
    return [...this.members.keys()];
  }

  dimsOf(param: string): number[] {
    return this.dims.get(param)!;
  }

  membersOf(param: string): TiedMember[] {
    return this.members.get(param) ?? [];
  }

  /** Per-initializer gradients -> per-parameter gradients (tied members summed into `out`). */
  combineGradients(grads: Map<string, Float32Array>, out: Map<string, Float32Array>): void {
    for (const [p, members] of this.members) {
      const target = out.get(p)!;
      const [rows, cols] = this.dims.get(p)! as [number, number];
      members.forEach((m, k) => {
        const g = grads.get(m.name);
        if (!g) throw fail('ALIGNKIT_ERR_STATE', `no gradient for initializer ${m.name}`, { field: m.name });
        if (!m.transposed) {
          // An untied parameter's gradient may already be the target array (the trainer has the run write it there).
          if (k === 0 && g !== target) target.set(g);
          else if (k > 0) for (let i = 0; i < g.length; i++) target[i]! += g[i]!;
        } else transpose2d(g, cols, rows, target, k > 0);
      });
    }
  }

  /** Write a parameter's values to every initializer it stands for (into `values`, by initializer name). */
  scatter(param: string, data: Float32Array, values: Map<string, Float32Array>): void {
    const [rows, cols] = this.dims.get(param)! as [number, number];
    for (const m of this.membersOf(param)) {
      const dst = values.get(m.name)!;
      if (m.transposed) transpose2d(data, rows, cols, dst, false);
      else if (dst !== data) dst.set(data);
    }
  }
}
