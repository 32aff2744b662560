// Rollouts for online RL: a batch of prompts sampled from a policy through the ordinary decoding
// loop (generate(): KV cache, batched, seeded), each token kept with its log-probability under the
// distribution it was drawn from (the "old" log-prob PPO's ratio divides by) and that
// distribution's entropy. Sampling is at temperature 1 with no truncation, so the sampling
// distribution is the policy itself and the recorded log-probs are log pi_old(y_t | x, y_<t).

import { generate, type DecodingTokenizer, type FinishReason } from './generate.js';
import type { DecoderModel } from './kv-decoder.js';

export interface RolloutConfig {
  maxNewTokens: number;
  /** Seed of this batch's sampler (a run derives it from its seed and the iteration, so a resumed run redraws the same tokens). */
  seed: number;
}

export interface RolloutRow {
  /** Sampled ids (an EOS that ended the row included). */
  tokens: number[];
  /** log pi(token) under the sampling distribution, per token. */
  logprobs: number[];
  /**
   * Entropy (nats) of the sampling distribution at every ENTROPY_STRIDE-th token, starting at
   * row mod ENTROPY_STRIDE (so a batch covers every position): a pass over the vocabulary costs as
   * much as the decode's own log-prob pass, and a mean over a quarter of the tokens estimates the
   * mean over all of them.
   */
  entropy: number[];
  text: string;
  finishReason: FinishReason;
}

/** Entropy of softmax(scores) in nats, stable for large logits. */
export function entropyOf(scores: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < scores.length; i++) if (scores[i]! > max) max = scores[i]!;
  let z = 0;
  let sz = 0;
  for (let i = 0; i < scores.length; i++) {
    const d = scores[i]! - max;
    if (d === -Infinity) continue;
    const e = Math.exp(d);
    z += e;
    sz += e * d;
  }
  return Math.log(z) - sz / z;
}

/** Positions between two entropy measurements (see RolloutRow.entropy). */
export const ENTROPY_STRIDE = 4;

/** Sample one response per prompt (repeat a prompt for several samples of it). */
export async function rollout(policy: DecoderModel, tokenizer: DecodingTokenizer, prompts: number[][], cfg: RolloutConfig): Promise<RolloutRow[]> {
  const entropies: number[][] = prompts.map(() => []);
  const recordEntropy = async (row: number, _ids: readonly number[], generated: readonly number[], scores: Float32Array) => {
    if ((generated.length + row) % ENTROPY_STRIDE === 0) entropies[row]!.push(entropyOf(scores));
  };
  const rows = await generate(policy, tokenizer, prompts, { maxNewTokens: cfg.maxNewTokens, sampler: 'sample', temperature: 1, seed: cfg.seed, stopAtEos: true }, [], undefined, [recordEntropy]);
  return rows.map((r, i) => ({ tokens: r.tokens, logprobs: r.baseLogprobs, entropy: entropies[i]!, text: r.text, finishReason: r.finishReason }));
}
