// Per-token log-probabilities from next-token logits: log_softmax(logits[b, t-1, :])[ids[t]], the
// quantity TRL's DPOTrainer gathers (get_batch_logps) and every preference loss sums.

import { fail } from '../errors.js';
import type { Tensor } from '../graph/index.js';

/** log-sum-exp of one vocabulary row, in float64 with the max subtracted. */
function logSumExp(data: ArrayLike<number>, offset: number, V: number): number {
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, data[offset + v]!);
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(data[offset + v]! - max);
  return max + Math.log(sum);
}

/**
 * Log-probs of `ids[start..]` in row `b` of `logits` [B, T, V]: token t is scored by the logits at
 * position t - 1. `start` must be at least 1 (the first token has nothing before it).
 */
export function gatherLogProbs(logits: Tensor, b: number, ids: readonly number[], start: number): Float32Array {
  const [, T, V] = logits.dims as [number, number, number];
  if (logits.dims.length !== 3 || logits.dtype !== 'float32') throw fail('ALIGNKIT_ERR_TENSOR', `logits are ${logits.dtype} [${logits.dims}], want float32 [B, T, V]`);
  if (start < 1 || ids.length > T) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `cannot score tokens ${start}..${ids.length} of a row of ${T} logits`);
  const data = logits.data as Float32Array;
  const out = new Float32Array(ids.length - start);
  for (let t = start; t < ids.length; t++) {
    const offset = (b * T + t - 1) * V;
    out[t - start] = data[offset + ids[t]!]! - logSumExp(data, offset, V);
  }
  return out;
}
