// Ensembles of reward models (Coste et al., "Reward Model Ensembles Help Mitigate Overoptimization"):
// every member scores the same items, each member's heads are reduced to one reward by its head
// weights, and the members' rewards are combined per item by a registered combiner (mean, min,
// uncertainty-weighted). An ensemble is itself a RewardModel with one head, so it can stand anywhere
// a single reward model does.

import { fail } from '../errors.js';
import { combineConfig, combineScores, ensembleVariance, type CombineConfig } from './combine.js';
import { headWeights, weightedReward } from './heads.js';
import type { RewardModel, ScoreItem, ScoreOptions } from './types.js';

export interface EnsembleMember {
  model: RewardModel;
  /** `{head: weight}`; default: the first head alone. */
  headWeights?: Record<string, number>;
}

export interface MemberScores {
  name: string;
  heads: string[];
  /** Raw head scores per item. */
  headScores: Float32Array[];
  /** Weighted reward per item. */
  rewards: number[];
}

export interface EnsembleScores {
  members: MemberScores[];
  /** Combined reward per item. */
  rewards: number[];
  /** Intra-ensemble (population) variance per item: the disagreement UWO penalises. */
  variance: number[];
}

/** Combines members' rewards `[k][n]` into per-item rewards and variances. Pure. */
export function combineMemberRewards(memberRewards: readonly (readonly number[])[], cfg: CombineConfig): { rewards: number[]; variance: number[] } {
  const n = memberRewards[0]?.length ?? 0;
  const rewards: number[] = [];
  const variance: number[] = [];
  for (let i = 0; i < n; i++) {
    const column = memberRewards.map((r) => r[i]);
    rewards.push(combineScores(column, cfg));
    variance.push(ensembleVariance(column));
  }
  return { rewards, variance };
}

export class RewardEnsemble implements RewardModel {
  readonly heads = ['reward'];
  readonly maxLength: number;
  readonly combine: CombineConfig;
  private readonly members: { model: RewardModel; weights: Float32Array }[];

  constructor(members: (RewardModel | EnsembleMember)[], combine: Partial<CombineConfig> = {}, readonly name = 'ensemble') {
    if (members.length === 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `ensemble ${name} has no members`, { field: 'members' });
    const seen = new Set<string>();
    this.members = members.map((m) => {
      const member: EnsembleMember = 'model' in m ? m : { model: m };
      if (seen.has(member.model.name))
        throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `ensemble ${name} has two members named ${member.model.name}`, { field: 'members', model: member.model.name });
      seen.add(member.model.name);
      return { model: member.model, weights: headWeights(member.model.heads, member.headWeights, member.model.name) };
    });
    this.combine = combineConfig(combine);
    this.maxLength = Math.min(...this.members.map((m) => m.model.maxLength));
  }

  get memberNames(): string[] {
    return this.members.map((m) => m.model.name);
  }

  /** Every member's head scores and reward, and the combined reward; members run concurrently. */
  async scoreDetailed(items: ScoreItem[], opts: ScoreOptions = {}, combine: CombineConfig = this.combine): Promise<EnsembleScores> {
    const members = await Promise.all(
      this.members.map(async ({ model, weights }): Promise<MemberScores> => {
        const headScores = await model.score(items, opts);
        return { name: model.name, heads: model.heads, headScores, rewards: headScores.map((h) => weightedReward(h, weights)) };
      }),
    );
    return { members, ...combineMemberRewards(members.map((m) => m.rewards), combine) };
  }

  async score(items: ScoreItem[], opts: ScoreOptions = {}): Promise<Float32Array[]> {
    const { rewards } = await this.scoreDetailed(items, opts);
    return rewards.map((r) => Float32Array.of(r));
  }
}
