// GenARM-guided decoding over one merged session (src/models GuidedDecodingSession): the base and
// every ARM advance in one session run per token over one SlotCache that carries each model's KV
// cache in its own layout, and the graph returns the guided scores (guidance.ts's formula, computed
// in the graph; see src/graph/rewrites/merged-decode.ts). Greedy decoding without processors runs the
// graph's argmax form (each row's guided argmax and every model's log-prob of it); otherwise its
// scores form (the guided scores and each model's log-probs).

import { toOrt, type Feed, type Tensor } from '../graph/index.js';
import { GUIDE_ALPHA, GUIDE_TEMPERATURE, GUIDED_ARGMAX, GUIDED_SCORES, MEMBER_ARGMAX_LOGPROBS, MEMBER_LOGPROBS } from '../graph/rewrites/index.js';
import type { GuidedDecodingSession } from '../models/index.js';
import { fail } from '../errors.js';
import { leftPadded, SlotCache, type DecoderModel } from './kv-decoder.js';

export class GuidedDecoder {
  private slots: SlotCache | undefined;
  private out: Record<string, Tensor> = {};
  /** alpha and T, fed to every run (as onnxruntime tensors, made once). */
  private readonly guide: Record<string, Feed>;
  /** Models per row in the member outputs: the base, then the ARMs. */
  private readonly members: number;

  /**
   * @param alphas each ARM's alpha (GenARM's 1/beta), in the session's ARM order.
   * @param temperature GenARM's T, dividing the guided scores.
   * @param newTokens how many tokens the loop will add after the prompt (at most): sizes the cache.
   */
  private constructor(
    private readonly decoding: GuidedDecodingSession,
    alphas: readonly number[],
    temperature: number,
    private readonly newTokens: number,
  ) {
    if (!(temperature > 0)) throw new RangeError(`temperature must be > 0, got ${temperature}`);
    this.members = decoding.members.length;
    this.guide = {
      [GUIDE_ALPHA]: toOrt({ dtype: 'float32', dims: [alphas.length], data: Float32Array.from(alphas) }),
      [GUIDE_TEMPERATURE]: toOrt({ dtype: 'float32', dims: [1], data: Float32Array.of(temperature) }),
    };
  }

  /**
   * The merged decoder for `base` guided by `arms`, or undefined when the models offer no merged
   * session (the loop then runs one decoder per model). `greedyOnly`: the loop reads only greedyToken
   * and the log-probs of it.
   */
  static async open(base: DecoderModel, arms: readonly { model: DecoderModel; alpha: number }[], temperature: number, newTokens: number, greedyOnly: boolean): Promise<GuidedDecoder | undefined> {
    const decoding = await base.guidedDecodingSession?.(arms.map((a) => a.model), greedyOnly ? 'argmax' : 'scores');
    return decoding && new GuidedDecoder(decoding, arms.map((a) => a.alpha), temperature, newTokens);
  }

  /** Feed the left-padded prompts. */
  async prefill(prompts: number[][], padTokenId: number): Promise<void> {
    const { ids, mask } = leftPadded(prompts, padTokenId);
    this.slots = new SlotCache(this.decoding, prompts.length, ids[0]!.length + this.newTokens);
    this.out = await this.slots.run(ids, mask, undefined, this.guide);
  }

  /** Append one token per row. */
  async step(next: number[]): Promise<void> {
    this.out = await this.slots!.run(next.map((t) => [t]), next.map(() => [1]), undefined, this.guide);
  }

  /** The decoder is done: its cache memory goes back to the session. */
  release(): void {
    this.slots?.release();
    this.slots = undefined;
  }

  /** Row r's guided next-token scores (a view of this step's output: edit it in place freely). */
  scores(r: number): Float32Array {
    if (this.decoding.form !== 'scores') throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'a greedy-only guided decoder fetches no scores');
    const V = this.decoding.vocab;
    return (this.out[GUIDED_SCORES]!.data as Float32Array).subarray(r * V, (r + 1) * V);
  }

  /** Row r's greedy next token under guidance. */
  greedyToken(r: number): number {
    if (this.decoding.form !== 'argmax') throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'a guided decoder that fetches the scores picks tokens with its sampler');
    return Number((this.out[GUIDED_ARGMAX]!.data as BigInt64Array)[r]);
  }

  /** Each model's own log-prob (T = 1) of `token` in row r: the base's, then each ARM's. */
  logProbs(r: number, token: number): number[] {
    const M = this.members;
    if (this.decoding.form === 'argmax') {
      const argmax = this.greedyToken(r);
      if (token !== argmax) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `row ${r}: a greedy-only decoder knows the log-probs of its argmax ${argmax}, not of token ${token}`);
      return Array.from((this.out[MEMBER_ARGMAX_LOGPROBS]!.data as Float32Array).subarray(r * M, (r + 1) * M));
    }
    const V = this.decoding.vocab;
    const lp = this.out[MEMBER_LOGPROBS]!.data as Float32Array; // [B, M, V]
    return Array.from({ length: M }, (_, m) => lp[(r * M + m) * V + token]!);
  }
}
