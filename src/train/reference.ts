// Reference log-probs (the frozen policy of DPO and its relatives): a forward-only session of the
// model with the log-prob head, so only [B, T] leaves the runtime. Built once; a later issue caches
// its results by content hash of model and data.

import { loadModel, Session, type Model, type SessionOptions } from '../graph/index.js';
import { addTokenLogProbHead, stripKvCache } from '../graph/rewrites/index.js';
import { tokenFeeds, type TokenBatch } from './feeds.js';

export class ReferenceLogProbs {
  private constructor(
    private readonly model: Model,
    private readonly session: Session,
  ) {}

  static async create(model: string | Model, opts: { logits?: string; session?: SessionOptions } = {}): Promise<ReferenceLogProbs> {
    const source = typeof model === 'string' ? loadModel(model) : model;
    const head = addTokenLogProbHead(stripKvCache(source).model, { logits: opts.logits }).model;
    return new ReferenceLogProbs(head, await Session.create(head, { allowSpinning: false, ...opts.session }));
  }

  /** [B, T] log p(ids[t] | ids[<t]), 0 at t = 0 (padding positions hold whatever the model gives: mask them). */
  async tokenLogprobs(batch: TokenBatch): Promise<Float32Array> {
    const out = await this.session.run(tokenFeeds(this.model, batch), ['token_logprobs']);
    return out.token_logprobs!.data as Float32Array;
  }

  /** Per-sequence sums of masked token log-probs, optionally only where `weights` is non-zero. */
  async sequenceLogprobs(batch: TokenBatch, weights?: ArrayLike<number>): Promise<Float64Array> {
    const lp = await this.tokenLogprobs(batch);
    const [B, T] = batch.dims;
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
