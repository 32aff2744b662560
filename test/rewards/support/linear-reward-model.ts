// A real (if tiny) reward model for tests that need RewardModels with known, hand-computable
// scores: features [prompt chars, response chars, 1] times a weight matrix [3, heads], run by an
// onnxruntime session built with GraphBuilder. Counts its session runs.

import { GraphBuilder, Session } from '../../../src/graph/index.js';
import type { RewardModel, ScoreItem, Text } from '../../../src/rewards/index.js';

function chars(t: Text): number {
  return typeof t === 'string' ? t.length : t.reduce((n, m) => n + m.content.length, 0);
}

export class LinearRewardModel implements RewardModel {
  runs = 0;
  batchSizes: number[] = [];
  private constructor(
    readonly name: string,
    readonly heads: string[],
    readonly maxLength: number,
    private readonly session: Session,
  ) {}

  /** `weights[f][h]` for features f = (prompt chars, response chars, bias). */
  static async create(name: string, heads: string[], weights: number[][], maxLength = 1000): Promise<LinearRewardModel> {
    const g = new GraphBuilder();
    const x = g.input('features', 'float32', ['batch', 3]);
    const w = g.initializer('w', Float32Array.from(weights.flat()), [3, heads.length]);
    g.output(g.matMul(x, w), 'scores', 'float32', ['batch', heads.length]); // [B, H]
    return new LinearRewardModel(name, heads, maxLength, await Session.create(g.toModel(), { intraOpThreads: 1 }));
  }

  async score(items: ScoreItem[]): Promise<Float32Array[]> {
    this.runs++;
    this.batchSizes.push(items.length);
    const tooLong = items.findIndex((it) => chars(it.prompt) + chars(it.response) > this.maxLength);
    if (tooLong >= 0) throw new Error(`item ${tooLong} is longer than ${this.maxLength}`);
    const data = new Float32Array(items.length * 3);
    items.forEach((it, i) => data.set([chars(it.prompt), chars(it.response), 1], i * 3));
    const out = await this.session.run({ features: { dtype: 'float32', dims: [items.length, 3], data } });
    const h = this.heads.length;
    const scores = out.scores!.data as Float32Array;
    return items.map((_, i) => scores.slice(i * h, (i + 1) * h));
  }
}
