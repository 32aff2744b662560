// A causal language model from a Hugging Face directory: batched, right-padded forwards and the
// per-token log-probs of a response given its prompt. Graphs exported with a KV cache (optimum's
// with-past and merged decoders) get zero-length pasts, so one graph serves scoring and decoding.

import { fail } from '../errors.js';
import { Session, type Feed, type SessionOptions, type Tensor } from '../graph/index.js';
import type { MergedOutputs } from '../graph/rewrites/merged-decode.js';
import { padRight, positionsFromMask } from './batch.js';
import { DecodingSession, GuidedDecodingSession } from './decoding-session.js';
import { encodeForCausalLM } from './encode.js';
import { emptyPast, feedsFor, type KvLayout } from './feeds.js';
import { gatherLogProbs } from './logprobs.js';
import { loadModelDir, type ModelDir } from './model-dir.js';
import type { PromptResponse } from './types.js';

export interface LoadOptions {
  session?: SessionOptions;
}

export interface ResponseLogProbsOptions {
  /** Longest prompt + response in tokens (default: the model's maxLength). */
  maxLength?: number;
  /** Cut the prompt's start (and the response's end if needed) instead of throwing ALIGNKIT_ERR_TOO_LONG. */
  truncate?: boolean;
  /** Append EOS to each response unless it already ends with it, as TRL's DPO does (default true). */
  appendEos?: boolean;
}

/** One forward of a decoding loop over the KV cache. */
export interface StepInputs {
  /** New tokens, the same count per row: [B, T]. */
  ids: number[][];
  /** Mask over past + new positions: [B, past + T] (0 marks left padding). */
  attentionMask: number[][];
  /** [B, T]; default transformers' rule, cumsum(attention_mask) - 1 over the new positions. */
  positionIds?: number[][];
  /** past_key_values.* feeds from the previous step; default a zero-length past. */
  past?: Record<string, Feed>;
}

export interface StepOutput {
  logits: Tensor; // [B, T, V]
  /**
   * The present.* outputs renamed past_key_values.*, ready to feed to the next step. On a GPU they
   * stay there (releaseResident frees them); on the CPU they are tensors.
   */
  past: Record<string, Feed>;
}

export interface ResponseLogProbs {
  /** Response token ids per item (after any truncation and the appended EOS). */
  tokens: number[][];
  /** log p(token | everything before it) per response token. */
  logprobs: Float32Array[];
  /** Sum of each item's response log-probs (float64). */
  sum: Float64Array;
}

function required(value: number | undefined, what: string, model: ModelDir): number {
  if (value === undefined) throw fail('ALIGNKIT_ERR_MODEL_DIR', `${model.dir}/config.json gives no ${what}`, { file: `${model.dir}/config.json`, field: what });
  return value;
}

/**
 * Batched forwards use right padding (pads after the real tokens, masked out, positions 0..n-1 as
 * transformers assigns them), so a row's values do not depend on its batch-mates.
 */
export class CausalLM {
  readonly numLayers: number;
  /** Key/value heads per layer (num_key_value_heads under grouped-query attention). */
  readonly numHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  /** Longest sequence the model takes: min of the config's positions and the tokenizer's limit. */
  readonly maxLength: number;

  private decoding: Promise<DecodingSession | undefined> | undefined;
  /** Merged GenARM sessions by form and ARMs' files (one per set of ARMs this model has been guided by). */
  private readonly guided = new Map<string, Promise<GuidedDecodingSession | undefined>>();
  /** false when the session's graph need not be the directory's file (fromSession): no decoding graph is built from that file. */
  private fileGraph = true;

  private constructor(readonly dir: ModelDir, readonly session: Session, private readonly sessionOptions: SessionOptions = {}) {
    const a = dir.arch;
    this.numLayers = required(a.numLayers, 'number of layers', dir);
    this.numHeads = required(a.numKvHeads, 'number of attention heads', dir);
    this.headDim = required(a.headDim, 'head size', dir);
    this.vocabSize = required(a.vocabSize, 'vocab_size', dir);
    this.maxLength = Math.min(a.maxPositions ?? Infinity, dir.tokenizer.modelMaxLength);
    if (!Number.isFinite(this.maxLength)) throw fail('ALIGNKIT_ERR_MODEL_DIR', `${dir.dir} states no maximum length (max_position_embeddings or model_max_length)`, { file: dir.dir });
    if (!session.outputNames.includes('logits')) throw fail('ALIGNKIT_ERR_ONNX_MODEL', `${dir.onnxFile} has no output named logits`, { file: dir.onnxFile });
  }

  static async load(dir: string, opts: LoadOptions = {}): Promise<CausalLM> {
    const model = await loadModelDir(dir);
    // The KV cache stays on the session's device between decoding steps.
    const present = Array.from({ length: model.arch.numLayers ?? 0 }, (_, i) => [`present.${i}.key`, `present.${i}.value`]).flat();
    return new CausalLM(model, await Session.create(model.onnxFile, { ...opts.session, residentOutputs: present }), opts.session);
  }

  /**
   * The session decoding loops run on the CPU (see decoding-session.ts), created on first use with
   * this model's session options; undefined when the graph lacks the with-past layout, and on a GPU,
   * where the plain step keeps the cache resident on the device instead.
   */
  decodingSession(): Promise<DecodingSession | undefined> {
    if (this.sessionOptions.provider === 'webgpu') return Promise.resolve(undefined);
    this.decoding ??= DecodingSession.create(this.dir.onnxFile, this.kvLayout, this.sessionOptions);
    return this.decoding;
  }

  /**
   * One session computing this model and the given ARMs together, with GenARM's guided scores or
   * greedy token (`form`; see decoding-session.ts), created on first use per set of ARMs and form with
   * this model's session options;
   * undefined where any of them has no decoding session (a GPU provider, a graph without the with-past
   * layout, a live policy's weights) or the graphs cannot be merged.
   */
  guidedDecodingSession(arms: readonly unknown[], form: MergedOutputs): Promise<GuidedDecodingSession | undefined> {
    const models = arms.filter((a): a is CausalLM => a instanceof CausalLM && a.fileGraph);
    if (models.length !== arms.length || !this.fileGraph || this.sessionOptions.provider === 'webgpu') return Promise.resolve(undefined);
    const key = [form, ...models.map((m) => m.dir.onnxFile)].join('\n');
    let made = this.guided.get(key);
    if (!made) {
      const source = (m: CausalLM) => ({ onnxFile: m.dir.onnxFile, layout: m.kvLayout });
      made = GuidedDecodingSession.create(source(this), models.map(source), form, this.sessionOptions);
      this.guided.set(key, made);
    }
    return made;
  }

  /** A causal LM over a session the caller built (e.g. one whose weights are fed at run time: src/generate/live-policy.ts). */
  static fromSession(dir: ModelDir, session: Session): CausalLM {
    // The session's graph need not be the directory's file (a live policy's current weights), so no
    // decoding session is built from that file: decoding runs the session's own step.
    const lm = new CausalLM(dir, session);
    lm.decoding = Promise.resolve(undefined);
    lm.fileGraph = false;
    return lm;
  }

  get kvLayout(): KvLayout {
    return { numLayers: this.numLayers, numKvHeads: this.numHeads, headDim: this.headDim };
  }

  get tokenizer() {
    return this.dir.tokenizer;
  }

  /** Zero-length past_key_values feeds for a batch (what a first decoding step starts from). */
  emptyPast(batchSize: number): Record<string, Tensor> {
    return emptyPast(this.session, batchSize, this.kvLayout);
  }

  /** Next-token logits [B, T, V] of a right-padded batch; rows shorter than T are padded and masked. */
  async logits(ids: number[][], opts: { maxLength?: number } = {}): Promise<Tensor> {
    const limit = Math.min(opts.maxLength ?? this.maxLength, this.maxLength);
    const batch = padRight(ids, this.dir.tokenizer.padTokenId);
    const longest = batch.lengths.indexOf(batch.length);
    if (batch.length > limit) throw fail('ALIGNKIT_ERR_TOO_LONG', `row ${longest} has ${batch.length} tokens, more than the limit of ${limit} of ${this.dir.name}`, { row: longest, tokens: batch.length, limit });
    const out = await this.session.run(feedsFor(this.session, batch, this.kvLayout, this.dir.onnxFile), ['logits']);
    return out.logits!;
  }

  /** One cached forward: new tokens given the past, returning logits and the grown cache. */
  async step(inputs: StepInputs): Promise<StepOutput> {
    const B = inputs.ids.length;
    const T = inputs.ids[0]?.length ?? 0;
    if (B === 0 || T === 0 || inputs.ids.some((r) => r.length !== T))
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `step ids must be a non-empty [B, T] block, got rows of lengths ${inputs.ids.map((r) => r.length)}`, { field: 'ids' });
    const S = inputs.attentionMask[0]?.length ?? 0;
    if (inputs.attentionMask.length !== B || S < T || inputs.attentionMask.some((r) => r.length !== S))
      throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `attentionMask must be [${B}, past + ${T}]`, { field: 'attentionMask' });
    const positions = inputs.positionIds ?? inputs.attentionMask.map((m) => positionsFromMask(m).slice(S - T));
    const i64 = (rows: number[][], width: number): Tensor => ({ dtype: 'int64', dims: [rows.length, width], data: BigInt64Array.from(rows.flat(), (v) => BigInt(v)) });
    const past = inputs.past ?? this.emptyPast(B);
    const feeds: Record<string, Feed> = { input_ids: i64(inputs.ids, T), attention_mask: i64(inputs.attentionMask, S), ...past };
    if (this.session.inputNames.includes('position_ids')) feeds.position_ids = i64(positions, T);
    if (this.session.inputNames.includes('use_cache_branch')) feeds.use_cache_branch = { dtype: 'bool', dims: [1], data: new Uint8Array([S > T ? 1 : 0]) };
    const { outputs, resident } = await this.session.runKeeping(feeds);
    const next: Record<string, Feed> = {};
    for (const [name, t] of Object.entries({ ...outputs, ...resident })) if (name.startsWith('present.')) next[`past_key_values.${name.slice('present.'.length)}`] = t;
    return { logits: outputs.logits!, past: next };
  }

  /** Per-token log-probs of each response given its prompt, all items in one session run. */
  async responseLogProbs(items: PromptResponse[], opts: ResponseLogProbsOptions = {}): Promise<ResponseLogProbs> {
    const maxLength = Math.min(opts.maxLength ?? this.maxLength, this.maxLength);
    const encoded = items.map((item, i) => encodeForCausalLM(this.dir.tokenizer, item, i, { maxLength, truncate: opts.truncate ?? false, appendEos: opts.appendEos ?? true }));
    const rows = encoded.map((e) => [...e.prompt, ...e.response]);
    const logits = await this.logits(rows, { maxLength });
    const logprobs = encoded.map((e, b) => gatherLogProbs(logits, b, rows[b]!, e.prompt.length));
    const sum = Float64Array.from(logprobs, (lp) => lp.reduce((s, x) => s + x, 0));
    return { tokens: encoded.map((e) => e.response), logprobs, sum };
  }
}
