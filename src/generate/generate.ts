// The decoding loop: plain decoding and GenARM-guided decoding share it. Guided, the base model and
// its ARMs run as one merged graph when they can (guided-decoder.ts: one session run per token, the
// guided scores computed in the graph); otherwise each keeps its own KV cache and advances in
// lockstep, one forward per model per token, and guidance combines their next-token distributions
// (guidance.ts). Then the processors and the sampler pick the token.

import { mulberry32 } from '../random.js';
import { fail } from '../errors.js';
import { genarmScores } from './guidance.js';
import { GuidedDecoder } from './guided-decoder.js';
import { KvDecoder, type DecoderModel } from './kv-decoder.js';
import { applyProcessors, repetitionPenalty, temperature as temperatureProcessor, topK, topP, type LogitsProcessor } from './processors.js';
import { SAMPLERS, type SamplerName } from './sampler.js';

/** The tokenizer surface decoding needs (src/models Tokenizer provides it). */
export interface DecodingTokenizer {
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean }): string;
  readonly padTokenId: number;
  readonly eosTokenId: number | undefined;
}

export interface GenerationConfig {
  maxNewTokens: number;
  /** 'greedy' takes the argmax of the processed scores; 'sample' draws from them. */
  sampler: SamplerName;
  /** Divides the (guided) scores; with ARMs it is GenARM's explicit T. */
  temperature: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  /** Generation of a row stops when its text contains one of these (the stop string is cut off). */
  stop: string[];
  /** Seed of the sampler's random source: the same seed gives the same tokens. */
  seed: number;
  /** Use the KV cache (default); false recomputes every step, the reference for tests. */
  useCache: boolean;
  /** Stop at the end-of-sequence token. */
  stopAtEos: boolean;
}

export const DEFAULT_GENERATION: GenerationConfig = {
  maxNewTokens: 64,
  sampler: 'sample',
  temperature: 1,
  stop: [],
  seed: 0,
  useCache: true,
  stopAtEos: true,
};

export interface Guide {
  model: DecoderModel;
  /** GenARM's alpha_i (the role of 1/beta); 0 switches the ARM off for this request. */
  alpha: number;
  name?: string;
}

/**
 * A processor that may await (e.g. score candidate continuations with a reward model, as ARGS
 * does); it edits the processed scores of one row in place after the synchronous processors.
 */
export type AsyncLogitsProcessor = (row: number, ids: readonly number[], generated: readonly number[], scores: Float32Array) => Promise<void>;

export type FinishReason = 'length' | 'stop' | 'eos' | 'cancelled';

export interface TokenEvent {
  row: number;
  token: number;
  /** Text added by this token (may be empty while a multi-byte character is incomplete). */
  delta: string;
  /** log pi_base(token) under the base model's own (unguided, T = 1) distribution. */
  baseLogprob: number;
  /** The same under each ARM. */
  armLogprobs: number[];
}

export interface GenerationResult {
  text: string;
  tokens: number[];
  baseLogprobs: number[];
  armLogprobs: number[][];
  finishReason: FinishReason;
}

function processorsFor(cfg: GenerationConfig): LogitsProcessor[] {
  // Order as HF applies them: penalty on raw scores, then temperature, then the truncations.
  const list: LogitsProcessor[] = [];
  if (cfg.repetitionPenalty !== undefined) list.push(repetitionPenalty(cfg.repetitionPenalty));
  if (cfg.topK !== undefined) list.push(topK(cfg.topK));
  if (cfg.topP !== undefined) list.push(topP(cfg.topP));
  return list;
}

function checkVocab(base: DecoderModel, guides: readonly Guide[]): void {
  for (const [i, g] of guides.entries())
    if (Math.abs(g.model.vocabSize - base.vocabSize) > 128)
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT',
        `ARM ${g.name ?? i} has vocabulary ${g.model.vocabSize} but the base has ${base.vocabSize}: GenARM guidance needs the same tokenizer`);
}

/**
 * Every model (base and ARMs) must hold each prompt plus maxNewTokens in its positions: past them
 * an ONNX graph fails with an index error naming none of the inputs, so the request fails here,
 * naming the row and the lengths (callers cut long prompts, e.g. keepEnd).
 */
function checkLengths(prompts: readonly number[][], maxNewTokens: number, models: readonly DecoderModel[]): void {
  const limit = Math.min(...models.map((m) => m.maxLength ?? Infinity));
  const row = prompts.findIndex((p) => p.length + maxNewTokens > limit);
  if (row >= 0)
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT',
      `prompt ${row} has ${prompts[row]!.length} tokens; with maxNewTokens ${maxNewTokens} it exceeds the model's ${limit} positions (cut the prompt to at most ${Math.max(0, limit - maxNewTokens)} tokens or lower maxNewTokens)`,
      { row, field: 'prompt', limit });
}

/**
 * Decode a batch of tokenized prompts; yields each token as it is chosen (streaming) and returns
 * the finished rows.
 */
export async function* generateStream(
  base: DecoderModel,
  tokenizer: DecodingTokenizer,
  prompts: number[][],
  options: Partial<GenerationConfig> = {},
  guides: readonly Guide[] = [],
  signal?: AbortSignal,
  asyncProcessors: readonly AsyncLogitsProcessor[] = [],
): AsyncGenerator<TokenEvent, GenerationResult[]> {
  const cfg = { ...DEFAULT_GENERATION, ...options };
  checkVocab(base, guides);
  checkLengths(prompts, cfg.maxNewTokens, [base, ...guides.map((g) => g.model)]);
  const random = mulberry32(cfg.seed).next;
  const sampler = SAMPLERS[cfg.sampler];
  if (!sampler) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `unknown sampler ${cfg.sampler}; known: ${Object.keys(SAMPLERS).join(', ')}`);
  const processors = processorsFor(cfg);
  const pad = tokenizer.padTokenId;
  // Greedy decoding with nothing editing the scores reads only each row's argmax, which the decoding
  // graph computes (guided: the merged graph's argmax form): the steps then fetch no [B, V] scores.
  const greedy = cfg.sampler === 'greedy' && processors.length === 0 && asyncProcessors.length === 0;
  const greedyOnly = greedy && guides.length === 0;
  // Guided decoding in one merged graph, when the models allow it (the same scores, one session run per token).
  const merged = guides.length > 0 && cfg.useCache ? await GuidedDecoder.open(base, guides, cfg.temperature, cfg.maxNewTokens, greedy) : undefined;
  const decoders = merged ? [] : [base, ...guides.map((g) => g.model)].map((m) => new KvDecoder(m, cfg.useCache, cfg.maxNewTokens, greedyOnly));
  // Rows from the decoders are views of the step's output: copy before anything edits scores in place.
  const editsScores = cfg.temperature !== 1 || processors.length > 0 || asyncProcessors.length > 0;
  const rows: GenerationResult[] = prompts.map(() => ({ text: '', tokens: [], baseLogprobs: [], armLogprobs: guides.map(() => []), finishReason: 'length' }));
  const done = prompts.map(() => false);
  const sequences = prompts.map((p) => [...p]);
  const texts = rows.map((row) => new RowText(tokenizer, row.tokens));
  const checksStops = cfg.stop.some(Boolean);

  /** Row r's next token from its (guided, processed) scores; `logits` holds each model's rows. */
  const chooseToken = async (r: number, logits: Float32Array[][]): Promise<number> => {
    const guided = merged ? merged.scores(r) : separateScores(r, logits);
    applyProcessors(processors, sequences[r]!, guided);
    for (const p of asyncProcessors) await p(r, sequences[r]!, rows[r]!.tokens, guided);
    return sampler(guided, random);
  };
  /** Row r's scores from one decoder per model: GenARM's combination in JavaScript, or the base's own. */
  const separateScores = (r: number, logits: Float32Array[][]): Float32Array => {
    const baseRow = logits[0]![r]!;
    return guides.length
      ? genarmScores(baseRow, guides.map((g, i) => ({ logits: logits[i + 1]![r]!, alpha: g.alpha, logSumExp: decoders[i + 1]!.logSumExpOf(r) })), cfg.temperature, decoders[0]!.logSumExpOf(r))
      : editsScores ? applyTemperature(baseRow, cfg.temperature) : baseRow;
  };
  /** Each model's own log-prob of row r's token: the base's, then each ARM's. */
  const logProbs = (r: number, token: number): number[] => (merged ? merged.logProbs(r, token) : decoders.map((d) => d.logProbOf(r, token)));

  try {
    await merged?.prefill(prompts, pad);
    let logits = await Promise.all(decoders.map((d) => d.prefill(prompts, pad)));
    for (let step = 0; step < cfg.maxNewTokens; step++) {
      const next: number[] = [];
      for (let r = 0; r < prompts.length; r++) {
        if (done[r]) {
          next.push(pad);
          continue;
        }
        const token = greedyOnly ? decoders[0]!.greedyToken(r) : merged && greedy ? merged.greedyToken(r) : await chooseToken(r, logits);
        next.push(token);
        const row = rows[r]!;
        row.tokens.push(token);
        const [baseLogprob, ...armLogprobs] = logProbs(r, token);
        row.baseLogprobs.push(baseLogprob!);
        armLogprobs.forEach((lp, i) => row.armLogprobs[i]!.push(lp));
        sequences[r]!.push(token);
        const n = row.tokens.length;
        const stopAt = checksStops ? firstStop(texts[r]!.upTo(n), cfg.stop, texts[r]!.upTo(n - 1).length) : -1;
        if (stopAt >= 0) {
          row.text = texts[r]!.upTo(n).slice(0, stopAt);
          row.finishReason = 'stop';
          done[r] = true;
        } else if (cfg.stopAtEos && token === tokenizer.eosTokenId) {
          row.finishReason = 'eos';
          done[r] = true;
        }
        const text = texts[r]!;
        const cut = stopAt >= 0 ? row.text : undefined;
        // The delta is decoded when a consumer reads it (a stream's client), not by generate(), which
        // only needs each row's text once at the end.
        yield {
          row: r, token, baseLogprob: row.baseLogprobs.at(-1)!, armLogprobs: row.armLogprobs.map((a) => a.at(-1)!),
          get delta() { return (cut ?? text.upTo(n)).slice(text.upTo(n - 1).length); },
        };
      }
      if (signal?.aborted) {
        rows.forEach((row, r) => !done[r] && (row.finishReason = 'cancelled'));
        break;
      }
      if (done.every(Boolean) || step === cfg.maxNewTokens - 1) break;
      await merged?.step(next);
      logits = await Promise.all(decoders.map((d) => d.step(next, pad)));
    }
    rows.forEach((row, r) => row.finishReason !== 'stop' && (row.text = texts[r]!.upTo(row.tokens.length)));
    return rows;
  } finally {
    for (const d of decoders) d.release();
    merged?.release();
  }
}

function applyTemperature(row: Float32Array, t: number): Float32Array {
  const out = Float32Array.from(row);
  temperatureProcessor(t)([], out);
  return out;
}

/**
 * A row's text, decoded only when something reads it: stop strings each step, a stream's deltas,
 * the result at the end. Decoding the whole row every step cost plain greedy decoding about 4% of
 * its time (4 rows x 64 tokens, alignkit-base). The last two prefixes asked for are kept, so a
 * stream reading every delta decodes each prefix once.
 */
class RowText {
  private memo: [number, string][] = [];

  constructor(private readonly tokenizer: DecodingTokenizer, private readonly tokens: readonly number[]) {}

  /** Text of the row's first `n` tokens (special tokens skipped). */
  upTo(n: number): string {
    const hit = this.memo.find(([k]) => k === n);
    if (hit) return hit[1];
    const text = n === 0 ? '' : this.tokenizer.decode(this.tokens.slice(0, n), { skipSpecialTokens: true });
    const last = this.memo.at(-1);
    this.memo = last ? [last, [n, text]] : [[n, text]];
    return text;
  }
}

/** Index of the earliest stop string that ends after `from - longest stop` (new text only), or -1. */
function firstStop(text: string, stops: readonly string[], from: number): number {
  let best = -1;
  for (const s of stops) {
    if (!s) continue;
    const i = text.indexOf(s, Math.max(0, from - s.length + 1));
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

/** Non-streaming form: runs the stream to the end (same arguments as generateStream). */
export async function generate(...args: Parameters<typeof generateStream>): Promise<GenerationResult[]> {
  const it = generateStream(...args);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
  }
}
