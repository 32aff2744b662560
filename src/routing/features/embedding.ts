// The optional model hooks for the two similarity scores the paper computes with models: a
// sentence-embedding ONNX model for `cosine_sim` (the paper uses sentence-transformers
// all-distilroberta-v1) and a token-embedding ONNX model for `bertscore` (BERTScore's greedy
// matching of contextual token embeddings). Token ids come from the user's tokenizer. For
// sentences, a per-token output [B, T, H] is mean-pooled over the real tokens, as
// sentence-transformers' mean pooling does, or a [B, H] output is used as is.

import { Session } from '../../graph/index.js';
import { fail } from '../../errors.js';

export interface OnnxEmbedderConfig {
  /** An ONNX file path, its bytes, or an open Session. */
  model: string | Uint8Array | Session;
  tokenize: (text: string) => number[];
  /** Truncate to this many tokens (all-distilroberta-v1 is used with max_seq_length = 200 in the paper). */
  maxLength: number;
  inputIds: string;
  /** Attention-mask input name, or null when the model has none. */
  attentionMask: string | null;
  output: string;
  batchSize: number;
}

export const DEFAULT_ONNX_EMBEDDER: Omit<OnnxEmbedderConfig, 'model' | 'tokenize'> = {
  maxLength: 200,
  inputIds: 'input_ids',
  attentionMask: 'attention_mask',
  output: 'last_hidden_state',
  batchSize: 32,
};

/** Per-token output vectors of each text ([T][H]), `batchSize` texts per session run. */
export async function createOnnxTokenEmbedder(partial: Partial<OnnxEmbedderConfig> & Pick<OnnxEmbedderConfig, 'model' | 'tokenize'>): Promise<(texts: string[]) => Promise<Float32Array[][]>> {
  const config = { ...DEFAULT_ONNX_EMBEDDER, ...partial };
  if (!(config.maxLength >= 1 && config.batchSize >= 1)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `embedder maxLength and batchSize must be >= 1`, { parameter: 'maxLength' });
  const session = config.model instanceof Session ? config.model : await Session.create(config.model);
  return async (texts) => {
    const out: Float32Array[][] = [];
    for (let start = 0; start < texts.length; start += config.batchSize) {
      const batch = texts.slice(start, start + config.batchSize).map((t) => config.tokenize(t).slice(0, config.maxLength));
      const b = batch.length;
      const t = Math.max(1, ...batch.map((ids) => ids.length));
      const ids = new BigInt64Array(b * t);
      const mask = new BigInt64Array(b * t);
      batch.forEach((row, i) => row.forEach((id, j) => {
        ids[i * t + j] = BigInt(id);
        mask[i * t + j] = 1n;
      }));
      const feeds: Record<string, { dtype: 'int64'; dims: number[]; data: BigInt64Array }> = { [config.inputIds]: { dtype: 'int64', dims: [b, t], data: ids } };
      if (config.attentionMask) feeds[config.attentionMask] = { dtype: 'int64', dims: [b, t], data: mask };
      const result = (await session.run(feeds))[config.output];
      if (!result) throw fail('ALIGNKIT_ERR_SESSION', `embedding model has no output '${config.output}'`, { field: 'output' });
      const data = result.data as Float32Array;
      if (result.dims.length === 2) {
        // A pooled [B, H] output: one vector per text.
        const h = result.dims[1];
        for (let i = 0; i < b; i++) out.push([Float32Array.from(data.subarray(i * h, (i + 1) * h))]);
      } else if (result.dims.length === 3) {
        const [, steps, h] = result.dims; // [B, T, H]
        for (let i = 0; i < b; i++) out.push(batch[i].map((_, j) => Float32Array.from(data.subarray((i * steps + j) * h, (i * steps + j + 1) * h))));
      } else {
        throw fail('ALIGNKIT_ERR_TENSOR', `embedding output '${config.output}' has dims [${result.dims}], want [B, H] or [B, T, H]`, { field: 'output' });
      }
    }
    return out;
  };
}

/** Sentence embeddings: the mean of each text's token vectors. */
export async function createOnnxEmbedder(partial: Partial<OnnxEmbedderConfig> & Pick<OnnxEmbedderConfig, 'model' | 'tokenize'>): Promise<(texts: string[]) => Promise<Float32Array[]>> {
  const tokens = await createOnnxTokenEmbedder(partial);
  return async (texts) =>
    (await tokens(texts)).map((vectors) => {
      const h = vectors[0]?.length ?? 0;
      const mean = new Float32Array(h);
      for (const v of vectors) for (let k = 0; k < h; k++) mean[k] += v[k];
      for (let k = 0; k < h; k++) mean[k] /= Math.max(vectors.length, 1);
      return mean;
    });
}

export function cosine(x: Float32Array, y: Float32Array): number {
  let dot = 0;
  let nx = 0;
  let ny = 0;
  for (let i = 0; i < x.length; i++) {
    dot += x[i] * y[i];
    nx += x[i] * x[i];
    ny += y[i] * y[i];
  }
  return nx === 0 || ny === 0 ? 0 : dot / Math.sqrt(nx * ny);
}

/**
 * BERTScore F1 (Zhang et al. 2020, without idf weighting or baseline rescaling): recall is the mean
 * over reference tokens of their best cosine match in the candidate, precision the same the other
 * way, F1 their harmonic mean. 0 when either side has no tokens.
 */
export function bertScoreF1(candidate: readonly Float32Array[], reference: readonly Float32Array[]): number {
  if (candidate.length === 0 || reference.length === 0) return 0;
  const sims = candidate.map((c) => reference.map((r) => cosine(c, r)));
  const precision = sims.reduce((s, row) => s + Math.max(...row), 0) / candidate.length;
  const recall = reference.reduce((s, _, j) => s + Math.max(...sims.map((row) => row[j])), 0) / reference.length;
  return precision + recall <= 0 ? 0 : (2 * precision * recall) / (precision + recall);
}
