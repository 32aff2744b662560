// One micro-batch as feeds: the row groups' rows right-padded into one [G*B, T] id matrix (T the
// longest row of the batch), each group's [B, T] response mask, its cached reference sums, the
// data inputs the loss reads, and the carried loss state.

import type { Feed, Model } from '../../graph/index.js';
import type { ConfiguredLoss, LossInputSpec } from '../../losses/index.js';
import { tokenFeeds } from '../feeds.js';
import { LOGITS_FROM } from './graph.js';
import { DATA_INPUTS, type RowGroup, type RunItem } from './segments.js';

export interface BatchContext {
  forward: Model;
  items: readonly RunItem[];
  groups: readonly RowGroup[];
  loss: ConfiguredLoss;
  /** The loss inputs the batch must feed (spliceLoss's created inputs). */
  fed: readonly LossInputSpec[];
  /** Reference input -> summed reference log-prob per item (index into `items`). */
  reference: ReadonlyMap<string, Float64Array>;
  padId: number;
}

export interface Batch {
  feeds: Record<string, Feed>;
  /** Real (unpadded) tokens in the batch. */
  tokens: number;
}

const f32 = (dims: number[], data: Float32Array): Feed => ({ dtype: 'float32', dims, data });

export function buildBatch(ctx: BatchContext, indices: readonly number[], state: Record<string, number>): Batch {
  const B = indices.length;
  const rows = ctx.groups.flatMap((g) => indices.map((i) => g.row(ctx.items, i)));
  const T = Math.max(...rows.map((r) => r.prompt.length + r.response.length));
  const ids = new BigInt64Array(rows.length * T).fill(BigInt(ctx.padId));
  const mask = new BigInt64Array(rows.length * T);
  // Segment ids of a pair encoder (BERT's token_type_ids): 0 on the prompt, 1 on the response, as the
  // tokenizer's pair template gives them when the reward model scores (pair-template.ts).
  const types = new BigInt64Array(rows.length * T);
  let tokens = 0;
  rows.forEach((r, n) => {
    [...r.prompt, ...r.response].forEach((id, t) => {
      ids[n * T + t] = BigInt(id);
      mask[n * T + t] = 1n;
      if (t >= r.prompt.length) types[n * T + t] = 1n;
    });
    tokens += r.prompt.length + r.response.length;
  });
  const feeds: Record<string, Feed> = tokenFeeds(ctx.forward, { inputIds: ids, attentionMask: mask, tokenTypeIds: types, dims: [rows.length, T] });
  const fed = new Set(ctx.fed.map((s) => s.name));
  // The first response token's log-prob is read from the logits at its prompt's last position.
  if (fed.has(LOGITS_FROM)) feeds[LOGITS_FROM] = { dtype: 'int64', dims: [1], data: BigInt64Array.of(BigInt(Math.max(0, Math.min(...rows.map((r) => r.prompt.length)) - 1))) };
  ctx.groups.forEach((g, gi) => {
    if (g.mask && fed.has(g.mask)) {
      const m = new Float32Array(B * T);
      for (let b = 0; b < B; b++) {
        const r = rows[gi * B + b]!;
        m.fill(1, b * T + r.prompt.length, b * T + r.prompt.length + r.response.length);
      }
      feeds[g.mask] = f32([B, T], m);
    }
    if (g.reference && fed.has(g.reference)) {
      const sums = ctx.reference.get(g.reference)!;
      feeds[g.reference] = f32([B], Float32Array.from(indices, (i) => sums[i]!));
    }
  });
  for (const spec of ctx.fed) {
    const data = DATA_INPUTS[spec.name];
    if (data) {
      const values = indices.flatMap((i) => data(ctx.items, i, ctx.loss));
      feeds[spec.name] = f32(spec.dims.length === 1 ? [B] : [B, values.length / B], Float32Array.from(values));
    } else if (spec.side === 'state') feeds[spec.name] = f32([], Float32Array.of(state[spec.name] ?? spec.initial ?? 0));
  }
  return { feeds, tokens };
}
