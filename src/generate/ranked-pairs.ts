// On-policy preference pairs: sample n responses per prompt from a policy, score them with a reward
// model, keep the best and the worst as (chosen, rejected). This is the "best-vs-worst of n"
// relabelling of iterative preference learning (Xiong et al. 2024, "Iterative Preference Learning
// from Human Feedback", and RLHFlow's online-DPO recipe), and the way to distil a trajectory-level
// reward model into an autoregressive one on the base's own distribution: an ARM trained on such
// pairs learns what the judge prefers among the responses the base actually writes.

import type { Text } from '../models/index.js';
import { generate, type GenerationConfig } from './generate.js';
import type { TextScorer } from './baselines.js';
import { keepEnd } from './evaluate.js';
import type { Generator } from './generator.js';

export interface RankedPairsOptions {
  /** Responses sampled per prompt (at least 2). */
  n: number;
  /** Sampling settings; candidate j of batch b uses seed `config.seed + b * n + j`. */
  config?: Partial<GenerationConfig>;
  /** Prompts decoded together. */
  batchSize?: number;
  /** Keep only the last this-many prompt tokens (the judge still scores the whole prompt). */
  maxPromptTokens?: number;
  /** Called after each batch with the prompts done so far. */
  onProgress?: (done: number, total: number) => void;
}

export interface RankedPair {
  prompt: Text;
  chosen: string;
  rejected: string;
  chosen_score: number;
  rejected_score: number;
  /** Why each response stopped: EOS/stop string (`stop`) or the token limit (`length`). */
  chosen_finish: string;
  rejected_finish: string;
}

export interface RankedPairsResult {
  pairs: RankedPair[];
  /** Prompts dropped because every candidate scored the same (no preference to learn). */
  ties: number;
}

interface Candidate {
  text: string;
  finish: string;
  score: number;
}

function bestAndWorst(candidates: Candidate[]): { best: Candidate; worst: Candidate } {
  let best = candidates[0]!;
  let worst = candidates[0]!;
  for (const c of candidates) {
    if (c.score > best.score) best = c;
    if (c.score < worst.score) worst = c;
  }
  return { best, worst };
}

export async function sampleRankedPairs(gen: Generator, prompts: readonly Text[], scorer: TextScorer, opts: RankedPairsOptions): Promise<RankedPairsResult> {
  if (!Number.isInteger(opts.n) || opts.n < 2) throw new RangeError(`ranked pairs need n >= 2 candidates per prompt, got ${opts.n}`);
  const batchSize = opts.batchSize ?? 16;
  const seed = opts.config?.seed ?? 0;
  const pairs: RankedPair[] = [];
  let ties = 0;
  for (let at = 0, b = 0; at < prompts.length; at += batchSize, b++) {
    const batch = prompts.slice(at, at + batchSize);
    const perPrompt: Candidate[][] = batch.map(() => []);
    const ids = batch.map((p) => (opts.maxPromptTokens ? keepEnd(gen.encodePrompt(p), opts.maxPromptTokens) : gen.encodePrompt(p)));
    for (let j = 0; j < opts.n; j++) {
      const rows = await generate(gen.base, gen.tokenizer, ids, { ...opts.config, sampler: opts.config?.sampler ?? 'sample', seed: seed + b * opts.n + j }, gen.guides());
      const scores = await scorer(batch.map((prompt, i) => ({ prompt, response: rows[i]!.text })));
      rows.forEach((r, i) => perPrompt[i]!.push({ text: r.text, finish: r.finishReason, score: scores[i]! }));
    }
    perPrompt.forEach((candidates, i) => {
      const { best, worst } = bestAndWorst(candidates);
      if (best.score === worst.score) return void ties++;
      pairs.push({
        prompt: batch[i]!, chosen: best.text, rejected: worst.text, chosen_score: best.score, rejected_score: worst.score,
        chosen_finish: best.finish, rejected_finish: worst.finish,
      });
    });
    opts.onProgress?.(Math.min(at + batchSize, prompts.length), prompts.length);
  }
  return { pairs, ties };
}
