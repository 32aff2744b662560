// Reference log-probs (the frozen policy of DPO and its relatives): a forward-only session of the
// model with the log-prob head, so only [B, T] leaves the runtime. Built once; a later issue caches
// its results by content hash of model and data. Weighted sums skip the logits of the positions
// before the batch's first weighted token (the head's `from` input; 0 computes every position).

import { loadModel, Session, type Model, type SessionOptions } from '../graph/index.js';
import { addTokenLogProbHead, LOGITS_FROM, stripKvCache } from '../graph/rewrites/index.js';
import { tokenFeeds, type TokenBatch } from './feeds.js';

/** The first position t >= 1 whose weight is non-zero in some row (T when none is). */
function firstWeighted(weights: ArrayLike<number>, B: number, T: number): number {
  let first = T;
  for (let b = 0; b < B; b++)
    for (let t = 1; t < first; t++)
      if (weights[b * T + t] !== 0) {
        first = t;
        break;
      }
  return first;
}

export class ReferenceLogProbs {
  private constructor(
    private readonly model: Model,
    private readonly session: Session,
  ) {}

  static async create(model: string | Model, opts: { logits?: string; session?: SessionOptions } = {}): Promise<ReferenceLogProbs> {
    const source = typeof model === 'string' ? loadModel(model) : model;
    const head = addTokenLogProbHead(stripKvCache(source).model, { logits: opts.logits, from: LOGITS_FROM }).model;
    return new ReferenceLogProbs(head, await Session.create(head, { allowSpinning: 'during-run', ...opts.session }));
  }

  /**
   * [B, T] log p(ids[t] | ids[<t]), 0 at t = 0 (padding positions hold whatever the model gives: mask
   * them). With `from`, only positions t > from are computed and the others are 0.
   */
  async tokenLogprobs(batch: TokenBatch, from = 0): Promise<Float32Array> {
    const feeds = { ...tokenFeeds(this.model, batch), [LOGITS_FROM]: { dtype: 'int64' as const, dims: [1], data: BigInt64Array.of(BigInt(from)) } };
    const out = await this.session.run(feeds, ['token_logprobs']);
    return out.token_logprobs!.data as Float32Array;
  }

  /** Per-sequence sums of masked token log-probs, optionally only where `weights` is non-zero. */
  async sequenceLogprobs(batch: TokenBatch, weights?: ArrayLike<number>): Promise<Float64Array> {
    const [B, T] = batch.dims;
    const lp = await this.tokenLogprobs(batch, weights ? firstWeighted(weights, B, T) - 1 : 0);
    const out = new Float64Array(B);
    for (let b = 0; b < B; b++)
      for (let t = 1; t < T; t++) {
        const i = b * T + t;
        const m = batch.attentionMask ? Number(batch.attentionMask[i]) : 1;
        out[b]! += lp[i]! * m * (weights ? weights[i]! : 1);
      }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
