// Baselines GenARM is compared against on the same prompts: best-of-n reranked by a reward model
// (or an ensemble), and ARGS-style guidance with a trajectory-level reward model scored on partial
// responses ("ARGS: Alignment as Reward-Guided Search", Khanov et al. 2024: score(v) = log p(v) +
// w * r(x, y<t + v) over the top-k candidate tokens v).

import type { Text } from '../models/index.js';
import type { AsyncLogitsProcessor } from './generate.js';

/** Scores (prompt, response) texts; a reward model or an ensemble's combined score. */
export type TextScorer = (items: { prompt: Text; response: string }[]) => Promise<number[]>;

export interface Ranked<T> {
  best: T;
  bestIndex: number;
  scores: number[];
}

/** Pick the candidate with the highest reward (ties: the first). */
export async function bestOfN(prompt: Text, candidates: readonly string[], scorer: TextScorer): Promise<Ranked<string>> {
  if (candidates.length === 0) throw new RangeError('best-of-n needs at least one candidate');
  const scores = await scorer(candidates.map((response) => ({ prompt, response })));
  let bestIndex = 0;
  scores.forEach((s, i) => s > scores[bestIndex]! && (bestIndex = i));
  return { best: candidates[bestIndex]!, bestIndex, scores };
}

export interface ArgsOptions {
  scorer: TextScorer;
  /** Reward weight w. */
  weight: number;
  /** Number of candidate tokens scored per step. */
  k: number;
  /** Prompt text of each row (the reward model scores prompt + partial response). */
  prompts: readonly Text[];
  decode: (ids: number[]) => string;
}

/**
 * ARGS as an async processor: keeps the top-k tokens of the current scores, adds w times the
 * reward of each partial response extended by that token, and masks every other token.
 */
export function argsProcessor(o: ArgsOptions): AsyncLogitsProcessor {
  return async (row, _ids, generated, scores) => {
    const order = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!).slice(0, o.k).filter((v) => Number.isFinite(scores[v]!));
    const rewards = await o.scorer(order.map((v) => ({ prompt: o.prompts[row]!, response: o.decode([...generated, v]) })));
    const kept = new Map(order.map((v, i) => [v, scores[v]! + o.weight * rewards[i]!]));
    for (let v = 0; v < scores.length; v++) scores[v] = kept.get(v) ?? -Infinity;
  };
}
