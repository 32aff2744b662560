// Choosing which float initializers train. Everything here returns initializer names (what
// buildTrainingGraph promotes to inputs); the selections compose by plain set operations.

import { fail } from '../../errors.js';
import { isFloat, numel } from '../dtypes.js';
import type { Model } from '../ir.js';
import { blockIndexOf, initializerScopes, matchesAny, type NamePattern } from './names.js';

// Float initializers that are buffers, not parameters: rotary tables and the constants exporters
// fold into the graph (attention-mask fill values, scaling factors).
const DEFAULT_BUFFERS: NamePattern[] = [/inv_freq/, /(cos|sin)_cached/, /rotary/, /masked_bias$/];

export interface WeightOptions {
  /** Extra patterns of float initializers that are buffers, not weights. */
  buffers?: NamePattern[];
}

/**
 * All float initializers that are weights: float dtype, more than one element (scalars are folded
 * constants such as the -inf of a causal mask), and not a known buffer.
 */
export function weightInitializers(model: Model, opts: WeightOptions = {}): string[] {
  const buffers = [...DEFAULT_BUFFERS, ...(opts.buffers ?? [])];
  const scopes = initializerScopes(model);
  const out: string[] = [];
  for (const [name, t] of model.graph.initializers) {
    if (!isFloat(t.dtype) || numel(t.dims) <= 1) continue;
    if (matchesAny([name], buffers)) continue;
    // An initializer nothing reads (or only shape ops read) cannot have a gradient.
    if ((scopes.get(name)?.length ?? 0) <= 1) continue;
    out.push(name);
  }
  return out;
}

export interface TrainableSpec {
  /** Patterns over initializer names or the names of the nodes reading them; default: all weights. */
  include?: NamePattern[];
  exclude?: NamePattern[];
  /** Keep only weights of the last N transformer blocks (plus whatever `alsoInclude` adds). */
  lastBlocks?: number;
  /** Added after the other filters (e.g. the final norm and the head next to `lastBlocks`). */
  alsoInclude?: NamePattern[];
  buffers?: NamePattern[];
}

export function selectTrainable(model: Model, spec: TrainableSpec = {}): string[] {
  const scopes = initializerScopes(model);
  const weights = weightInitializers(model, { buffers: spec.buffers });
  const scopeOf = (n: string) => scopes.get(n) ?? [n];
  let chosen = weights.filter((n) => (spec.include ? matchesAny(scopeOf(n), spec.include) : true));
  if (spec.exclude) chosen = chosen.filter((n) => !matchesAny(scopeOf(n), spec.exclude!));
  if (spec.lastBlocks !== undefined) {
    if (!Number.isInteger(spec.lastBlocks) || spec.lastBlocks < 1)
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `lastBlocks must be a positive integer, got ${spec.lastBlocks}`, { field: 'lastBlocks' });
    const indices = weights.map((n) => blockIndexOf(scopeOf(n))).filter((i): i is number => i !== undefined);
    if (indices.length === 0)
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'lastBlocks: no initializer is named like a transformer block (h.N / layers.N / layer.N / blocks.N)', { field: 'lastBlocks' });
    const first = Math.max(...indices) - spec.lastBlocks + 1;
    chosen = chosen.filter((n) => (blockIndexOf(scopeOf(n)) ?? -1) >= first);
  }
  if (spec.alsoInclude) for (const n of weights) if (!chosen.includes(n) && matchesAny(scopeOf(n), spec.alsoInclude)) chosen.push(n);
  if (chosen.length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'the trainable selection matches no float weight initializer', { spec: JSON.stringify(spec, (_k, v) => (v instanceof RegExp ? String(v) : v)) });
  return chosen;
}

// Head names used by transformers' *ForSequenceClassification (`score`, `classifier`), TRL's value
// head (`v_head`) and its reward-model summary (`summary`).
export const SCORE_HEAD_PATTERNS: NamePattern[] = [/^(score|classifier|v_head|summary)([./]|$)/, /\/(score|classifier|v_head)\//];

/** Only the sequence-classification / reward head. */
export function scoreHead(model: Model): string[] {
  return selectTrainable(model, { include: SCORE_HEAD_PATTERNS });
}

/** Only the weights of the last `n` blocks. */
export function lastBlocks(model: Model, n: number, alsoInclude?: NamePattern[]): string[] {
  return selectTrainable(model, { lastBlocks: n, alsoInclude });
}
