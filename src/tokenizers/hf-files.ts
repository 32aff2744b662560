// A trained byte-level BPE as a Hugging Face tokenizer directory: `tokenizer.json` (built by the
// same helper as the bpe500 fixture, src/models/fixtures/bpe-tokenizer.ts), `tokenizer_config.json`
// with the simple chat template, and GPT-2's classic `vocab.json` + `merges.txt` for tools that
// read those instead.

import fs from 'node:fs';
import path from 'node:path';
import { byteLevelBpeTokenizerConfig, byteLevelBpeTokenizerJson } from '../models/fixtures/index.js';
import { fail } from '../errors.js';
import { bytesToUnicode } from './byte-unicode.js';
import type { BpeModel } from './bpe-train.js';

export interface TokenizerFilesOptions {
  /** `model_max_length` of the config (the longest input a model using it takes). */
  modelMaxLength?: number;
  /** The special token used as bos/eos/unk (default: the first special token). */
  eosToken?: string;
  /** The pad token (default: a special token named like `<|pad|>` when present, else the eos token). */
  padToken?: string;
}

/** token string (GPT-2 alphabet, special tokens as themselves) -> id. */
export function vocabOf(model: BpeModel): Record<string, number> {
  const vocab: Record<string, number> = {};
  model.tokens.forEach((bytes, id) => {
    const token = id < model.specialTokens.length ? model.specialTokens[id]! : bytesToUnicode(bytes);
    // A special token spelled like a learned token (e.g. a special "ab") would share its JSON key.
    if (vocab[token] !== undefined) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `special token ${token} is spelled like a byte-level token, so both cannot be in one vocabulary`, { parameter: 'specialTokens' });
    vocab[token] = id;
  });
  return vocab;
}

/** Merges as pairs of token strings, in the order learned. */
export function mergesOf(model: BpeModel): [string, string][] {
  return model.merges.map(([a, b]) => [bytesToUnicode(model.tokens[a]!), bytesToUnicode(model.tokens[b]!)]);
}

export function tokenizerJsonOf(model: BpeModel): Record<string, unknown> {
  return byteLevelBpeTokenizerJson({ vocab: vocabOf(model), merges: mergesOf(model), specialTokens: model.specialTokens });
}

export function tokenizerConfigOf(model: BpeModel, opts: TokenizerFilesOptions = {}): Record<string, unknown> {
  const eos = opts.eosToken ?? model.specialTokens[0];
  if (eos === undefined) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'a tokenizer config needs at least one special token to use as eos', { parameter: 'specialTokens' });
  const pad = opts.padToken ?? model.specialTokens.find((t) => /pad/i.test(t)) ?? eos;
  for (const [field, token] of [['eosToken', eos], ['padToken', pad]] as const)
    if (!model.specialTokens.includes(token)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `${field} ${token} is not one of the special tokens ${model.specialTokens.join(', ')}`, { parameter: field });
  return byteLevelBpeTokenizerConfig({ specialToken: eos, modelMaxLength: opts.modelMaxLength ?? 1024, extra: { pad_token: pad } });
}

/** Writes the four files into `dir` (created if needed) and returns their paths. */
export function writeTokenizerDir(dir: string, model: BpeModel, opts: TokenizerFilesOptions = {}): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [
    ['tokenizer.json', JSON.stringify(tokenizerJsonOf(model), null, 2)],
    ['tokenizer_config.json', JSON.stringify(tokenizerConfigOf(model, opts), null, 2)],
    ['vocab.json', JSON.stringify(vocabOf(model), null, 2)],
    ['merges.txt', ['#version: 0.2', ...mergesOf(model).map(([a, b]) => `${a} ${b}`)].join('\n')],
  ];
  return files.map(([name, text]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `${text}\n`);
    return file;
  });
}
