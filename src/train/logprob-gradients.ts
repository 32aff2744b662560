// The public gradient API of issue 3: for a causal LM (our graph, torch.onnx.export's or
// optimum's), per-token log-probs and the gradient of S = sum_{b,t} w[b,t] mask[b,t] lp[b,t] with
// respect to every trainable float initializer, keyed by initializer name; for a sequence
// classifier, its scores and the gradient of sum_{b,k} w[b,k] score[b,k]. A tied embedding
// exported as two initializers gets each its own gradient (nothing is tied here). The session is
// built once per model and trainable set; the one-shot functions build, run and release.

import { fail } from '../errors.js';
import { loadModel, Session, type Feed, type Model, type SessionOptions } from '../graph/index.js';
import type { TrainableSpec } from '../graph/rewrites/index.js';
import { tokenFeeds, type TokenBatch } from './feeds.js';
import { prepareCausalLmTraining, prepareClassifierScoreGraph, type PreparedTraining } from './prepare.js';

export interface GradientOptions {
  /** Trainable initializer names or a selection (default: every float weight initializer). */
  trainable?: string[] | TrainableSpec;
  /** Logits / scores output name (default `logits`). */
  output?: string;
  session?: SessionOptions;
}

export interface WeightedBatch extends TokenBatch {
  /** Causal LM: [B, T] per-token weights; classifier: [B, K] per-score weights. */
  weights: ArrayLike<number>;
}

export interface LogProbGradients {
  /** [B, T]: log p(ids[t] | ids[<t]), 0 at t = 0. */
  tokenLogprobs: Float32Array;
  /** The weighted sum S. */
  value: number;
  gradients: Map<string, Float32Array>;
}

export interface ScoreGradients {
  /** [B, K] classifier scores (raw logits). */
  scores: Float32Array;
  scoreDims: number[];
  value: number;
  gradients: Map<string, Float32Array>;
}

function asModel(m: string | Model): Model {
  return typeof m === 'string' ? loadModel(m) : m;
}

class GradientSession {
  protected constructor(
    readonly prepared: PreparedTraining,
    protected readonly session: Session,
  ) {}

  protected static async open(prepared: PreparedTraining, opts: GradientOptions): Promise<Session> {
    return Session.create(prepared.training.model, { allowSpinning: 'during-run', ...opts.session });
  }

  protected async runWith(feeds: Record<string, Feed>, extra: string[]): Promise<{ out: Record<string, { data: ArrayLike<number | bigint>; dims: number[] }>; gradients: Map<string, Float32Array> }> {
    const init = this.prepared.forward.graph.initializers;
    for (const p of this.prepared.trainable) feeds[p] = init.get(p)!;
    const { gradients, lossOutput } = this.prepared.training;
    const out = await this.session.run(feeds, [lossOutput, ...extra, ...gradients.values()]);
    return { out, gradients: new Map([...gradients].map(([p, g]) => [p, out[g]!.data as Float32Array])) };
  }

  get trainable(): string[] {
    return this.prepared.trainable;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

export class SequenceLogProbGradientSession extends GradientSession {
  static async create(model: string | Model, opts: GradientOptions = {}): Promise<SequenceLogProbGradientSession> {
    const prepared = prepareCausalLmTraining(asModel(model), { loss: 'weighted-logprob', trainable: opts.trainable, logits: opts.output });
    return new SequenceLogProbGradientSession(prepared, await GradientSession.open(prepared, opts));
  }

  async run(batch: WeightedBatch): Promise<LogProbGradients> {
    const [B, T] = batch.dims;
    if (batch.weights.length !== B * T) throw fail('ALIGNKIT_ERR_TENSOR', `weights has ${batch.weights.length} values, want B*T = ${B * T}`, { field: 'weights' });
    const feeds: Record<string, Feed> = tokenFeeds(this.prepared.forward, batch);
    feeds.attention_mask ??= { dtype: 'int64', dims: [B, T], data: new BigInt64Array(B * T).fill(1n) };
    feeds.token_weights = { dtype: 'float32', dims: [B, T], data: Float32Array.from(batch.weights) };
    const { out, gradients } = await this.runWith(feeds, ['token_logprobs']);
    return { tokenLogprobs: out.token_logprobs!.data as Float32Array, value: Number(out[this.prepared.training.lossOutput]!.data[0]), gradients };
  }
}

export class ClassifierScoreGradientSession extends GradientSession {
  private scoresName = 'logits';

  static async create(model: string | Model, opts: GradientOptions = {}): Promise<ClassifierScoreGradientSession> {
    const prepared = prepareClassifierScoreGraph(asModel(model), { trainable: opts.trainable, scores: opts.output });
    const s = new ClassifierScoreGradientSession(prepared, await GradientSession.open(prepared, opts));
    s.scoresName = opts.output ?? 'logits';
    return s;
  }

  async run(batch: WeightedBatch & { numScores: number }): Promise<ScoreGradients> {
    const [B] = batch.dims;
    const K = batch.numScores;
    if (batch.weights.length !== B * K) throw fail('ALIGNKIT_ERR_TENSOR', `weights has ${batch.weights.length} values, want B*K = ${B * K}`, { field: 'weights' });
    const feeds: Record<string, Feed> = tokenFeeds(this.prepared.forward, batch);
    feeds.score_weights = { dtype: 'float32', dims: [B, K], data: Float32Array.from(batch.weights) };
    const { out, gradients } = await this.runWith(feeds, [this.scoresName]);
    const scores = out[this.scoresName]!;
    return { scores: scores.data as Float32Array, scoreDims: scores.dims, value: Number(out[this.prepared.training.lossOutput]!.data[0]), gradients };
  }
}

/** One-shot: per-token log-probs and d/dθ of the weighted masked sum of token log-probs. */
export async function sequenceLogProbGradients(model: string | Model, batch: WeightedBatch, opts: GradientOptions = {}): Promise<LogProbGradients> {
  const s = await SequenceLogProbGradientSession.create(model, opts);
  try {
    return await s.run(batch);
  } finally {
    await s.release();
  }
}

/** One-shot: classifier scores and d/dθ of sum(weights * scores). */
export async function classifierScoreGradients(model: string | Model, batch: WeightedBatch & { numScores: number }, opts: GradientOptions = {}): Promise<ScoreGradients> {
  const s = await ClassifierScoreGradientSession.create(model, opts);
  try {
    return await s.run(batch);
  } finally {
    await s.release();
  }
}
