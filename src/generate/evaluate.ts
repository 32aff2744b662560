// Helpers for comparing decoding methods on the same prompts (bench/genarm): paired win rates, mean
// and standard error, the sequence-level KL of sampled responses from the base, the analytic
// best-of-n KL bound, prompt truncation that keeps the end, and a recorder of the log-probs of the
// distribution each token was actually sampled from (GenARM's guided, ARGS's reweighted one).

import { logSoftmax } from './processors.js';
import type { AsyncLogitsProcessor } from './generate.js';

export interface MeanStdErr {
  mean: number;
  /** Standard error of the mean: sample standard deviation (n - 1) over sqrt(n); 0 for n < 2. */
  stdErr: number;
  n: number;
}

export function meanStdErr(xs: readonly number[]): MeanStdErr {
  const n = xs.length;
  if (n === 0) return { mean: NaN, stdErr: NaN, n };
  const mean = xs.reduce((a, x) => a + x, 0) / n;
  if (n < 2) return { mean, stdErr: 0, n };
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  return { mean, stdErr: Math.sqrt(variance / n), n };
}

export interface WinRate {
  /** (wins + ties / 2) / n, the convention of AlpacaEval and the GenARM paper's pairwise tables. */
  rate: number;
  wins: number;
  ties: number;
  losses: number;
}

/** Win rate of `method` over `baseline`, paired by index (the same prompt and seed). */
export function pairedWinRate(method: readonly number[], baseline: readonly number[]): WinRate {
  if (method.length !== baseline.length) throw new RangeError(`paired win rate needs equal lengths, got ${method.length} and ${baseline.length}`);
  let wins = 0;
  let ties = 0;
  method.forEach((m, i) => {
    if (m > baseline[i]!) wins++;
    else if (m === baseline[i]) ties++;
  });
  const n = method.length;
  return { rate: n ? (wins + ties / 2) / n : NaN, wins, ties, losses: n - wins - ties };
}

/** Least-squares slope of y on x (cov / var); 0 when x does not vary. */
export function olsSlope(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new RangeError(`a slope needs paired values, got ${x.length} and ${y.length}`);
  const mx = x.reduce((a, v) => a + v, 0) / x.length;
  const my = y.reduce((a, v) => a + v, 0) / y.length;
  let cov = 0;
  let varX = 0;
  x.forEach((v, i) => {
    cov += (v - mx) * (y[i]! - my);
    varX += (v - mx) ** 2;
  });
  return varX > 0 ? cov / varX : 0;
}

/**
 * Monte-Carlo KL(pi_method || pi_base) of one sampled response: sum_t [log pi_method(y_t) - log
 * pi_base(y_t)]; its mean over responses sampled from pi_method estimates the sequence-level KL.
 */
export function sequenceKl(methodLogprobs: readonly number[], baseLogprobs: readonly number[]): number {
  if (methodLogprobs.length !== baseLogprobs.length) throw new RangeError(`KL needs one log-prob per token from each model, got ${methodLogprobs.length} and ${baseLogprobs.length}`);
  return methodLogprobs.reduce((a, lp, t) => a + lp - baseLogprobs[t]!, 0);
}

/**
 * The analytic KL of best-of-n from the base, log n - (n - 1) / n (Stiennon et al. 2020; shown to be
 * an upper bound by Beirami et al. 2024, "Theoretical guarantees on the best-of-n alignment policy").
 */
export function bestOfNKl(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`best-of-n needs a positive integer n, got ${n}`);
  return Math.log(n) - (n - 1) / n;
}

/** The last `max` ids (the end of a dialogue carries the turn being answered). */
export function keepEnd(ids: readonly number[], max: number): number[] {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`max prompt tokens must be a positive integer, got ${max}`);
  return ids.slice(Math.max(0, ids.length - max));
}

export interface SampledLogprobRecorder {
  /** Put it LAST among the async processors: it sees the final scores the sampler draws from. */
  processor: AsyncLogitsProcessor;
  /** log softmax(final scores)[token] at each step of a row, for the tokens that row produced. */
  logprobs(row: number, tokens: readonly number[]): number[];
}

/**
 * Records, per row and step, the log-probabilities of the distribution the sampler draws from
 * (softmax of the processed scores), so a method's log pi_method(y_t) is read from what was
 * actually sampled rather than recomputed.
 */
export function sampledLogprobRecorder(): SampledLogprobRecorder {
  const steps = new Map<number, Float32Array[]>();
  return {
    processor: async (row, _ids, generated, scores) => {
      const list = steps.get(row) ?? [];
      list[generated.length] = logSoftmax(scores);
      steps.set(row, list);
    },
    logprobs: (row, tokens) => tokens.map((token, t) => {
      const dist = steps.get(row)?.[t];
      if (!dist) throw new RangeError(`no recorded distribution for row ${row}, step ${t}`);
      return dist[token]!;
    }),
  };
}
