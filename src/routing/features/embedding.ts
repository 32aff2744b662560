// The optional embedding hook for `cosine_sim`: a sentence-embedding ONNX model the user provides
// (the paper uses sentence-transformers all-distilroberta-v1). Token ids come from the user's
// tokenizer; the model's output is mean-pooled over the attention mask when it is per token
// [B, T, H], as sentence-transformers' mean pooling does, or used as is when it is [B, H].

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

export async function createOnnxEmbedder(partial: Partial<OnnxEmbedderConfig> & Pick<OnnxEmbedderConfig, 'model' | 'tokenize'>): Promise<(texts: string[]) => Promise<Float32Array[]>> {
  const config = { ...DEFAULT_ONNX_EMBEDDER, ...partial };
  if (!(config.maxLength >= 1 && config.batchSize >= 1)) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `embedder maxLength and batchSize must be >= 1`, { parameter: 'maxLength' });
  const session = config.model instanceof Session ? config.model : await Session.create(config.model);
  return async (texts) => {
    const out: Float32Array[] = [];
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
        const h = result.dims[1];
        for (let i = 0; i < b; i++) out.push(Float32Array.from(data.subarray(i * h, (i + 1) * h)));
      } else if (result.dims.length === 3) {
        const [, steps, h] = result.dims; // [B, T, H]
        for (let i = 0; i < b; i++) {
          const v = new Float32Array(h);
          let count = 0;
          for (let j = 0; j < steps; j++) {
            if (j >= batch[i].length) continue;
            count++;
            for (let k = 0; k < h; k++) v[k] += data[(i * steps + j) * h + k];
          }
          for (let k = 0; k < h; k++) v[k] /= Math.max(count, 1);
          out.push(v);
        }
      } else {
        throw fail('ALIGNKIT_ERR_TENSOR', `embedding output '${config.output}' has dims [${result.dims}], want [B, H] or [B, T, H]`, { field: 'output' });
      }
    }
    return out;
  };
}
