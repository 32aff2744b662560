// APO's online rounds ("Accelerated Preference Optimization", He, Huang and Gu 2024, Algorithm 1:
// each round samples responses from the current policy and has them labelled): before round r,
// `regenerate` samples n responses per prompt of the run's dataset from the round's starting
// policy, ranks them with a reward model and keeps the best and the worst as the round's pairs
// (src/generate/ranked-pairs.ts). The pairs are written to OUTPUT/round-r-pairs.jsonl, which the
// round trains on and a resumed run reads back.

import fs from 'node:fs';
import { readPrompts } from '../../datasets/index.js';
import { fail } from '../../errors.js';
import { loadRewardModelSpec } from '../../eval/model-specs.js';
import { Generator, sampleRankedPairs, type RankedPairsResult, type TextScorer } from '../../generate/index.js';
import { runSession } from '../device/run-trainer.js';
import type { RunConfig } from './config.js';

export interface RegenerateSettings {
  /** Reward model ranking the candidates: a directory, or KIND:DIR as `alignkit eval rm` takes (flr:DIR, ...). */
  judge: string;
  /** Candidates per prompt; the best and the worst form the pair. */
  n: number;
  maxNewTokens: number;
  temperature: number;
}

export const REGENERATE_DEFAULTS: Omit<RegenerateSettings, 'judge'> = { n: 4, maxNewTokens: 64, temperature: 1 };

const bad = (field: string, message: string, value: unknown) =>
  fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `run config field ${field}: ${message}, got ${JSON.stringify(value)}`, { field, value });

export function checkRegenerateSettings(field: string, v: unknown): void {
  if (v === undefined) return;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad(field, 'must be an object {judge, n, maxNewTokens, temperature}', v);
  const s = v as Record<string, unknown>;
  const known = ['judge', ...Object.keys(REGENERATE_DEFAULTS)];
  for (const k of Object.keys(s)) if (!known.includes(k)) throw bad(`${field}.${k}`, `is not a regenerate setting (settings: ${known.join(', ')})`, s[k]);
  if (typeof s.judge !== 'string' || s.judge.length === 0) throw bad(`${field}.judge`, 'must name a reward model (a directory or KIND:DIR)', s.judge);
  if (!Number.isInteger(s.n) || (s.n as number) < 2) throw bad(`${field}.n`, 'must be an integer >= 2', s.n);
  if (!Number.isInteger(s.maxNewTokens) || (s.maxNewTokens as number) < 1) throw bad(`${field}.maxNewTokens`, 'must be a positive integer', s.maxNewTokens);
  if (typeof s.temperature !== 'number' || !(s.temperature > 0)) throw bad(`${field}.temperature`, 'must be a positive number', s.temperature);
}

/** Round r's pairs, sampled from `policyDir` and written to `file` (seed: the run's seed + 1000 r). */
export async function regeneratePairs(policyDir: string, config: RunConfig, round: number, file: string): Promise<RankedPairsResult> {
  const s = config.regenerate!;
  const prompts = await readPrompts(config.data, config.limit);
  const gen = await Generator.load(policyDir, [], runSession(config));
  const judge = await loadRewardModelSpec(s.judge, runSession(config));
  const scorer: TextScorer = async (items) => (await judge.score(items, { truncate: true })).map((x) => x[0]!);
  // Prompts keep their last maxPromptLength tokens, as the run's tokenization cuts them for training.
  const result = await sampleRankedPairs(gen, prompts, scorer, {
    n: s.n, maxPromptTokens: config.maxPromptLength, config: { maxNewTokens: s.maxNewTokens, temperature: s.temperature, seed: config.seed + 1000 * round },
  });
  fs.writeFileSync(file, result.pairs.map((p) => `${JSON.stringify(p)}\n`).join(''));
  return result;
}
