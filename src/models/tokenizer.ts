// Tokenizers from a Hugging Face directory (`tokenizer.json` + `tokenizer_config.json`), run by
// transformers.js's tokenizer classes. alignkit reads the two files itself and hands the parsed
// JSON to the class `tokenizer_config.json` names (as transformers.js's AutoTokenizer picks it), so
// loading never goes through the Hub code path and can never reach the network.
//
// transformers.js (with sharp and its image code) takes 0.1-0.3 s to import: it is required when the
// first tokenizer is built, not when this module is imported, so a process that never tokenizes
// (training on token ids, serving a scorer's routes list, `alignkit --help`) does not pay for it. Its
// CommonJS build, because the constructors below are synchronous.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { fail } from '../errors.js';
import type { Message } from './types.js';

/** `model_max_length` values at or above this are transformers' "no limit" sentinel (int(1e30)). */
const NO_LIMIT = 1e15;

function readJsonFile(file: string, what: string): Record<string, unknown> {
  if (!fs.existsSync(file)) throw fail('ALIGNKIT_ERR_MODEL_DIR', `${path.dirname(file)} has no ${path.basename(file)} (${what})`, { file });
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw fail('ALIGNKIT_ERR_BAD_FORMAT', `${file} is not valid JSON: ${(e as Error).message}`, { file }, e);
  }
}

let transformersModule: typeof import('@huggingface/transformers') | undefined;
const loadTransformers = (): typeof import('@huggingface/transformers') =>
  (transformersModule ??= createRequire(import.meta.url)('@huggingface/transformers') as typeof import('@huggingface/transformers'));

/** The transformers.js class for `tokenizer_class` ("...Fast" stripped), else the base class. */
function tokenizerClass(name: unknown): typeof PreTrainedTokenizer {
  const transformers = loadTransformers();
  const { PreTrainedTokenizer } = transformers;
  const wanted = typeof name === 'string' ? name.replace(/Fast$/, '') : '';
  const cls = (transformers as unknown as Record<string, unknown>)[wanted];
  return typeof cls === 'function' && (cls === PreTrainedTokenizer || cls.prototype instanceof PreTrainedTokenizer) ? (cls as typeof PreTrainedTokenizer) : PreTrainedTokenizer;
}

export interface EncodeOptions {
  /** Add what the post-processor adds (BOS, [CLS] ... [SEP]); default true as in transformers. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  skipSpecialTokens?: boolean;
}

export interface ChatTemplateOptions {
  /** Append the template's assistant header so the model continues as the assistant. */
  addGenerationPrompt?: boolean;
}

export interface PairEncoding {
  ids: number[];
  tokenTypeIds: number[];
}

export class Tokenizer {
  readonly padTokenId: number;
  readonly eosTokenId: number | undefined;
  readonly bosTokenId: number | undefined;
  readonly vocabSize: number;
  /** Longest input the tokenizer config allows (Infinity when it sets no limit). */
  readonly modelMaxLength: number;

  private constructor(
    private readonly hf: PreTrainedTokenizer,
    /** Where the tokenizer came from, for error messages. */
    readonly source: string,
    /** transformers.js resolves a string template or a list of named ones. */
    private readonly chatTemplate: unknown,
  ) {
    this.eosTokenId = hf.eos_token_id ?? undefined;
    this.bosTokenId = hf.bos_token_id ?? undefined;
    // transformers.js falls back to eos for pad, as GPT-2 fine-tuning recipes set pad = eos.
    this.padTokenId = hf.pad_token_id ?? this.eosTokenId ?? 0;
    this.vocabSize = hf.get_vocab().size;
    const max = (hf.config as Record<string, unknown>).model_max_length;
    this.modelMaxLength = typeof max === 'number' && max < NO_LIMIT ? max : Infinity;
  }

  /** Load `tokenizer.json` and `tokenizer_config.json` (and `chat_template.jinja` when present) from `dir`. */
  static async load(dir: string): Promise<Tokenizer> {
    const json = readJsonFile(path.join(dir, 'tokenizer.json'), 'the Hugging Face tokenizers file');
    const configFile = path.join(dir, 'tokenizer_config.json');
    const config = fs.existsSync(configFile) ? readJsonFile(configFile, 'tokenizer settings') : {};
    // transformers >= 4.43 may save the template next to the config instead of inside it.
    const jinjaFile = path.join(dir, 'chat_template.jinja');
    if (config.chat_template === undefined && fs.existsSync(jinjaFile)) config.chat_template = fs.readFileSync(jinjaFile, 'utf8');
    return Tokenizer.fromJson(json, config, dir);
  }

  /** Build from parsed `tokenizer.json` and `tokenizer_config.json` objects. */
  static fromJson(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown>, source = '<json>'): Tokenizer {
    let hf: PreTrainedTokenizer;
    try {
      hf = new (tokenizerClass(tokenizerConfig.tokenizer_class))(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw fail('ALIGNKIT_ERR_MODEL_DIR', `tokenizer in ${source} cannot be built: ${(e as Error).message}`, { file: source }, e);
    }
    const template = tokenizerConfig.chat_template;
    return new Tokenizer(hf, source, template ?? undefined);
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    return this.hf.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true });
  }

  /** Encode a (first, second) pair with the post-processor's pair template and its token types. */
  encodePair(first: string, second: string): PairEncoding {
    const out = this.hf(first, { text_pair: second, return_tensor: false, return_token_type_ids: true }) as unknown as { input_ids: number[]; token_type_ids?: number[] };
    return { ids: out.input_ids, tokenTypeIds: out.token_type_ids ?? out.input_ids.map(() => 0) };
  }

  decode(ids: number[], opts: DecodeOptions = {}): string {
    if (ids.length === 0) return '';
    return this.hf.decode(ids, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  get hasChatTemplate(): boolean {
    return this.chatTemplate !== undefined && this.chatTemplate !== '';
  }

  /** Render messages with the `chat_template` of `tokenizer_config.json` (Jinja, via transformers.js). */
  applyChatTemplate(messages: Message[], opts: ChatTemplateOptions = {}): string {
    if (!this.hasChatTemplate) throw fail('ALIGNKIT_ERR_MODEL_DIR', `tokenizer in ${this.source} has no chat_template, so it cannot format messages`, { file: this.source, field: 'chat_template' });
    return this.hf.apply_chat_template(messages, { tokenize: false, add_generation_prompt: opts.addGenerationPrompt ?? false }) as string;
  }

  tokenToId(token: string): number | undefined {
    return this.hf.convert_tokens_to_ids(token) ?? undefined;
  }
}
