// A tiny causal LM built with GraphBuilder, for splicing losses after a real forward graph:
// embedding -> causal mean over the prefix (a constant lower-triangular [T,T] matrix) -> tanh ->
// linear head -> log-softmax -> log-prob of each target token. A frozen copy of the weights is the
// reference model inside the same graph (per-token reference log-probs and KL(ref || policy)).

import { GraphBuilder, type Model, type Tensor, type Value } from '../../src/graph/index.js';
import { seededRandom, normalSample } from '../../src/graph/autodiff/index.js';

export const LM = { V: 7, D: 5, T: 4, B: 2 } as const;

export interface LmOutputs {
  tokenLogps: Value; // [B,T]
  logp: Value; // [B,T,V]
  hidden: Value; // [B,T,D]
}

function randomTensor(rand: () => number, dims: number[], scale: number): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return { dtype: 'float32', dims, data: Float32Array.from({ length: n }, () => scale * normalSample(rand)) };
}

/** Creates `${prefix}.emb`, `${prefix}.head`, `${prefix}.bias` initializers (seeded). */
export function lmParams(g: GraphBuilder, prefix: string, seed: number): string[] {
  const rand = seededRandom(seed);
  g.initializer(`${prefix}.emb`, randomTensor(rand, [LM.V, LM.D], 0.8));
  g.initializer(`${prefix}.head`, randomTensor(rand, [LM.D, LM.V], 0.8));
  g.initializer(`${prefix}.bias`, randomTensor(rand, [LM.V], 0.1));
  return [`${prefix}.emb`, `${prefix}.head`, `${prefix}.bias`];
}

export function lmForward(g: GraphBuilder, prefix: string, ids: Value, targets: Value): LmOutputs {
  const causal = new Float32Array(LM.T * LM.T);
  for (let i = 0; i < LM.T; i++) for (let j = 0; j <= i; j++) causal[i * LM.T + j] = 1 / (i + 1);
  const x = g.gather(`${prefix}.emb`, ids, 0); // [B,T,D]
  const hidden = g.tanh(g.matMul(g.constant(causal, [LM.T, LM.T]), x)); // [B,T,D]
  const logits = g.add(g.matMul(hidden, `${prefix}.head`), `${prefix}.bias`); // [B,T,V]
  const logp = g.logSoftmax(logits, -1);
  const tokenLogps = g.squeeze(g.gatherElements(logp, g.unsqueeze(targets, [2]), 2), [2]); // [B,T]
  return { tokenLogps, logp, hidden };
}

/** Per-position KL(ref || policy) of the next-token distributions: [B,T]. */
export function tokenKl(g: GraphBuilder, refLogp: Value, logp: Value): Value {
  return g.reduceSum(g.mul(g.exp(refLogp), g.sub(refLogp, logp)), [2], false);
}

export const ids = (rows: number[][]): Tensor => ({ dtype: 'int64', dims: [rows.length, rows[0]!.length], data: BigInt64Array.from(rows.flat().map(BigInt)) });
export const floats = (rows: number[][]): Tensor => ({ dtype: 'float32', dims: [rows.length, rows[0]!.length], data: Float32Array.from(rows.flat()) });

/** A fixed paired batch: prompt-free token ids, next-token targets and response masks. */
export const BATCH = {
  chosen_ids: ids([[1, 2, 3, 4], [2, 5, 6, 0]]),
  chosen_targets: ids([[2, 3, 4, 5], [5, 6, 1, 0]]),
  chosen_mask: floats([[1, 1, 1, 1], [1, 1, 1, 0]]),
  rejected_ids: ids([[1, 6, 6, 2], [2, 3, 0, 0]]),
  rejected_targets: ids([[6, 6, 2, 0], [3, 1, 0, 0]]),
  rejected_mask: floats([[1, 1, 1, 0], [1, 1, 0, 0]]),
};

export type { Model };
