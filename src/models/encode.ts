// From (prompt, response) text to token ids, the way TRL prepares preference data:
//  - string prompt and response: plain concatenation. The prompt is encoded with the tokenizer's
//    special tokens (a BOS where the tokenizer adds one), the response without, and the two id
//    lists are joined (TRL's DPOTrainer.tokenize_row tokenizes prompt and completion apart too).
//  - message-list prompt: the chat template renders prompt + generation prompt, and prompt + the
//    assistant turn(s); the response text is the part after the prompt's rendering, as TRL's
//    maybe_apply_chat_template splits it. Both parts are encoded without special tokens, since the
//    template writes its own.
// Too long: with `truncate`, the prompt loses tokens from its start (TRL keeps the end of the
// prompt); otherwise ALIGNKIT_ERR_TOO_LONG names the item and its length.

import { fail } from '../errors.js';
import type { Tokenizer } from './tokenizer.js';
import type { Message, PromptResponse, Text } from './types.js';

export interface PairText {
  prompt: string;
  response: string;
  /** Whether the prompt should be encoded with the tokenizer's special tokens. */
  promptSpecialTokens: boolean;
}

function responseMessages(response: Text): Message[] {
  return typeof response === 'string' ? [{ role: 'assistant', content: response }] : response;
}

/** The prompt and response strings of one item (see the file comment for the rules). */
export function pairText(tok: Tokenizer, item: PromptResponse, index: number): PairText {
  if (typeof item.prompt === 'string') {
    if (typeof item.response !== 'string')
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `item ${index}: a string prompt needs a string response, got a message list`, { row: index, field: 'response' });
    return { prompt: item.prompt, response: item.response, promptSpecialTokens: true };
  }
  const prompt = tok.applyChatTemplate(item.prompt, { addGenerationPrompt: true });
  const full = tok.applyChatTemplate([...item.prompt, ...responseMessages(item.response)]);
  if (!full.startsWith(prompt))
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `item ${index}: the chat template of ${tok.source} does not render the prompt as a prefix of the whole conversation, so the response cannot be split off`, { row: index, field: 'prompt' });
  return { prompt, response: full.slice(prompt.length), promptSpecialTokens: false };
}

export interface PairIds {
  prompt: number[];
  response: number[];
}

export interface CausalEncodeOptions {
  maxLength: number;
  truncate: boolean;
  /** Append EOS to the response unless it already ends with it (TRL's DPO appends it). */
  appendEos: boolean;
  /** Log-probs need at least one response token; a reward model may score an empty response. */
  allowEmptyResponse?: boolean;
}

function tooLong(index: number, tokens: number, limit: number, what: string) {
  return fail('ALIGNKIT_ERR_TOO_LONG', `item ${index} has ${tokens} tokens, more than the limit of ${limit} of ${what}; pass truncate: true to cut the prompt's start`, { row: index, tokens, limit });
}

/** Ids of one item for a causal LM, cut or rejected by `maxLength`. */
export function encodeForCausalLM(tok: Tokenizer, item: PromptResponse, index: number, opts: CausalEncodeOptions): PairIds {
  const text = pairText(tok, item, index);
  let prompt = tok.encode(text.prompt, { addSpecialTokens: text.promptSpecialTokens });
  let response = tok.encode(text.response, { addSpecialTokens: false });
  // The first response token is predicted from the token before it: an empty prompt gets BOS (or EOS,
  // GPT-2's document separator) so every response token has a log-prob.
  if (prompt.length === 0) {
    const start = tok.bosTokenId ?? tok.eosTokenId;
    if (start === undefined) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `item ${index}: the prompt is empty and ${tok.source} has no BOS or EOS token to start from`, { row: index, field: 'prompt' });
    prompt = [start];
  }
  if (opts.appendEos && tok.eosTokenId !== undefined && response[response.length - 1] !== tok.eosTokenId) response = [...response, tok.eosTokenId];
  if (response.length === 0 && !opts.allowEmptyResponse) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `item ${index}: the response has no tokens`, { row: index, field: 'response' });
  const total = prompt.length + response.length;
  if (total <= opts.maxLength) return { prompt, response };
  if (!opts.truncate) throw tooLong(index, total, opts.maxLength, tok.source);
  // Keep the end of the prompt (at least one token); if the response alone is too long, keep its start.
  const keepPrompt = Math.max(1, opts.maxLength - response.length);
  prompt = prompt.slice(-keepPrompt);
  response = response.slice(0, opts.maxLength - prompt.length);
  return { prompt, response };
}

export interface ClassifierInput {
  ids: number[];
  tokenTypeIds: number[];
}

/** Decoder classifiers read prompt + response as one sequence, like the causal LM (without EOS appended). */
export function encodeForDecoderClassifier(tok: Tokenizer, item: PromptResponse, index: number, maxLength: number, truncate: boolean): ClassifierInput {
  const { prompt, response } = encodeForCausalLM(tok, item, index, { maxLength, truncate, appendEos: false, allowEmptyResponse: true });
  const ids = [...prompt, ...response];
  return { ids, tokenTypeIds: ids.map(() => 0) };
}

/**
 * Encoder classifiers take the pair through the tokenizer's pair template ([CLS] prompt [SEP]
 * response [SEP] for BERT), as reward models like OpenAssistant's DeBERTa are called. Truncation
 * cuts the prompt's ids, decodes the kept suffix and re-encodes the pair; byte-level tokenizers
 * re-encode a decoded suffix to the same ids, others may differ by a token, so the cut repeats
 * until the pair fits.
 */
export function encodeForEncoderClassifier(tok: Tokenizer, item: PromptResponse, index: number, maxLength: number, truncate: boolean): ClassifierInput {
  const text = pairText(tok, item, index);
  let enc = tok.encodePair(text.prompt, text.response);
  if (enc.ids.length <= maxLength) return { ids: enc.ids, tokenTypeIds: enc.tokenTypeIds };
  if (!truncate) throw tooLong(index, enc.ids.length, maxLength, tok.source);
  let prompt = tok.encode(text.prompt, { addSpecialTokens: false });
  let response = tok.encode(text.response, { addSpecialTokens: false });
  const specials = enc.ids.length - prompt.length - response.length;
  if (response.length > maxLength - specials - 1) response = response.slice(0, Math.max(1, maxLength - specials - 1));
  let keep = Math.max(1, maxLength - specials - response.length);
  for (let attempt = 0; attempt < 8; attempt++) {
    prompt = prompt.slice(-keep);
    enc = tok.encodePair(tok.decode(prompt), tok.decode(response));
    if (enc.ids.length <= maxLength) return { ids: enc.ids, tokenTypeIds: enc.tokenTypeIds };
    // Re-encoding a decoded cut can come out longer (wordpiece splits); once the prompt is down
    // to one token, the response gives up the excess from its end.
    const over = enc.ids.length - maxLength;
    if (keep > 1) keep = Math.max(1, keep - over);
    else response = response.slice(0, Math.max(1, response.length - over));
  }
  throw tooLong(index, enc.ids.length, maxLength, `${tok.source} after truncation`);
}
