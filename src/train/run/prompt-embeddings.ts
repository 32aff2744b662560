// Prompt embeddings for BCO's underlying-distribution matching. TRL's BCOTrainer takes an
// `embedding_func` and `embedding_tokenizer` from the user; its documented example embeds a prompt
// as `model(input_ids, attention_mask).last_hidden_state.mean(dim=1)` of an AutoModel. Here the
// embedding model is an ONNX graph run by onnxruntime: an embedder's `last_hidden_state` output when
// it has one, otherwise the final hidden states of the graph (the activation its output head reads,
// e.g. GPT-2's ln_f output before the tied lm_head), mean-pooled over the real tokens only (TRL's
// plain mean(dim=1) would also average the padding of a batch, which makes a prompt's embedding
// depend on its batch-mates; sentence-transformers' mean pooling masks it, as we do).

import { fail } from '../../errors.js';
import { loadModel, Session, type Model, type SessionOptions } from '../../graph/index.js';
import { finalHiddenState, stripKvCache } from '../../graph/rewrites/index.js';
import { tokenFeeds } from '../feeds.js';

/** The output an embedding model exports per token (transformers.js / optimum feature-extraction). */
export const HIDDEN_STATE_OUTPUT = 'last_hidden_state';

/**
 * The value holding the model's final hidden states: the `last_hidden_state` output, or the
 * activation input of the head projection found by walking back from the first output.
 */
export function embeddingOutput(model: Model): string {
  if (model.graph.outputs.some((o) => o.name === HIDDEN_STATE_OUTPUT)) return HIDDEN_STATE_OUTPUT;
  const first = model.graph.outputs[0]?.name;
  if (!first) throw fail('ALIGNKIT_ERR_ONNX_MODEL', `graph ${model.graph.name} has no outputs to find its final hidden states from`, { field: HIDDEN_STATE_OUTPUT });
  return finalHiddenState(model, first).value;
}

export interface PromptEmbedderOptions {
  session?: SessionOptions;
  /** Rows per session run. */
  chunk?: number;
}

/** Mean-pooled final hidden states of token-id rows under one ONNX model. */
export class PromptEmbedder {
  private constructor(
    private readonly model: Model,
    private readonly session: Session,
    readonly output: string,
    private readonly chunk: number,
  ) {}

  static async create(source: string | Model, opts: PromptEmbedderOptions = {}): Promise<PromptEmbedder> {
    const loaded = typeof source === 'string' ? loadModel(source) : source;
    const output = embeddingOutput(loaded);
    const model = stripKvCache(loaded).model;
    if (!model.graph.outputs.some((o) => o.name === output)) model.graph.outputs.push({ name: output, dtype: 'float32' });
    const session = await Session.create(model, { allowSpinning: 'during-run', ...opts.session });
    return new PromptEmbedder(model, session, output, opts.chunk ?? 16);
  }

  /** One vector per row: the mean over the row's tokens of [B, T, H] states, or a pooled [B, H] output as is. */
  async embed(rows: readonly number[][], padId: number): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let start = 0; start < rows.length; start += this.chunk) {
      const batch = rows.slice(start, start + this.chunk);
      const B = batch.length;
      const T = Math.max(1, ...batch.map((r) => r.length));
      const ids = new Array<number>(B * T).fill(padId);
      const mask = new Array<number>(B * T).fill(0);
      batch.forEach((r, b) => r.forEach((id, t) => {
        ids[b * T + t] = id;
        mask[b * T + t] = 1;
      }));
      const result = (await this.session.run(tokenFeeds(this.model, { inputIds: ids, attentionMask: mask, dims: [B, T] }), [this.output]))[this.output]!;
      const data = result.data as Float32Array;
      if (result.dims.length === 2) {
        const H = result.dims[1]!; // [B, H]
        for (let b = 0; b < B; b++) out.push(Float32Array.from(data.subarray(b * H, (b + 1) * H)));
      } else if (result.dims.length === 3) {
        const H = result.dims[2]!; // [B, T, H]
        batch.forEach((r, b) => {
          const mean = new Float32Array(H);
          for (let t = 0; t < r.length; t++) for (let h = 0; h < H; h++) mean[h] += data[(b * T + t) * H + h]!;
          for (let h = 0; h < H; h++) mean[h] /= Math.max(r.length, 1);
          out.push(mean);
        });
      } else throw fail('ALIGNKIT_ERR_TENSOR', `hidden states ${this.output} have dims [${result.dims}], want [B, T, H] or [B, H]`, { field: this.output });
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
