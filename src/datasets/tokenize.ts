// Tokenization with TRL's truncation rules. Prompt and responses are encoded separately (so the
// boundary between them is exact), then cut to fit:
//   1. each response to `maxCompletionLength`, keeping its start (as TRL's DPOTrainer does);
//   2. if prompt + longer response exceeds `maxLength`, the prompt to `maxPromptLength`, keeping its
//      end ('keep_end', TRL's default truncation_mode: the latest turns matter most) or its start;
//   3. if still too long, the responses to the room left (maxLength - prompt length), keeping their start.
// Steps 2-3 follow TRL DPOTrainer.tokenize_row (v0.8-v0.11); in step 3 TRL uses maxLength -
// maxPromptLength, which equals ours whenever step 2 cut the prompt and wastes room when it did not.
// Without `maxLength`, step 2 applies whenever the prompt is longer than `maxPromptLength`.

import { fail } from '../errors.js';
import type { Message, PreferenceExample, Text } from './types.js';

/** Anything that turns text into token ids (a Hugging Face tokenizer, a test's toy encoder). */
export interface Encoder {
  encode(text: string): number[];
}

/** Renders messages to the text a model sees; `addGenerationPrompt` asks for the assistant header at the end. */
export type ChatTemplate = (messages: Message[], addGenerationPrompt: boolean) => string;

export type TruncationSide = 'keep_end' | 'keep_start';

export interface TruncationConfig {
  /** Longest prompt kept once the sequence is too long. */
  maxPromptLength?: number;
  /** Longest response, applied to every response. */
  maxCompletionLength?: number;
  /** Longest prompt + response. */
  maxLength?: number;
  /** Which end of the prompt survives (default 'keep_end'). Responses always keep their start. */
  truncationSide?: TruncationSide;
}

export interface TokenizeConfig extends TruncationConfig {
  /** Needed when prompts or responses are message lists. */
  chatTemplate?: ChatTemplate;
  /** Prepended to the prompt before truncation (when the encoder does not add it). */
  bosTokenId?: number;
  /** Appended to each response before truncation, as TRL appends eos to completions. */
  eosTokenId?: number;
}

const TRUNCATION_DEFAULTS = { truncationSide: 'keep_end' } as const;

function checkLength(value: number | undefined, parameter: string): void {
  if (value !== undefined && (!Number.isInteger(value) || value <= 0)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `${parameter} must be a positive integer, got ${value}`, { parameter });
}

/** Validates a truncation config and fills its defaults. */
export function truncationConfig(config: TruncationConfig): Required<Pick<TruncationConfig, 'truncationSide'>> & TruncationConfig {
  checkLength(config.maxPromptLength, 'maxPromptLength');
  checkLength(config.maxCompletionLength, 'maxCompletionLength');
  checkLength(config.maxLength, 'maxLength');
  const side = config.truncationSide ?? TRUNCATION_DEFAULTS.truncationSide;
  if (side !== 'keep_end' && side !== 'keep_start') throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `truncationSide must be "keep_end" or "keep_start", got "${side}"`, { parameter: 'truncationSide' });
  if (config.maxPromptLength !== undefined && config.maxLength !== undefined && config.maxPromptLength >= config.maxLength) {
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `maxPromptLength (${config.maxPromptLength}) must be smaller than maxLength (${config.maxLength}), or no room is left for responses`, { parameter: 'maxPromptLength' });
  }
  return { ...config, truncationSide: side };
}

export interface TruncatedIds {
  prompt: number[];
  responses: number[][];
  promptTruncated: boolean;
  /** One flag per response. */
  responsesTruncated: boolean[];
}

function cutPrompt(ids: number[], keep: number, side: TruncationSide): number[] {
  return side === 'keep_end' ? ids.slice(ids.length - keep) : ids.slice(0, keep);
}

/** The truncation rule on ids alone: one prompt and its responses (two for a pair, one otherwise). */
export function truncatePair(prompt: readonly number[], responses: readonly (readonly number[])[], config: TruncationConfig): TruncatedIds {
  const c = truncationConfig(config);
  let p = prompt.slice();
  let rs = responses.map((r) => (c.maxCompletionLength !== undefined ? r.slice(0, c.maxCompletionLength) : r.slice()));
  const longest = (): number => Math.max(0, ...rs.map((r) => r.length));
  const tooLong = (): boolean => c.maxLength !== undefined && p.length + longest() > c.maxLength;
  if (c.maxPromptLength !== undefined && p.length > c.maxPromptLength && (c.maxLength === undefined || tooLong())) {
    p = cutPrompt(p, c.maxPromptLength, c.truncationSide);
  }
  if (c.maxLength !== undefined && p.length > c.maxLength) p = cutPrompt(p, c.maxLength, c.truncationSide);
  if (tooLong()) {
    const room = c.maxLength! - p.length;
    rs = rs.map((r) => r.slice(0, room));
  }
  return {
    prompt: p,
    responses: rs,
    promptTruncated: p.length < prompt.length,
    responsesTruncated: rs.map((r, i) => r.length < responses[i]!.length),
  };
}

/**
 * Text of the prompt and of each response. For message lists the prompt is rendered with the
 * generation prompt, and a response is the rendering of prompt + response minus the prompt's
 * rendering (how TRL applies chat templates to preference data), so template tokens are counted once.
 */
export function renderTexts(prompt: Text, responses: readonly Text[], chatTemplate: ChatTemplate | undefined, id: string): { prompt: string; responses: string[] } {
  const needsTemplate = Array.isArray(prompt) || responses.some((r) => Array.isArray(r));
  if (!needsTemplate) return { prompt: prompt as string, responses: responses as string[] };
  if (!chatTemplate) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `example ${id} holds message lists; pass a chatTemplate to tokenize it`, { parameter: 'chatTemplate', id });
  const promptMessages: Message[] = typeof prompt === 'string' ? [{ role: 'user', content: prompt }] : prompt;
  const promptText = chatTemplate(promptMessages, true);
  return {
    prompt: promptText,
    responses: responses.map((r) => {
      if (typeof r === 'string') return r;
      const full = chatTemplate([...promptMessages, ...r], false);
      if (!full.startsWith(promptText)) {
        throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `example ${id}: the chat template's rendering of prompt + response does not start with its rendering of the prompt`, { parameter: 'chatTemplate', id });
      }
      return full.slice(promptText.length);
    }),
  };
}

/** Token ids of one example; `responses` is [chosen, rejected], [completion] or [response] by kind. */
export interface TokenizedExample {
  id: string;
  promptIds: number[];
  responseIds: number[][];
  promptTruncated: boolean;
  responsesTruncated: boolean[];
}

/** The responses of a record, in a fixed order per kind. */
export function responsesOf(example: PreferenceExample): Text[] {
  if ('chosen' in example) return [example.chosen, example.rejected];
  if ('completion' in example) return [example.completion];
  return [example.response];
}

export function tokenizeExample(example: PreferenceExample, encoder: Encoder, config: TokenizeConfig = {}): TokenizedExample {
  const texts = renderTexts(example.prompt, responsesOf(example), config.chatTemplate, example.id);
  const bos = config.bosTokenId === undefined ? [] : [config.bosTokenId];
  const eos = config.eosTokenId === undefined ? [] : [config.eosTokenId];
  const cut = truncatePair([...bos, ...encoder.encode(texts.prompt)], texts.responses.map((r) => [...encoder.encode(r), ...eos]), config);
  return { id: example.id, promptIds: cut.prompt, responseIds: cut.responses, promptTruncated: cut.promptTruncated, responsesTruncated: cut.responsesTruncated };
}

/** How many examples were tokenized and how many prompts / responses had to be cut. */
export interface TruncationCounts {
  examples: number;
  promptsTruncated: number;
  responsesTruncated: number;
}

export function tokenizeExamples(examples: Iterable<PreferenceExample>, encoder: Encoder, config: TokenizeConfig = {}): { items: TokenizedExample[]; counts: TruncationCounts } {
  truncationConfig(config);
  const items: TokenizedExample[] = [];
  const counts: TruncationCounts = { examples: 0, promptsTruncated: 0, responsesTruncated: 0 };
  for (const example of examples) {
    const item = tokenizeExample(example, encoder, config);
    counts.examples++;
    if (item.promptTruncated) counts.promptsTruncated++;
    counts.responsesTruncated += item.responsesTruncated.filter(Boolean).length;
    items.push(item);
  }
  return { items, counts };
}
