// Input tensors for a causal LM or classifier from plain arrays: int64 ids and mask, and
// position_ids when the graph takes them, computed as transformers does for a padded batch
// (cumsum(mask) - 1, and 1 where the mask is 0), and zero token_type_ids for BERT-style encoders.

import { fail } from '../errors.js';
import type { Model, Tensor } from '../graph/index.js';

export type IdArray = ArrayLike<number> | BigInt64Array;

export interface TokenBatch {
  /** [B, T] token ids, row-major. */
  inputIds: IdArray;
  /** [B, T] 1 for real tokens, 0 for padding (default all ones). */
  attentionMask?: IdArray;
  /** [B, T] segment ids for BERT-style encoders (default zeros, as transformers does). */
  tokenTypeIds?: IdArray;
  dims: [number, number];
}

function toInt64(a: IdArray, n: number, field: string): BigInt64Array {
  if (a.length !== n) throw fail('ALIGNKIT_ERR_TENSOR', `${field} has ${a.length} values, dims need ${n}`, { field });
  if (a instanceof BigInt64Array) return a;
  const out = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const v = a[i]!;
    if (!Number.isInteger(v)) throw fail('ALIGNKIT_ERR_TENSOR', `${field}[${i}] = ${v} is not an integer`, { field, index: i });
    out[i] = BigInt(v);
  }
  return out;
}

export function positionIds(mask: BigInt64Array, [B, T]: [number, number]): BigInt64Array {
  const out = new BigInt64Array(B * T);
  for (let b = 0; b < B; b++) {
    let c = -1n;
    for (let t = 0; t < T; t++) {
      const m = mask[b * T + t]!;
      c += m;
      out[b * T + t] = m === 0n ? 1n : c;
    }
  }
  return out;
}

/** Feeds for the model's token inputs (input_ids; attention_mask, token_type_ids, position_ids when it reads them). */
export function tokenFeeds(model: Model, batch: TokenBatch): Record<string, Tensor> {
  const [B, T] = batch.dims;
  const ids = toInt64(batch.inputIds, B * T, 'inputIds');
  const mask = batch.attentionMask ? toInt64(batch.attentionMask, B * T, 'attentionMask') : new BigInt64Array(B * T).fill(1n);
  const names = new Set(model.graph.inputs.map((v) => v.name));
  const feeds: Record<string, Tensor> = { input_ids: { dtype: 'int64', dims: [B, T], data: ids } };
  if (names.has('attention_mask')) feeds.attention_mask = { dtype: 'int64', dims: [B, T], data: mask };
  if (names.has('token_type_ids'))
    feeds.token_type_ids = { dtype: 'int64', dims: [B, T], data: batch.tokenTypeIds ? toInt64(batch.tokenTypeIds, B * T, 'tokenTypeIds') : new BigInt64Array(B * T) };
  if (names.has('position_ids')) feeds.position_ids = { dtype: 'int64', dims: [B, T], data: positionIds(mask, [B, T]) };
  return feeds;
}

/**
 * `feeds` with position_ids derived from attention_mask (as transformers does) when the model reads
 * them and the batch does not give them (optimum's decoders take position_ids).
 */
export function withPositionIds<F>(feeds: Record<string, F | Tensor>, readsPositionIds: boolean): Record<string, F | Tensor> {
  if (!readsPositionIds || feeds.position_ids || !feeds.attention_mask) return feeds;
  const mask = feeds.attention_mask as Tensor;
  return { ...feeds, position_ids: { dtype: 'int64', dims: mask.dims, data: positionIds(mask.data as BigInt64Array, mask.dims as [number, number]) } };
}
