// The reward model alignkit ships: an ONNX sequence classifier (Hugging Face
// `*ForSequenceClassification` layout) whose logits are the raw rewards, one per head. Never
// softmaxed: a single-logit reward head softmaxes to 1.0 for every input.

import { SequenceClassifier } from '../models/index.js';
import type { SessionOptions } from '../graph/index.js';
import type { RewardModel, ScoreItem, ScoreOptions } from './types.js';

export class OnnxRewardModel implements RewardModel {
  private constructor(
    readonly classifier: SequenceClassifier,
    readonly name: string,
  ) {}

  /** Loads a model directory; `name` overrides the classifier's own name (e.g. to tell two seeds apart). */
  static async load(dir: string, opts: { name?: string; session?: SessionOptions } = {}): Promise<OnnxRewardModel> {
    const classifier = await SequenceClassifier.load(dir, { session: opts.session });
    return new OnnxRewardModel(classifier, opts.name ?? classifier.name);
  }

  static fromClassifier(classifier: SequenceClassifier, name: string = classifier.name): OnnxRewardModel {
    return new OnnxRewardModel(classifier, name);
  }

  get heads(): string[] {
    return this.classifier.labels;
  }

  get maxLength(): number {
    return this.classifier.maxLength;
  }

  score(items: ScoreItem[], opts: ScoreOptions = {}): Promise<Float32Array[]> {
    return this.classifier.score(items, { truncate: opts.truncate ?? false });
  }

  /** Frees the onnxruntime session; the model cannot score afterwards. */
  release(): Promise<void> {
    return this.classifier.session.release();
  }
}
