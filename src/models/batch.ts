// Right-padded batches of token ids as the int64 tensors Hugging Face exports take.

import { fail } from '../errors.js';
import type { Tensor } from '../graph/index.js';

export interface PaddedBatch {
  batchSize: number;
  /** Padded length T (the longest row). */
  length: number;
  /** Real tokens per row. */
  lengths: number[];
  inputIds: Tensor; // [B, T]
  attentionMask: Tensor; // [B, T], 1 on real tokens
  /** transformers' rule: cumsum(attention_mask) - 1, pads set to 1 (so right padding gives 0..n-1). */
  positionIds: Tensor; // [B, T]
  tokenTypeIds: Tensor; // [B, T], 0 unless given
}

const int64 = (data: BigInt64Array, dims: number[]): Tensor => ({ dtype: 'int64', dims, data });

export function padRight(rows: number[][], padId: number, typeIds?: number[][]): PaddedBatch {
  if (rows.length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'a batch needs at least one row', { field: 'ids' });
  rows.forEach((r, i) => {
    if (r.length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `row ${i} has no tokens`, { row: i, field: 'ids' });
  });
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(B * T).fill(BigInt(padId));
  const mask = new BigInt64Array(B * T);
  const pos = new BigInt64Array(B * T).fill(1n);
  const types = new BigInt64Array(B * T);
  rows.forEach((r, b) => {
    r.forEach((id, t) => {
      ids[b * T + t] = BigInt(id);
      mask[b * T + t] = 1n;
      pos[b * T + t] = BigInt(t);
      types[b * T + t] = BigInt(typeIds?.[b]?.[t] ?? 0);
    });
  });
  return {
    batchSize: B,
    length: T,
    lengths: rows.map((r) => r.length),
    inputIds: int64(ids, [B, T]),
    attentionMask: int64(mask, [B, T]),
    positionIds: int64(pos, [B, T]),
    tokenTypeIds: int64(types, [B, T]),
  };
}

/** transformers' create_position_ids: cumsum(mask) - 1, with masked positions set to 1. */
export function positionsFromMask(mask: readonly number[]): number[] {
  let seen = 0;
  return mask.map((m) => (m ? seen++ : 1));
}
