// GenARM ("Reward Guided Generation with Autoregressive Reward Model for Test-time Alignment"):
// the next-token scores are (log_softmax(base) + sum_i alpha_i * log_softmax(ARM_i)) / T, exactly as
// the official GenARM code combines them (alpha plays the role of 1/beta of the ARM's training
// beta_r). With several ARMs the official script sets T = 1/(1 + sum alpha_i), which is exact only
// when all betas are equal, so T is an explicit argument here.

import { logSoftmax } from './processors.js';

export interface GuidanceTerm {
  /** Next-token logits of one ARM for one sequence. */
  logits: Float32Array;
  alpha: number;
  /** log sum exp of `logits`, when the model's decoding graph computed it (saves a pass over the vocabulary). */
  logSumExp?: number;
}

/** log_softmax over the first `vocab` entries, from a known log sum exp when it covers exactly those. */
function logProbs(logits: Float32Array, vocab: number, logSumExp: number | undefined): Float32Array {
  if (logSumExp === undefined || logits.length !== vocab) return logSoftmax(logits, vocab);
  const out = new Float32Array(vocab);
  for (let i = 0; i < vocab; i++) out[i] = logits[i]! - logSumExp;
  return out;
}

/**
 * Guided next-token scores over the shared vocabulary: when one model pads its vocabulary, both are
 * cut to the smaller size (the extra ids are never real tokens of the shared tokenizer).
 */
export function genarmScores(base: Float32Array, arms: readonly GuidanceTerm[], temperature = 1, baseLogSumExp?: number): Float32Array {
  if (!(temperature > 0)) throw new RangeError(`temperature must be > 0, got ${temperature}`);
  const vocab = Math.min(base.length, ...arms.map((a) => a.logits.length));
  const out = logProbs(base, vocab, baseLogSumExp);
  for (const { logits, alpha, logSumExp } of arms) {
    if (alpha === 0) continue;
    if (logSumExp !== undefined && logits.length === vocab) {
      for (let i = 0; i < vocab; i++) out[i]! += alpha * (logits[i]! - logSumExp);
      continue;
    }
    const lp = logSoftmax(logits, vocab);
    for (let i = 0; i < vocab; i++) out[i]! += alpha * lp[i]!;
  }
  if (temperature !== 1) for (let i = 0; i < vocab; i++) out[i]! /= temperature;
  return out;
}
