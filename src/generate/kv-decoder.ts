// KV-cached decoding state for one causal LM over a batch of left-padded prompts, so that every
// row's next token sits in the last column.
//
// Two ways to run a step. When the model offers a decoding session (src/models DecodingSession:
// the graph rewritten to return only the new tokens' keys and values, the last position's logits
// and their log sum exp) and the loop says how many tokens it will add, the cache lives in buffers
// allocated once for prompt + new tokens: each step feeds the filled width (zero-copy; widened in
// place SLOT_CHUNK slots at a time), writes the new keys and values into the next slots, and masks
// the slots not yet written. Nothing per step is copied in proportion to the sequence, where the
// plain step returns the whole grown cache (which onnxruntime-node copies into fresh memory every
// step). Otherwise the model's `step` (optimum's names: input_ids,
// attention_mask, position_ids, past_key_values.{i}.key|value) runs with the cache it returned.
// The buffers (SlotCache) serve any session that carries one or more models' caches: GenARM's merged
// session (guided-decoder.ts) keeps the base's and each ARM's, each in its own layout.

import { fail } from '../errors.js';
import { releaseResident, toOrt, type Feed, type Tensor } from '../graph/index.js';
import type { DecodingSession, GuidedDecodingSession, SlotSession, StepInputs, StepOutput } from '../models/index.js';
import { LAST_ARGMAX, LAST_LOGITS, LAST_LOGSUMEXP, LAST_MAX, type MergedOutputs } from '../graph/rewrites/index.js';
import { SAMPLERS } from './sampler.js';
import { logProbOf } from './processors.js';

/** What decoding needs from a loaded causal LM (CausalLM provides it). */
export interface DecoderModel {
  step(inputs: StepInputs): Promise<StepOutput>;
  readonly vocabSize: number;
  /** Longest sequence (prompt + generated tokens) the model's positions allow, when known. */
  readonly maxLength?: number;
  /** The fixed-cache decoding session, when the model has one (CausalLM.decodingSession). */
  decodingSession?(): Promise<DecodingSession | undefined>;
  /** One session computing this model guided by `arms` (GenARM, CausalLM.guidedDecodingSession), when it can build one. */
  guidedDecodingSession?(arms: readonly DecoderModel[], form: MergedOutputs): Promise<GuidedDecodingSession | undefined>;
}

const i64 = (dims: number[], data: BigInt64Array): Tensor => ({ dtype: 'int64', dims, data });

/**
 * Cache slots are added this many at a time. A step's attention (and the graph's Concat of past and
 * new) costs in proportion to the slots fed, written or not: fed at full capacity from the first step,
 * a 4 x 64-token greedy decode of alignkit-base spent 4.3 us of CPU per slot per step, a third of its
 * step time at 70 slots. Grown in chunks, the fed width stays within CHUNK of the tokens so far, and
 * the buffers are re-laid out once per CHUNK steps (one copy of the cache, where the plain step
 * copies it every step).
 */
export const SLOT_CHUNK = 16;

/**
 * A finished decode's cache memory is kept on its session for the next decode (at most this many
 * buffers, each at most SPARE_CACHE_BYTES, so a long decode does not pin its memory). Allocated
 * afresh each decode, the buffers (memory outside V8's heap that V8 accounts for) set off a full
 * garbage collection every two or three decodes: 92 per 200 decodes of alignkit-base guided by
 * alignkit-arm (4 x 64 greedy tokens), 22 with reuse; plain 24 and 1. Paired rounds of CPU time:
 * 3.5% less for guided decoding, 2.7% for plain.
 */
const SPARE_CACHES = 2;
const SPARE_CACHE_BYTES = 64 * 2 ** 20;

/** One past input's buffer [B, kvHeads, width, headDim] (allocated once at capacity) and where its new keys or values come from. */
interface SlotBuffer {
  data: Float32Array;
  heads: number;
  headDim: number;
  /** The output stacking the new keys/values, and this past's block in it. */
  output: string;
  block: number;
}

/**
 * The KV cache of every model a decoding session carries (one, or a GenARM base and its ARMs, each
 * in its own layout) in pre-sized buffers, filled slot by slot and widened in chunks. All models
 * share the tokens, so the slot mask, positions and widths are common; each buffer keeps its own
 * heads and head size.
 */
export class SlotCache {
  private filled = 0;
  /** Slots the buffers hold now (the past length fed): grows by SLOT_CHUNK up to capacity. */
  private width = 0;
  /** Per row and slot (row-major [B, capacity]): 1 where a slot holds a real token. */
  private readonly slotMask: Uint8Array;
  /** Per row: real tokens so far (the next token's position). */
  private readonly seen: number[];
  private readonly buffers = new Map<string, SlotBuffer>();
  private readonly outputs: string[];
  /** The past feeds at the current width (pastFeeds). */
  private fed: Record<string, Feed> | undefined;
  /** The memory every buffer is a view of; undefined once released. */
  private arena: Float32Array | undefined;

  constructor(
    private readonly decoding: SlotSession,
    private readonly batch: number,
    private readonly capacity: number,
  ) {
    // Each buffer is sized once at capacity, all in one arena (a spare one of the session's when one
    // is large enough); the first batch x heads x width x headDim values of a buffer hold the cache.
    const sizes = decoding.members.map(({ blocks, layout: { numKvHeads: heads, headDim } }) => blocks.size * batch * heads * capacity * headDim);
    this.arena = takeSpare(decoding.spareCaches, sizes.reduce((a, b) => a + b, 0));
    let offset = 0;
    for (const { output, blocks, layout: { numKvHeads: heads, headDim } } of decoding.members)
      for (const [past, block] of blocks) {
        const n = batch * heads * capacity * headDim;
        this.buffers.set(past, { data: this.arena.subarray(offset, (offset += n)), heads, headDim, output, block });
      }
    this.outputs = decoding.members.map((m) => m.output);
    this.slotMask = new Uint8Array(batch * capacity);
    this.seen = new Array<number>(batch).fill(0);
  }

  /**
   * Run `ids` [B, T] (mask 0 on left padding) over the cache with `extra` feeds; returns the
   * `fetches` (all outputs when undefined; the new keys/values are always fetched).
   */
  async run(ids: number[][], newMask: number[][], fetches?: readonly string[], extra: Record<string, Feed> = {}): Promise<Record<string, Tensor>> {
    const B = this.batch;
    const T = ids[0]!.length;
    const S = this.width;
    if (this.filled + T > this.capacity) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `decoding cache holds ${this.capacity} tokens; ${this.filled + T} requested`, { field: 'maxNewTokens' });
    const inputIds = new BigInt64Array(B * T);
    const positions = new BigInt64Array(B * T);
    const mask = new BigInt64Array(B * (S + T));
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < this.filled; s++) if (this.slotMask[b * this.capacity + s]) mask[b * (S + T) + s] = 1n;
      for (let t = 0; t < T; t++) {
        inputIds[b * T + t] = BigInt(ids[b]![t]!);
        const real = newMask[b]![t] === 1;
        mask[b * (S + T) + S + t] = real ? 1n : 0n;
        // transformers' rule: cumsum(attention_mask) - 1, pads at 1.
        positions[b * T + t] = real ? BigInt(this.seen[b]!++) : 1n;
      }
    }
    const feeds: Record<string, Feed> = {
      ...extra,
      input_ids: i64([B, T], inputIds),
      attention_mask: i64([B, S + T], mask),
      position_ids: i64([B, T], positions),
    };
    Object.assign(feeds, this.pastFeeds());
    if (this.decoding.usesCacheBranch) feeds.use_cache_branch = { dtype: 'bool', dims: [1], data: Uint8Array.of(1) };
    const out = await this.decoding.session.run(feeds, fetches && [...fetches, ...this.outputs]);
    if (this.filled + T > this.width) this.widen(Math.min(this.capacity, Math.ceil((this.filled + T) / SLOT_CHUNK) * SLOT_CHUNK));
    // New keys/values [B, H, T, D] (block i of their output) into slots filled .. filled + T of [B, H, width, D].
    // Element by element: a step's block is T x headDim values (32 for alignkit-base), where a
    // subarray per block and head (two per model and layer) cost GenARM's merged step more in
    // allocation and garbage collection than the copy itself.
    for (const { data: dst, heads, headDim, output, block: i } of this.buffers.values()) {
      const block = T * headDim;
      const src = out[output]!.data as Float32Array;
      for (let bh = 0, from = i * B * heads * block; bh < B * heads; bh++) {
        const to = (bh * this.width + this.filled) * headDim;
        for (let j = 0; j < block; j++) dst[to + j] = src[from++]!;
      }
    }
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) this.slotMask[b * this.capacity + this.filled + t] = newMask[b]![t]!;
    this.filled += T;
    return out;
  }

  /** The decode is done: its memory goes back to the session for the next one (the cache must not be run again). */
  release(): void {
    const spares = this.decoding.spareCaches;
    if (this.arena && spares.length < SPARE_CACHES && this.arena.byteLength <= SPARE_CACHE_BYTES) spares.push(this.arena);
    this.arena = undefined;
    this.buffers.clear();
    this.fed = undefined;
  }

  /** Re-lay the buffers out in place with `width` slots per row and head, keeping the filled ones (last row first, so nothing is overwritten before it moves). */
  private widen(width: number): void {
    for (const { data, heads, headDim: D } of this.buffers.values()) {
      const kept = this.filled * D;
      for (let bh = this.batch * heads - 1; bh > 0; bh--) data.copyWithin(bh * width * D, bh * this.width * D, bh * this.width * D + kept);
    }
    this.width = width;
    this.fed = undefined;
  }

  /**
   * The past inputs at the current width: views of the buffers, the same from one step to the next
   * until the cache widens, so they are made once per width (as onnxruntime tensors, which
   * Session.run passes as they are) rather than once per step and input.
   */
  private pastFeeds(): Record<string, Feed> {
    if (this.fed) return this.fed;
    const B = this.batch, S = this.width;
    this.fed = {};
    for (const [past, { data, heads, headDim }] of this.buffers) this.fed[past] = toOrt({ dtype: 'float32', dims: [B, heads, S, headDim], data: data.subarray(0, B * heads * S * headDim) });
    return this.fed;
  }
}

/** `size` zeroed values: from a spare arena at least that large (taken off the list), else new. */
function takeSpare(spares: Float32Array[], size: number): Float32Array {
  const i = spares.findIndex((a) => a.length >= size);
  if (i < 0) return new Float32Array(size);
  const [arena] = spares.splice(i, 1);
  return arena!.fill(0, 0, size);
}

function checkPrompts(prompts: readonly number[][]): void {
  if (prompts.length === 0 || prompts.some((p) => p.length === 0))
    throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'decoding needs at least one prompt and every prompt needs at least one token');
}

/** Prompts left-padded to the longest, with their mask (0 on padding), so every row's newest token is in the last column. */
export function leftPadded(prompts: readonly number[][], padTokenId: number): { ids: number[][]; mask: number[][] } {
  checkPrompts(prompts);
  const width = Math.max(...prompts.map((p) => p.length));
  const pads = (p: readonly number[]) => width - p.length;
  return {
    ids: prompts.map((p) => [...Array<number>(pads(p)).fill(padTokenId), ...p]),
    mask: prompts.map((p) => [...Array<number>(pads(p)).fill(0), ...Array<number>(p.length).fill(1)]),
  };
}

export class KvDecoder {
  private past: Record<string, Feed> | undefined;
  private mask: number[][] = [];
  /** Sequences so far per row, without padding (the no-cache path recomputes from them). */
  private tokens: number[][] = [];
  private slots: SlotCache | undefined;
  private rows: Float32Array[] = [];
  private logSumExp: Float32Array | undefined;
  /** The last step's largest logit and its index per row, when it fetched no logits (greedyOnly). */
  private best: { max: Float32Array; argmax: BigInt64Array } | undefined;

  /**
   * @param useCache false recomputes the whole sequence every step with an empty past: the
   *   reference the cached path is tested against.
   * @param newTokens how many tokens the loop will add after the prompt (at most): with it, a model
   *   with a decoding session decodes over a cache sized once (see the file comment).
   * @param greedyOnly the loop reads only greedyToken and its logProbOf (greedy decoding, nothing
   *   editing the scores): over a decoding session the steps then fetch each row's argmax and its
   *   logit instead of the [B, V] logits, and return no rows.
   */
  constructor(
    readonly model: DecoderModel,
    readonly useCache = true,
    readonly newTokens?: number,
    readonly greedyOnly = false,
  ) {}

  /** Feed the prompts; returns each row's next-token logits. */
  async prefill(prompts: number[][], padTokenId: number): Promise<Float32Array[]> {
    checkPrompts(prompts);
    this.tokens = prompts.map((p) => [...p]);
    const decoding = this.useCache && this.newTokens !== undefined ? await this.model.decodingSession?.() : undefined;
    if (decoding) {
      const { ids, mask } = leftPadded(prompts, padTokenId);
      this.slots = new SlotCache(decoding, prompts.length, ids[0]!.length + this.newTokens!);
      return this.fromSlots(ids, mask);
    }
    return this.forward(padTokenId);
  }

  /** Append one token per row; returns each row's next-token logits. */
  async step(next: number[], padTokenId: number): Promise<Float32Array[]> {
    if (next.length !== this.tokens.length) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `step got ${next.length} tokens for ${this.tokens.length} rows`);
    next.forEach((t, i) => this.tokens[i]!.push(t));
    if (this.slots) return this.fromSlots(next.map((t) => [t]), next.map(() => [1]));
    if (!this.useCache) return this.forward(padTokenId);
    for (const row of this.mask) row.push(1);
    return this.run({ ids: next.map((t) => [t]), attentionMask: this.mask, past: this.past });
  }

  /** Free the cache (on a GPU its buffers); the decoder is done. */
  release(): void {
    releaseResident(this.past);
    this.past = undefined;
    this.slots?.release();
    this.slots = undefined;
  }

  /** log sum exp of a row's last logits, when the decoding session computed it. */
  logSumExpOf(row: number): number | undefined {
    return this.logSumExp?.[row];
  }

  /** The row's greedy next token: the graph's argmax when the step fetched no logits, else the first maximum of its logits. */
  greedyToken(row: number): number {
    return this.best ? Number(this.best.argmax[row]) : SAMPLERS.greedy(this.rows[row]!);
  }

  /** log softmax(row's last logits)[token]: from the graph's log sum exp when the decoding session gave one. */
  logProbOf(row: number, token: number): number {
    if (this.best) {
      if (token !== Number(this.best.argmax[row])) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `row ${row}: a greedy-only decoder knows the log-prob of its argmax ${this.best.argmax[row]}, not of token ${token}`);
      return this.best.max[row]! - this.logSumExp![row]!;
    }
    const logits = this.rows[row]!;
    return this.logSumExp ? logits[token]! - this.logSumExp[row]! : logProbOf(logits, token);
  }

  private async fromSlots(ids: number[][], mask: number[][]): Promise<Float32Array[]> {
    const out = await this.slots!.run(ids, mask, this.greedyOnly ? [LAST_LOGSUMEXP, LAST_MAX, LAST_ARGMAX] : undefined);
    const logits = this.greedyOnly ? undefined : (out[LAST_LOGITS]!.data as Float32Array);
    this.logSumExp = out[LAST_LOGSUMEXP]!.data as Float32Array;
    this.best = logits ? undefined : { max: out[LAST_MAX]!.data as Float32Array, argmax: out[LAST_ARGMAX]!.data as BigInt64Array };
    const vocab = logits ? logits.length / ids.length : 0;
    this.rows = logits ? ids.map((_, b) => logits.subarray(b * vocab, (b + 1) * vocab)) : [];
    return this.rows;
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
    this.logSumExp = undefined;
    this.rows = Array.from({ length: batch }, (_, b) => data.subarray((b * len + len - 1) * vocab, (b * len + len) * vocab));
    return this.rows;
  }
}
