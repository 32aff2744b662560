// Value types and dim arithmetic for the static shape inference (shapes.ts): symbolic dims are
// products of named factors ('batch*seq', '8*batch'), so reshapes that fold and unfold them cancel.

import type { DType } from '../dtypes.js';
import type { Dim, Graph, Tensor } from '../ir.js';

export interface ValueType {
  dtype: DType;
  /** undefined when the rank is unknown. */
  dims?: Dim[];
}

/** Shapes, dtypes and known integer contents of a graph's values; grows as nodes are appended. */
export interface ShapeEnv {
  types: Map<string, ValueType>;
  /** Contents of small int tensors known statically (as dims: numbers or symbols). */
  values: Map<string, Dim[]>;
  graph: Graph;
  /** Default-domain opset: decides attribute vs input forms (axes of Reduce*, Squeeze, Split). */
  opset: number;
  unknownCounter: number;
}

/** A dim that is (or is a product involving) a minted unknown token. */
export function isUnknownDim(d: Dim): boolean {
  return typeof d === 'string' && d.includes('?');
}

/** Two dims are known to be equal: the same number, symbol, or minted unknown token. */
export function sameDim(a: Dim, b: Dim): boolean {
  return a === b;
}

export function unknownDim(env: ShapeEnv): Dim {
  return `?${env.unknownCounter++}`;
}

export const MAX_PROPAGATED = 64;

export function tensorInts(t: Tensor): number[] | undefined {
  if (t.dtype !== 'int64' && t.dtype !== 'int32') return undefined;
  if (t.data.length > MAX_PROPAGATED) return undefined;
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => Number(v));
}


// ------------------------------------------------------------ dim arithmetic

function factors(d: Dim): { num: number; syms: string[] } {
  if (typeof d === 'number') return { num: d, syms: [] };
  let num = 1;
  const syms: string[] = [];
  for (const part of d.split('*')) {
    if (/^\d+$/.test(part)) num *= Number(part);
    else syms.push(part);
  }
  return { num, syms };
}

export function productDim(dims: Dim[]): Dim {
  let num = 1;
  const syms: string[] = [];
  for (const d of dims) {
    const f = factors(d);
    num *= f.num;
    syms.push(...f.syms);
  }
  if (syms.length === 0) return num;
  syms.sort();
  return num === 1 ? syms.join('*') : [String(num), ...syms].join('*');
}

/** total / known, cancelling symbols; undefined when it does not divide out. */
export function quotientDim(total: Dim[], known: Dim[]): Dim | undefined {
  const t = factors(productDim(total));
  const k = factors(productDim(known));
  const syms = [...t.syms];
  for (const s of k.syms) {
    const i = syms.indexOf(s);
    if (i < 0) return undefined;
    syms.splice(i, 1);
  }
  if (k.num === 0 || t.num % k.num !== 0) return undefined;
  const num = t.num / k.num;
  return productDim([num, ...syms]);
}

function broadcastDim(env: ShapeEnv, a: Dim, b: Dim): Dim {
  if (a === 1) return b;
  if (b === 1) return a;
  if (sameDim(a, b)) return a;
  if (typeof a === 'number') return a;
  if (typeof b === 'number') return b;
  return unknownDim(env);
}

export function broadcastShapes(env: ShapeEnv, shapes: (Dim[] | undefined)[]): Dim[] | undefined {
  if (shapes.some((s) => s === undefined)) return undefined;
  const rank = Math.max(...shapes.map((s) => s!.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let d: Dim = 1;
    for (const s of shapes) {
      const j = i - (rank - s!.length);
      if (j >= 0) d = broadcastDim(env, d, s![j]!);
    }
    out.push(d);
  }
  return out;
}

export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

// Additive dims ('past_sequence_length + sequence_length', the spelling ONNX exports use): a sum
// of terms in sorted order plus a number, so concatenations and Range(past, total) cancel.
function terms(d: Dim): { num: number; syms: string[] } {
  if (typeof d === 'number') return { num: d, syms: [] };
  let num = 0;
  const syms: string[] = [];
  for (const part of d.split(' + ')) {
    if (/^-?\d+$/.test(part)) num += Number(part);
    else syms.push(part);
  }
  return { num, syms };
}

function fromTerms(num: number, syms: string[]): Dim {
  if (syms.length === 0) return num;
  const sorted = [...syms].sort();
  return num === 0 ? sorted.join(' + ') : [...sorted, String(num)].join(' + ');
}

export function sumDims(dims: Dim[]): Dim {
  let num = 0;
  const syms: string[] = [];
  for (const d of dims) {
    const t = terms(d);
    num += t.num;
    syms.push(...t.syms);
  }
  return fromTerms(num, syms);
}

/** a - b when b's terms all occur in a; undefined otherwise. */
export function differenceDim(a: Dim, b: Dim): Dim | undefined {
  const ta = terms(a);
  const tb = terms(b);
  const syms = [...ta.syms];
  for (const s of tb.syms) {
    const i = syms.indexOf(s);
    if (i < 0) return undefined;
    syms.splice(i, 1);
  }
  const num = ta.num - tb.num;
  return syms.length === 0 && num < 0 ? undefined : fromTerms(num, syms);
}

