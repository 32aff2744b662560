// A loaded generation setup: one base causal LM and any number of ARMs (GenARM), each from a
// Hugging Face layout directory. Used by the `generate` command and the server's /v1/generate.

import { fail } from '../errors.js';
import type { SessionOptions } from '../graph/index.js';
import { CausalLM, type Text, type Tokenizer } from '../models/index.js';
import { generate, generateStream, type AsyncLogitsProcessor, type GenerationConfig, type GenerationResult, type Guide, type TokenEvent } from './generate.js';

export interface ArmSpec {
  dir: string;
  /** Default weight alpha_i; a request may override it by the ARM's name. */
  alpha: number;
  name?: string;
}

export interface LoadedArm {
  name: string;
  model: CausalLM;
  alpha: number;
}

// Texts whose ids must agree for two tokenizers to count as the same (ASCII, punctuation, digits,
// whitespace runs and non-Latin script, which byte-level BPEs split differently when they differ).
const PROBES = ['Hello, world! 123', '  The quick brown fox jumps over the lazy dog.\n\n', 'naïve café – 東京 🙂'];

/**
 * Weak-to-strong guidance needs the same tokenizer: the same vocabulary size (up to padding) and the
 * same ids for probe texts.
 */
export function assertSameTokenizer(base: Tokenizer, other: Tokenizer, otherName: string, why = 'GenARM guidance combines next-token distributions id by id', field = 'arm'): void {
  const same = PROBES.every((p) => JSON.stringify(base.encode(p, { addSpecialTokens: false })) === JSON.stringify(other.encode(p, { addSpecialTokens: false })));
  if (!same || Math.abs(base.vocabSize - other.vocabSize) > 128)
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT',
      `${otherName} (${other.source}) does not share the base model's tokenizer (${base.source}): ${why}, so both models need the same tokenizer`,
      { field });
}

/** A prompt's ids for decoding: a string with the tokenizer's special tokens, a message list through the chat template. */
export function encodePrompt(tok: Tokenizer, prompt: Text): number[] {
  if (typeof prompt === 'string') return tok.encode(prompt);
  return tok.encode(tok.applyChatTemplate(prompt, { addGenerationPrompt: true }), { addSpecialTokens: false });
}

/**
 * A sequence classifier's graph also has a `logits` output (one score per label, not one per vocabulary
 * entry): decoding from it gives empty texts without any error, so it is refused by its architecture.
 */
export function assertCausalLM(model: CausalLM, role: string, field: string): void {
  const classifier = model.dir.arch.architectures.find((a) => /For(Sequence|Token)Classification$/.test(a));
  if (classifier)
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT',
      `the ${role} ${model.dir.dir} is a ${classifier}: it scores texts and cannot generate them; give a causal LM (a *ForCausalLM or *LMHeadModel directory)`,
      { field, architecture: classifier });
}

export class Generator {
  private constructor(
    readonly base: CausalLM,
    readonly arms: LoadedArm[],
  ) {}

  static async load(baseDir: string, arms: ArmSpec[] = [], session: SessionOptions = {}): Promise<Generator> {
    const base = await CausalLM.load(baseDir, { session });
    assertCausalLM(base, 'base model', 'base');
    const loaded: LoadedArm[] = [];
    for (const [i, spec] of arms.entries()) {
      const model = await CausalLM.load(spec.dir, { session });
      const name = spec.name ?? model.dir.name ?? `arm${i}`;
      assertCausalLM(model, `ARM ${name}`, 'arm');
      assertSameTokenizer(base.tokenizer, model.tokenizer, `ARM ${name}`);
      loaded.push({ name, model, alpha: spec.alpha });
    }
    return new Generator(base, loaded);
  }

  get tokenizer(): Tokenizer {
    return this.base.tokenizer;
  }

  /** Prompt ids: strings as they are (with the tokenizer's special tokens), message lists through the chat template. */
  encodePrompt(prompt: Text): number[] {
    return encodePrompt(this.tokenizer, prompt);
  }

  /** Guides with per-request alphas by ARM name (unknown names are an error naming them). */
  guides(alphas: Record<string, number> = {}): Guide[] {
    for (const name of Object.keys(alphas))
      if (!this.arms.some((a) => a.name === name))
        throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `no ARM named ${name}; loaded ARMs: ${this.arms.map((a) => a.name).join(', ') || '(none)'}`, { field: 'alphas' });
    return this.arms.map((a) => ({ model: a.model, alpha: alphas[a.name] ?? a.alpha, name: a.name }));
  }

  generate(prompts: Text[], cfg: Partial<GenerationConfig> = {}, alphas?: Record<string, number>, signal?: AbortSignal, extra: AsyncLogitsProcessor[] = []): Promise<GenerationResult[]> {
    return generate(this.base, this.tokenizer, prompts.map((p) => this.encodePrompt(p)), cfg, this.guides(alphas), signal, extra);
  }

  stream(prompts: Text[], cfg: Partial<GenerationConfig> = {}, alphas?: Record<string, number>, signal?: AbortSignal): AsyncGenerator<TokenEvent, GenerationResult[]> {
    return generateStream(this.base, this.tokenizer, prompts.map((p) => this.encodePrompt(p)), cfg, this.guides(alphas), signal);
  }
}
