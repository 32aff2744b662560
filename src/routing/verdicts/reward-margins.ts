// Reward margins r(A) - r(B) of each pair under each reward model (any alignkit RewardModel: an
// ONNX classifier, a DPO-implied or follow-up-likelihood reward, a served ensemble member), the
// input of rewardReliability. Multi-head models count their first head.

import type { RewardModel } from '../../rewards/index.js';
import type { RoutingPair } from '../types.js';

export async function rewardMargins(models: readonly RewardModel[], pairs: readonly RoutingPair[], batch = 32): Promise<number[][]> {
  const out: number[][] = [];
  for (const model of models) {
    const margins: number[] = [];
    for (let start = 0; start < pairs.length; start += batch) {
      const chunk = pairs.slice(start, start + batch);
      // A and B of the chunk in one batched run: [A..., B...]; long inputs are cut, not refused.
      const scores = await model.score([...chunk.map((p) => ({ prompt: p.prompt, response: p.responseA })), ...chunk.map((p) => ({ prompt: p.prompt, response: p.responseB }))], { truncate: true });
      chunk.forEach((_, k) => margins.push(scores[k]![0]! - scores[chunk.length + k]![0]!));
    }
    out.push(margins);
  }
  return out;
}
