// The sampling fields of the generation routes: their schema, their GenerationConfig, and the
// checks that refuse, before any work, parameters that can only produce garbage.
//
// Decoding divides and multiplies float32 scores: guided scores are log_softmax(base) + sum_i
// alpha_i * log_softmax(ARM_i), divided by the temperature T, and a repeated token's score is
// divided or multiplied by the repetition penalty p. Once every score overflows to -Infinity (or
// +Infinity) the sampler sees NaN probabilities and returns token 0: an empty or meaningless text
// with a 200. A temperature of 1e-39 does it (below float32's smallest normal, 2^-126), and so does
// an alpha of 1e38. The check bounds the factor a score can be scaled by, (1 + sum |alpha_i|) *
// max(p, 1/p) / T, so that a score of magnitude SCORE_BOUND stays finite in float32; real models'
// logits and log-probabilities stay far inside that bound, so every refused request was one that
// could only overflow, and every accepted one keeps its scores finite.

import { fail } from '../../errors.js';
import type { GenerationConfig, Generator } from '../../generate/index.js';
import type { Text } from '../../models/index.js';
import { textSchema } from '../schemas.js';

export interface GenerateLimits {
  /** Largest `max_tokens` a request may ask for. */
  maxNewTokens: number;
  /** Largest `n` of best-of-n. */
  maxN: number;
}

export const DEFAULT_GENERATE_LIMITS: GenerateLimits = { maxNewTokens: 256, maxN: 16 };

/** `max_tokens` when a request does not say (cut to what the model's window allows). */
const DEFAULT_MAX_TOKENS = 64;

/** Largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;
/** A bound on |logit| and |log-prob| of any real model (they stay in the tens to hundreds). */
export const SCORE_BOUND = 1e4;

export interface SamplingBody {
  prompt: Text;
  max_tokens?: number;
  temperature?: number;
  top_k?: number;
  top_p?: number;
  repetition_penalty?: number;
  stop?: string[];
  seed?: number;
  greedy?: boolean;
  /** Per-request GenARM weights by ARM name. */
  alphas?: Record<string, number>;
}

/** Tokens the base model and every ARM can hold: prompt and new tokens together. */
export function generationWindow(gen: Generator): number {
  return Math.min(gen.base.maxLength, ...gen.arms.map((a) => a.model.maxLength));
}

/**
 * The most new tokens a request may ask for: the server's limit, and at most the window less one
 * prompt token, so a `max_tokens` that leaves no room for any prompt is refused by validation.
 */
export function maxTokensLimit(gen: Generator, limits: GenerateLimits): number {
  return Math.max(1, Math.min(limits.maxNewTokens, generationWindow(gen) - 1));
}

export function samplingSchema(gen: Generator, limits: GenerateLimits, maxInputChars: number) {
  const maxTokens = maxTokensLimit(gen, limits);
  return {
    prompt: textSchema({ maxInputChars } as never, 1),
    max_tokens: {
      type: 'integer', minimum: 1, maximum: maxTokens,
      description: `New tokens at most (default ${Math.min(DEFAULT_MAX_TOKENS, maxTokens)}; limit ${maxTokens}: the server's ${limits.maxNewTokens}, and the model's ${generationWindow(gen)}-token window must keep room for the prompt).`,
    },
    temperature: { type: 'number', exclusiveMinimum: 0, maximum: 100, description: 'Divides the (guided) scores: GenARM\'s T. Use "greedy": true for the argmax; a T so small that scores overflow float32 is refused.' },
    top_k: { type: 'integer', minimum: 1 },
    top_p: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
    repetition_penalty: { type: 'number', exclusiveMinimum: 0 },
    stop: { type: 'array', maxItems: 8, items: { type: 'string', minLength: 1, maxLength: 256 } },
    seed: { type: 'integer', minimum: 0, maximum: 4294967295 },
    greedy: { type: 'boolean' },
    alphas: { type: 'object', additionalProperties: { type: 'number' }, description: 'GenARM weight alpha_i per ARM name; default: the weights the server was started with.' },
  } as const;
}

export function configFrom(body: SamplingBody, gen: Generator, limits: GenerateLimits): Partial<GenerationConfig> {
  const maxNewTokens = body.max_tokens ?? Math.min(DEFAULT_MAX_TOKENS, maxTokensLimit(gen, limits));
  const cfg: Partial<GenerationConfig> = { sampler: body.greedy ? 'greedy' : 'sample', maxNewTokens };
  if (body.temperature !== undefined) cfg.temperature = body.temperature;
  if (body.top_k !== undefined) cfg.topK = body.top_k;
  if (body.top_p !== undefined) cfg.topP = body.top_p;
  if (body.repetition_penalty !== undefined) cfg.repetitionPenalty = body.repetition_penalty;
  if (body.stop !== undefined) cfg.stop = body.stop;
  if (body.seed !== undefined) cfg.seed = body.seed;
  return cfg;
}

/**
 * Refuses (400, naming the field that contributes most) sampling parameters under which every
 * score overflows float32; see the file comment. (A non-finite number never gets here: JSON's
 * 1e400 parses to Infinity, which the schema's `number` refuses.)
 */
export function checkScoreScale(body: SamplingBody, gen: Generator): void {
  const alphas = gen.guides(body.alphas).map((g) => ({ field: `alphas.${g.name}`, value: g.alpha }));
  const t = body.temperature ?? 1;
  const p = body.repetition_penalty ?? 1;
  const factors = [
    { field: 'temperature', value: 1 / t, what: `temperature ${t}` },
    { field: alphas.reduce((a, b) => (Math.abs(b.value) > Math.abs(a.value) ? b : a), { field: 'alphas', value: 0 }).field, value: 1 + alphas.reduce((s, a) => s + Math.abs(a.value), 0), what: 'the ARM weights' },
    { field: 'repetition_penalty', value: Math.max(p, 1 / p), what: `repetition_penalty ${p}` },
  ];
  const scale = factors.reduce((s, f) => s * f.value, 1);
  if (scale * SCORE_BOUND <= FLOAT32_MAX) return;
  const worst = factors.reduce((a, b) => (b.value > a.value ? b : a));
  throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT',
    `${worst.field}: with ${worst.what} the scores are scaled by ${scale.toExponential(2)}, which overflows float32 (max ${FLOAT32_MAX.toExponential(2)}) for every token, so decoding could only produce garbage; ${worst.field === 'temperature' ? 'use "greedy": true for the most likely token, or a larger temperature' : `lower ${worst.field}`}`,
    { field: worst.field });
}
