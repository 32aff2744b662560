// The reward a DPO-trained policy implies against its reference (Rafailov et al. 2023, eq. 5 up to
// the prompt-only log Z(x) term, which cancels in every pairwise comparison):
//
//   r(x, y) = beta * (log pi(y|x) - log pi_ref(y|x))          (sequence level)
//   r_t     = beta * (log pi(y_t|x, y_<t) - log pi_ref(y_t|x, y_<t))   (per token)
//
// The per-token form is the dense token reward of RTO ("DPO Meets PPO: Reinforced Token Optimization
// for RLHF", Zhong et al. 2024); its sum is the sequence reward. Responses get EOS appended by default,
// as TRL's DPOTrainer scores them during training, so the reward matches the one the loss saw.

import { fail } from '../errors.js';
import { CausalLM, type LoadOptions, type ResponseLogProbs } from '../models/index.js';
import type { RewardModel, ScoreItem, ScoreOptions } from './types.js';

export interface DpoImpliedConfig {
  /** The beta the policy was trained with (TRL's DPOConfig default 0.1). */
  beta: number;
  /** Append EOS to each response as during DPO training. */
  appendEos: boolean;
  name: string;
}

export const DPO_IMPLIED_DEFAULTS: DpoImpliedConfig = { beta: 0.1, appendEos: true, name: 'dpo-implied' };

export function dpoImpliedConfig(opts: Partial<DpoImpliedConfig> = {}): DpoImpliedConfig {
  const config: DpoImpliedConfig = {
    beta: opts.beta ?? DPO_IMPLIED_DEFAULTS.beta,
    appendEos: opts.appendEos ?? DPO_IMPLIED_DEFAULTS.appendEos,
    name: opts.name ?? DPO_IMPLIED_DEFAULTS.name,
  };
  if (!Number.isFinite(config.beta) || config.beta <= 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `beta must be a positive number, got ${config.beta}`, { parameter: 'beta' });
  return config;
}

export interface TokenRewards {
  /** Response token ids per item (after truncation and the appended EOS). */
  tokens: number[][];
  /** beta * per-token log-ratio, one value per response token. */
  rewards: Float32Array[];
}

export class DpoImpliedReward implements RewardModel {
  readonly heads = ['dpo_implied'];
  readonly config: DpoImpliedConfig;

  constructor(readonly policy: CausalLM, readonly reference: CausalLM, opts: Partial<DpoImpliedConfig> = {}) {
    this.config = dpoImpliedConfig(opts);
  }

  static async load(policyDir: string, referenceDir: string, opts: Partial<DpoImpliedConfig> & LoadOptions = {}): Promise<DpoImpliedReward> {
    const [policy, reference] = await Promise.all([CausalLM.load(policyDir, { session: opts.session }), CausalLM.load(referenceDir, { session: opts.session })]);
    return new DpoImpliedReward(policy, reference, opts);
  }

  get name(): string {
    return this.config.name;
  }

  get maxLength(): number {
    return Math.min(this.policy.maxLength, this.reference.maxLength);
  }

  private async logProbs(items: ScoreItem[], opts: ScoreOptions): Promise<[ResponseLogProbs, ResponseLogProbs]> {
    const run = { maxLength: this.maxLength, truncate: opts.truncate ?? false, appendEos: this.config.appendEos };
    const [pol, ref] = await Promise.all([this.policy.responseLogProbs(items, run), this.reference.responseLogProbs(items, run)]);
    // A log-ratio only means something over the same tokens: different tokenizers cannot be compared.
    pol.tokens.forEach((ids, i) => {
      const other = ref.tokens[i]!;
      if (ids.length !== other.length || ids.some((t, j) => t !== other[j]))
        throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `item ${i}: the policy and reference tokenize the response differently; a DPO-implied reward needs one tokenizer`, { row: i, field: 'response' });
    });
    return [pol, ref];
  }

  /** RTO's dense reward: beta * (log pi - log pi_ref) for every response token. */
  async tokenRewards(items: ScoreItem[], opts: ScoreOptions = {}): Promise<TokenRewards> {
    const [pol, ref] = await this.logProbs(items, opts);
    const rewards = pol.logprobs.map((lp, i) => Float32Array.from(lp, (x, t) => this.config.beta * (x - ref.logprobs[i]![t]!)));
    return { tokens: pol.tokens, rewards };
  }

  async score(items: ScoreItem[], opts: ScoreOptions = {}): Promise<Float32Array[]> {
    const [pol, ref] = await this.logProbs(items, opts);
    return items.map((_, i) => Float32Array.of(this.config.beta * (pol.sum[i]! - ref.sum[i]!)));
  }
}
