// KV-cached decoding state for one causal LM over a batch of left-padded prompts. The model's
// `step` (src/models CausalLM) feeds optimum's names (`input_ids`, `attention_mask`,
// `position_ids`, `past_key_values.{i}.key|value`); this class keeps the mask and cache growing
// so that every row's next token sits in the last column.

import { fail } from '../errors.js';
import { releaseResident, type Feed } from '../graph/index.js';
import type { StepInputs, StepOutput } from '../models/index.js';

/** What decoding needs from a loaded causal LM (CausalLM provides it). */
export interface DecoderModel {
  step(inputs: StepInputs): Promise<StepOutput>;
  readonly vocabSize: number;
  /** Longest sequence (prompt + generated tokens) the model's positions allow, when known. */
  readonly maxLength?: number;
}

export class KvDecoder {
  private past: Record<string, Feed> | undefined;
  private mask: number[][] = [];
  /** Sequences so far per row, without padding (the no-cache path recomputes from them). */
  private tokens: number[][] = [];

  /**
   * @param useCache false recomputes the whole sequence every step with an empty past: the
   *   reference the cached path is tested against.
   */
  constructor(
    readonly model: DecoderModel,
    readonly useCache = true,
  ) {}

  /** Feed the prompts; returns each row's next-token logits. */
  async prefill(prompts: number[][], padTokenId: number): Promise<Float32Array[]> {
    if (prompts.length === 0 || prompts.some((p) => p.length === 0))
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'decoding needs at least one prompt and every prompt needs at least one token');
    this.tokens = prompts.map((p) => [...p]);
    return this.forward(padTokenId);
  }

  /** Append one token per row; returns each row's next-token logits. */
  async step(next: number[], padTokenId: number): Promise<Float32Array[]> {
    if (next.length !== this.tokens.length) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `step got ${next.length} tokens for ${this.tokens.length} rows`);
    next.forEach((t, i) => this.tokens[i]!.push(t));
    if (!this.useCache) return this.forward(padTokenId);
    for (const row of this.mask) row.push(1);
    return this.run({ ids: next.map((t) => [t]), attentionMask: this.mask, past: this.past });
  }

  /** Free the cache (on a GPU its buffers); the decoder is done. */
  release(): void {
    releaseResident(this.past);
    this.past = undefined;
  }

  /** Full left-padded forward from an empty past. */
  private forward(padTokenId: number): Promise<Float32Array[]> {
    const width = Math.max(...this.tokens.map((s) => s.length));
    const pads = (s: number[]) => width - s.length;
    this.mask = this.tokens.map((s) => [...Array(pads(s)).fill(0), ...Array(s.length).fill(1)]);
    return this.run({ ids: this.tokens.map((s) => [...Array(pads(s)).fill(padTokenId), ...s]), attentionMask: this.mask });
  }

  private async run(inputs: StepInputs): Promise<Float32Array[]> {
    const out = await this.model.step(inputs);
    releaseResident(this.past);
    this.past = out.past;
    const [batch, len, vocab] = out.logits.dims as [number, number, number];
    const data = out.logits.data as Float32Array;
    return Array.from({ length: batch }, (_, b) => data.slice((b * len + len - 1) * vocab, (b * len + len) * vocab));
  }
}
