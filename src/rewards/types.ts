// The contract every reward model in alignkit meets: a batched `score` from prompt/response items
// to one raw score per head. Ensembles, the scoring server and best-of-n all speak only this.

import type { Message, PromptResponse, Text } from '../models/index.js';

/** A text is a plain string or a list of chat messages (the models' own Text). */
export type { Message, Text };

export type ScoreItem = PromptResponse;

export interface ScoreOptions {
  /**
   * Cut inputs longer than the model's maximum length instead of failing. Off by default, as in
   * text-embeddings-inference: a silently truncated response can hide the part a reward depends on.
   */
  truncate?: boolean;
}

export interface RewardModel {
  readonly name: string;
  /** One name per output of the model's head (`id2label`), e.g. `['score']` or `['helpfulness', 'safety']`. */
  readonly heads: string[];
  /** Longest input in tokens the model accepts. */
  readonly maxLength: number;
  /**
   * Raw scores (never softmaxed), one `Float32Array` of `heads.length` values per item, in item
   * order, from one batched run.
   */
  score(items: ScoreItem[], opts?: ScoreOptions): Promise<Float32Array[]>;
}
