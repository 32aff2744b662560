// Options shared by the scoring routes, read from a validated body.

import { fail } from '../errors.js';
import { combineConfig, type CombineConfig, type CombineMethod } from '../rewards/index.js';
import type { ServeConfig } from './config.js';
import type { ScoreItem } from '../rewards/index.js';
import type { ScoreRequest } from './scoring.js';

export interface ScoringBody {
  models?: string[];
  truncate?: boolean;
  combine?: CombineMethod;
  lambda?: number;
}

/** The client batch cap: text-embeddings-inference answers 413 above it, and so do we. */
export function checkClientBatch(count: number, field: string, cfg: ServeConfig): void {
  if (count > cfg.maxClientBatch)
    throw fail('ALIGNKIT_ERR_BATCH_TOO_LARGE', `${field} holds ${count} items, more than the server's limit of ${cfg.maxClientBatch} per request`, { field });
}

export function scoreRequest(body: ScoringBody, cfg: ServeConfig): ScoreRequest {
  const combine: CombineConfig = combineConfig({ method: body.combine ?? cfg.combine.method, lambda: body.lambda ?? cfg.combine.lambda });
  return { models: body.models, truncate: body.truncate ?? cfg.autoTruncate, combine };
}

/**
 * A text that already holds prompt and response (OpenRLHF's query, TEI's single input) as the
 * item that tokenizes it the way those servers do: the whole text with the tokenizer's special
 * tokens, `tokenizer(text)` (GPT-2: its ids; Llama: BOS + ids; BERT: [CLS] ids [SEP]). It is the
 * prompt side of an item with an empty response, not the response side of an empty prompt: an
 * empty prompt makes decoder models start the sequence with a BOS (or EOS) token, which changed
 * the score (the -0.074 vs -0.120 of issue #12) although the text was the same.
 */
export function wholeText(text: string): ScoreItem {
  return { prompt: text, response: '' };
}
