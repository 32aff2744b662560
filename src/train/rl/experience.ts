// One online iteration's experience: the sampled responses of a rollout batch and what the run's
// experience stages add to each (reference log-probs, KL penalty, value estimates, scores, dense
// rewards, advantages), then cut into the training graph's micro-batches. Per-token values are
// kept per response (one value per response token, no padding) and laid at the response's
// positions of the right-padded [B, T] batch, where the forward's token log-probs of the same
// tokens are (position prompt + j holds log p(response_j | prompt, response_<j)).

import { fail } from '../../errors.js';
import type { Feed, Tensor } from '../../graph/index.js';
import type { ScheduleSpec } from '../../optim/index.js';
import { RlInputs } from '../../losses/index.js';
import type { Trainer } from '../trainer.js';
import { buildBatch, type BatchContext } from '../run/batches.js';
import type { RunGraph } from '../run/graph.js';
import type { RunItem } from '../run/segments.js';

/** One sampled response and everything the stages attach to it. */
export interface Rollout {
  /** Index of its prompt in the run's items. */
  promptIndex: number;
  /** Prompt ids as decoded (the last maxPromptLength tokens). */
  prompt: number[];
  tokens: number[];
  text: string;
  /** Ended by EOS (true) or by the token limit. */
  ended: boolean;
  /** log pi_old per token, from sampling. */
  oldLogps: Float32Array;
  /** Entropy of the sampling distribution at every ENTROPY_STRIDE-th token (src/generate/rollout.ts). */
  entropy: number[];
  refLogps?: Float32Array;
  /** -klCoef * KL_t per token: the penalty folded into the reward. */
  klPenalty?: Float32Array;
  oldValues?: Float32Array;
  /** The reward's sequence score (after any missing-EOS penalty). */
  score?: number;
  /** RTO's per-token DPO reward. */
  dense?: Float32Array;
  tokenAdvantages?: Float32Array;
  returns?: Float32Array;
  sequenceAdvantage?: number;
}

export interface Experience {
  iteration: number;
  /** Held-out evaluation: the stages measure, advantage stages have nothing to do. */
  evaluation: boolean;
  /** Consecutive groups of samplesPerPrompt responses to one prompt. */
  rows: Rollout[];
  samplesPerPrompt: number;
  /** Logged with the iteration (or, prefixed eval/, with the evaluation). */
  metrics: Record<string, number>;
}

/** What an experience stage gets to work with: the run's live trainer and graph, and its learning-rate schedule (for a stage that steps an optimizer of its own). */
export interface LiveRun {
  trainer: Trainer;
  graph: RunGraph;
  schedule: ScheduleSpec;
}

/** A run stage's per-iteration work, created once per run (sessions, models) by RunStage.experience. */
export interface ExperienceStep {
  run(exp: Experience): Promise<void>;
  /**
   * After the iteration's update, with its step-averaged metrics and its experience (adaptive KL
   * reads the KL); a stage that trains a model of its own on the batch (a separate critic) does it
   * here and adds its metrics to `metrics`.
   */
  after?(exp: Experience, metrics: Record<string, number>): void | Promise<void>;
  /** JSON-serialisable state saved in checkpoints (the KL coefficient). */
  state?(): unknown;
  restore?(s: unknown): void;
  /** Tensors saved in checkpoints (a separate critic's parameters and optimizer state). */
  tensors?(): Map<string, Tensor>;
  loadTensors?(t: Map<string, Tensor>): void;
  release?(): Promise<void>;
}

/** The response's rows of a value, by loss input name. */
const PER_TOKEN: Record<string, (r: Rollout) => ArrayLike<number> | undefined> = {
  [RlInputs.oldLogps]: (r) => r.oldLogps,
  [RlInputs.refLogps]: (r) => r.refLogps,
  [RlInputs.tokenAdvantages]: (r) => r.tokenAdvantages,
  [RlInputs.returns]: (r) => r.returns,
  [RlInputs.oldValues]: (r) => r.oldValues,
  [RlInputs.dpoTokenRewards]: (r) => r.dense,
};

const PER_SEQUENCE: Record<string, (r: Rollout) => number | undefined> = {
  [RlInputs.sequenceAdvantages]: (r) => r.sequenceAdvantage,
};

function missing(name: string): never {
  throw fail('ALIGNKIT_ERR_INTERNAL', `no stage of this run filled loss input ${name} on the rollouts`, { field: name });
}

/** The rows of `indices` as items of a forward batch: prompt, then the sampled response. */
export function rolloutItems(rows: readonly Rollout[]): RunItem[] {
  return rows.map((r, i) => ({ id: `rollout-${i}`, prompt: r.prompt, responses: [r.tokens] }));
}

/** One micro-batch of rollouts as feeds: the forward's ids and response mask (buildBatch), then every experience input the loss reads. */
export function experienceBatch(ctx: BatchContext, rows: readonly Rollout[], indices: readonly number[], state: Readonly<Record<string, number>>): { feeds: Record<string, Feed>; tokens: number } {
  const batch = buildBatch(ctx, indices, state);
  const ids = batch.feeds.input_ids ?? Object.values(batch.feeds)[0]!;
  const T = ids.dims[1]!;
  const B = indices.length;
  for (const spec of ctx.fed) {
    const perToken = PER_TOKEN[spec.name];
    const perSequence = PER_SEQUENCE[spec.name];
    if (perToken) {
      const out = new Float32Array(B * T);
      indices.forEach((i, b) => {
        const r = rows[i]!;
        const v = perToken(r) ?? missing(spec.name);
        out.set(v as Float32Array, b * T + r.prompt.length);
      });
      batch.feeds[spec.name] = { dtype: 'float32', dims: [B, T], data: out };
    } else if (perSequence) {
      batch.feeds[spec.name] = { dtype: 'float32', dims: [B], data: Float32Array.from(indices, (i) => perSequence(rows[i]!) ?? missing(spec.name)) };
    }
  }
  return batch;
}

/** Response token sequences of the rows, right-padded after their prompts, for a frozen model's forward. */
export function paddedRows(rows: readonly Rollout[], padId: number): { inputIds: Int32Array; attentionMask: Int32Array; dims: [number, number] } {
  const T = Math.max(...rows.map((r) => r.prompt.length + r.tokens.length));
  const inputIds = new Int32Array(rows.length * T).fill(padId);
  const attentionMask = new Int32Array(rows.length * T);
  rows.forEach((r, b) => {
    [...r.prompt, ...r.tokens].forEach((id, t) => {
      inputIds[b * T + t] = id;
      attentionMask[b * T + t] = 1;
    });
  });
  return { inputIds, attentionMask, dims: [rows.length, T] };
}

/** The response positions of row b of a [B, T] per-position array. */
export function responseSlice(values: Float32Array, rows: readonly Rollout[], b: number, T: number): Float32Array {
  const r = rows[b]!;
  const start = b * T + r.prompt.length;
  return values.slice(start, start + r.tokens.length);
}
