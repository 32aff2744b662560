// Decoding over a list of prompts, one output record per prompt: the work `alignkit generate` does
// and a `jobs` worker does on a chunk of rows. Each row depends only on its own prompt, its row
// number and the settings (its seed is derived from both), so any split of the rows into chunks
// gives the same records as one run over the file.

import { fail } from '../../errors.js';
import { DEFAULT_GENERATION, fitPrompt, generate, type GenerationConfig, type Generator, type LongPromptPolicy } from '../../generate/index.js';
import { hashString } from '../../random.js';
import type { PromptRow } from '../../datasets/index.js';

export interface GenerateRowsSettings {
  /** Sampling settings; `seed` is the run's seed S, row i samples with rowSeed(S, i). */
  config: Partial<GenerationConfig>;
  /** Longest prompt in tokens; default (and never more than) what the models' positions leave after maxNewTokens. */
  maxPromptTokens?: number;
  onLongPrompt: LongPromptPolicy;
  /** How rows are named in messages: a file name (`FILE row 3`) or a flag (`--prompt 3`). */
  source: string;
}

export interface GeneratedRecord {
  /** 1-based row of the input, as messages name it. */
  row: number;
  prompt: PromptRow['prompt'];
  text: string;
  numTokens: number;
  tokens: number[];
  finishReason: string;
  baseLogprobs: number[];
  armLogprobs: Record<string, number[]>;
  /** Prompt tokens cut from the start under `--on-long-prompt truncate`. */
  promptTokensDropped?: number;
}

export type RowOutcome = { record: GeneratedRecord } | { skipped: { row: number; reason: string } };

/**
 * Row i's sampling seed: a hash of (S, i), so rows draw different samples, the same row draws the
 * same sample in any rerun, chunking or subset of rows, and seeds S and S+1 share no rows' streams.
 */
export function rowSeed(seed: number, row: number): number {
  return hashString(`${seed}:${row}`);
}

/** Most prompt tokens every model can take with maxNewTokens after them; an error when none fit. */
export function promptTokenLimit(gen: Generator, maxNewTokens: number, maxPromptTokens: number | undefined): number {
  const positions = Math.min(gen.base.maxLength, ...gen.arms.map((a) => a.model.maxLength));
  const room = positions - maxNewTokens;
  if (room < 1) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `maxNewTokens ${maxNewTokens} leaves no room for a prompt in the model's ${positions} positions`, { field: 'maxNewTokens', limit: positions });
  if (maxPromptTokens !== undefined && (!Number.isInteger(maxPromptTokens) || maxPromptTokens < 1))
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `maxPromptTokens must be a positive integer, got ${maxPromptTokens}`, { field: 'maxPromptTokens' });
  return Math.min(room, maxPromptTokens ?? Infinity);
}

/** Decodes one prompt row (alone, so its output does not depend on batch-mates' lengths). */
export async function generateRow(gen: Generator, item: PromptRow, settings: GenerateRowsSettings, limit: number): Promise<RowOutcome> {
  const cfg = { ...DEFAULT_GENERATION, ...settings.config };
  // Said in flags: these reasons reach users through the generate command and the jobs' summary.json.
  const limitFrom = `--max-prompt-tokens, or the model's positions less --max-tokens ${cfg.maxNewTokens}`;
  const fitted = fitPrompt(gen.encodePrompt(item.prompt), limit, settings.onLongPrompt, { source: settings.source, row: item.row, limitFrom });
  if ('skipped' in fitted) return fitted;
  const { ids, dropped } = fitted;
  const [r] = await generate(gen.base, gen.tokenizer, [ids], { ...cfg, seed: rowSeed(cfg.seed, item.row) }, gen.guides());
  return {
    record: {
      row: item.row + 1,
      prompt: item.prompt,
      text: r!.text,
      numTokens: r!.tokens.length,
      tokens: r!.tokens,
      finishReason: r!.finishReason,
      baseLogprobs: r!.baseLogprobs,
      armLogprobs: Object.fromEntries(gen.arms.map((a, i) => [a.name, r!.armLogprobs[i]!])),
      ...(dropped !== undefined && { promptTokensDropped: dropped }),
    },
  };
}

/** Skipped rows as one summary phrase: `2 prompts skipped (too long): rows 3, 9`. */
export function skippedSummary(skipped: readonly { row: number }[], shown = 20): string {
  if (skipped.length === 0) return '';
  const rows = skipped.slice(0, shown).map((s) => s.row).join(', ');
  return `${skipped.length} prompt${skipped.length === 1 ? '' : 's'} skipped (too long): row${skipped.length === 1 ? '' : 's'} ${rows}${skipped.length > shown ? ', ...' : ''}`;
}
