// Logits processors: small pieces `(ids, scores) => void` that edit one row of next-token scores in
// place, applied in a list (the transformers.js / HF `LogitsProcessorList` design). Guidance
// (GenARM) is not a processor: it builds the scores the processors then edit (see guidance.ts).

/** Edits the next-token scores of one sequence in place; `ids` is the sequence so far. */
export type LogitsProcessor = (ids: readonly number[], scores: Float32Array) => void;

export function applyProcessors(processors: readonly LogitsProcessor[], ids: readonly number[], scores: Float32Array): void {
  for (const p of processors) p(ids, scores);
}

/** Divide by T (T > 0); greedy decoding is chosen by the sampler, not by T = 0. */
export function temperature(t: number): LogitsProcessor {
  if (!(t > 0)) throw new RangeError(`temperature must be > 0, got ${t}`);
  return (_ids, scores) => {
    if (t === 1) return;
    for (let i = 0; i < scores.length; i++) scores[i]! /= t;
  };
}

/**
 * CTRL's repetition penalty (Keskar et al. 2019) as HF applies it: a score of a token already in the
 * sequence is divided by `penalty` when positive and multiplied by it when negative.
 */
export function repetitionPenalty(penalty: number): LogitsProcessor {
  if (!(penalty > 0)) throw new RangeError(`repetition penalty must be > 0, got ${penalty}`);
  return (ids, scores) => {
    if (penalty === 1) return;
    for (const id of new Set(ids)) {
      if (id < 0 || id >= scores.length) continue;
      const s = scores[id]!;
      scores[id] = s > 0 ? s / penalty : s * penalty;
    }
  };
}

/** Keep the k highest scores (ties at the k-th value are kept), the rest become -Infinity. */
export function topK(k: number): LogitsProcessor {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`top-k must be a positive integer, got ${k}`);
  return (_ids, scores) => {
    if (k >= scores.length) return;
    const threshold = Float32Array.from(scores).sort()[scores.length - k]!;
    for (let i = 0; i < scores.length; i++) if (scores[i]! < threshold) scores[i] = -Infinity;
  };
}

/**
 * Nucleus sampling (Holtzman et al. 2020): keep the smallest set of most likely tokens whose
 * probability mass reaches p; the most likely token is always kept.
 */
export function topP(p: number): LogitsProcessor {
  if (!(p > 0 && p <= 1)) throw new RangeError(`top-p must be in (0, 1], got ${p}`);
  return (_ids, scores) => {
    if (p === 1) return;
    const probs = softmax(scores);
    const order = Array.from(probs.keys()).sort((a, b) => probs[b]! - probs[a]!);
    let mass = 0;
    let kept = 0;
    for (const i of order) {
      if (kept > 0 && mass >= p) scores[i] = -Infinity;
      else {
        mass += probs[i]!;
        kept++;
      }
    }
  };
}

/** log softmax(scores)[token] without materialising the whole row (per-token log-prob reporting). */
export function logProbOf(scores: ArrayLike<number>, token: number): number {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i]! > max) max = scores[i]!;
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += Math.exp(scores[i]! - max);
  return scores[token]! - max - Math.log(sum);
}

/** Numerically stable log-softmax of a row, as a new array. */
export function logSoftmax(scores: ArrayLike<number>, length = scores.length): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < length; i++) if (scores[i]! > max) max = scores[i]!;
  let sum = 0;
  for (let i = 0; i < length; i++) sum += Math.exp(scores[i]! - max);
  const lse = max + Math.log(sum);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = scores[i]! - lse;
  return out;
}

export function softmax(scores: ArrayLike<number>): Float32Array {
  const out = logSoftmax(scores);
  for (let i = 0; i < out.length; i++) out[i] = Math.exp(out[i]!);
  return out;
}
