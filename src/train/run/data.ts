// From a dataset file to the run's tokenized items: loaded by src/datasets (any format, any known
// column convention, bad rows failing with file/row/field or skipped and counted), tokenized with
// TRL's truncation rules, split into train/eval by id hash.

import { fail } from '../../errors.js';
import {
  loadPreferenceData, splitTrainEval, tokenizeExamples, type PreferenceExample, type PreferenceKind, type RowProblem, type TokenizeConfig, type TruncationCounts,
} from '../../datasets/index.js';
import type { Tokenizer } from '../../models/index.js';
import type { RunConfig } from './config.js';
import type { KindSpec } from './kinds.js';
import type { RunItem } from './segments.js';

export interface RunData {
  file: string;
  convention: string;
  /** Every loaded item, in file order (reference sums are cached for all of them). */
  items: RunItem[];
  train: number[];
  eval: number[];
  skipped: RowProblem[];
  truncation: TruncationCounts;
  /** The tokenization settings (part of the reference cache key). */
  tokenize: Omit<TokenizeConfig, 'chatTemplate'>;
}

export function tokenizeSettings(config: Pick<RunConfig, 'maxLength' | 'maxPromptLength' | 'maxCompletionLength' | 'appendEos'>, tok: Tokenizer, spec: KindSpec): Omit<TokenizeConfig, 'chatTemplate'> {
  return {
    maxLength: config.maxLength,
    maxPromptLength: config.maxPromptLength,
    maxCompletionLength: config.maxCompletionLength,
    eosTokenId: (config.appendEos ?? spec.appendEos) ? tok.eosTokenId : undefined,
  };
}

/** Examples to items: prompt/response ids plus the fields the losses read. */
export function tokenizeItems(examples: readonly PreferenceExample[], tok: Tokenizer, settings: Omit<TokenizeConfig, 'chatTemplate'>): { items: RunItem[]; counts: TruncationCounts } {
  const encoder = { encode: (text: string) => tok.encode(text, { addSpecialTokens: false }) };
  const chatTemplate = tok.hasChatTemplate ? (messages: Parameters<Tokenizer['applyChatTemplate']>[0], gen: boolean) => tok.applyChatTemplate(messages, { addGenerationPrompt: gen }) : undefined;
  const { items, counts } = tokenizeExamples(examples, encoder, { ...settings, chatTemplate });
  // The first response token is predicted from the token before it: an empty prompt starts with BOS (or EOS, GPT-2's separator).
  const start = tok.bosTokenId ?? tok.eosTokenId ?? tok.padTokenId;
  return {
    counts,
    items: items.map((t, i) => {
      const ex = examples[i]!;
      return {
        id: t.id,
        prompt: t.promptIds.length > 0 ? t.promptIds : [start],
        responses: t.responseIds,
        label: 'label' in ex ? Number(ex.label) : undefined,
        margin: 'margin' in ex ? ex.margin : undefined,
        ratings: 'ratings' in ex ? ex.ratings : undefined,
      };
    }),
  };
}

export async function loadRunData(config: RunConfig, spec: KindSpec, tok: Tokenizer): Promise<RunData> {
  const kinds = spec.data.filter((k): k is PreferenceKind => k !== 'prompts');
  const kind = kinds.length === 1 ? kinds[0]! : 'auto';
  const loaded = await loadPreferenceData(config.data, { kind, onBadRow: config.onBadRow, limit: config.limit, convention: config.convention, dropTies: true });
  if (!kinds.includes(loaded.kind))
    throw fail('ALIGNKIT_ERR_DATASET_SCHEMA', `${config.data} holds ${loaded.kind} data; train ${config.kind} reads ${spec.data.join(' or ')} data`, { file: config.data, field: 'kind' });
  const examples = loaded.examples as PreferenceExample[];
  if (examples.length < 2) throw fail('ALIGNKIT_ERR_DATASET_SCHEMA', `${config.data} has ${examples.length} usable examples; training needs at least 2`, { file: config.data });
  const settings = tokenizeSettings(config, tok, spec);
  const { items, counts } = tokenizeItems(examples, tok, settings);
  const index = new Map(items.map((it, i) => [it, i]));
  const split = splitTrainEval(items, { evalFraction: config.evalFraction, seed: config.seed });
  const train = split.train.map((it) => index.get(it)!);
  if (train.length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `evalFraction ${config.evalFraction} leaves no training examples in ${config.data}`, { field: 'evalFraction' });
  return { file: config.data, convention: loaded.convention, items, train, eval: split.eval.map((it) => index.get(it)!), skipped: loaded.skipped, truncation: counts, tokenize: settings };
}
