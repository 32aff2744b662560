// The online kinds' settings (run config field `rl`, merged over RL_DEFAULTS and a kind's own
// defaults): where rewards come from, how rollouts are sampled, and how they become advantages.
// Defaults follow TRL's PPOConfig / GRPOConfig / RLOOConfig unless a comment says otherwise.

import { fail } from '../../errors.js';
import { LONG_PROMPT_POLICIES, type LongPromptPolicy } from '../../generate/index.js';
import { LOSSES } from '../../losses/index.js';
import { COMBINE_METHODS, type CombineMethod } from '../../rewards/index.js';
import { KL_ESTIMATORS, type KlEstimator } from './advantages.js';

export interface RlSettings {
  /**
   * Reward specs, one per model: a reward-model directory (or KIND:ARG as `alignkit eval rm` takes),
   * `http(s)://HOST/get_reward` (OpenRLHF's remote reward protocol) or `js:FILE` (a module whose
   * default export scores texts). Several are an ensemble combined by `combine`.
   */
  reward: string[];
  /** How an ensemble's rewards combine (Coste et al.): mean, min (WCO) or uncertainty (UWO). */
  combine: CombineMethod;
  /** UWO's variance weight. */
  lambda: number;
  /** Reward models scored on every rollout and on the held-out prompts, logged as gold/*, never optimised. */
  gold: string[];
  /** The frozen reference for the KL (default: the starting model). */
  reference?: string;
  /** RTO: the DPO policy whose token log-ratio is the dense reward. */
  dpoModel?: string;
  /** RTO: the DPO policy's own reference (default: `reference`, as the official code uses its initial model). */
  dpoReference?: string;
  /**
   * PPO/RTO: a separate critic model (a decoder reward model, or a causal LM given a fresh value
   * head) trained with its own optimizer, instead of a value head on the policy (src/train/rl/critic.ts).
   */
  critic?: string;
  /** The critic's learning rate (default: 9 x the run's lr, OpenRLHF's critic_learning_rate 9e-6 against actor_learning_rate 1e-6). */
  criticLr?: number;
  promptsPerStep: number;
  /**
   * A prompt longer than maxPromptLength tokens, as `alignkit generate --on-long-prompt` treats it:
   * an error naming its row (the default, as generate's), left out and listed, or its last tokens kept.
   */
  onLongPrompt: LongPromptPolicy;
  /** Responses per prompt: GRPO's group size G, RLOO's k (1 for PPO). */
  samplesPerPrompt: number;
  maxNewTokens: number;
  /** Passes over each rollout batch (TRL num_ppo_epochs 4; GRPO's num_iterations and RLOO's REINFORCE 1). */
  epochs: number;
  gamma: number;
  /** GAE's lambda. */
  gaeLambda: number;
  /** Initial coefficient of the KL penalty in the reward (TRL kl_coef 0.05). */
  klCoef: number;
  klEstimator: KlEstimator;
  /** Target KL of the adaptive controller (Ziegler et al.); absent: fixed coefficient. */
  klTarget?: number;
  klHorizon: number;
  /** Whiten GAE advantages over the rollout batch (TRL: always). */
  whitenAdvantages: boolean;
  /** GRPO: divide by the group's std (TRL scale_rewards). */
  scaleRewards: boolean;
  /** Clip of the sequence score before it enters the reward (OpenRLHF clamps to +-10); 0: none. */
  scoreClip: number;
  /** Subtracted from the score of a response that ran out of tokens without EOS (TRL missing_eos_penalty); 0: none. */
  missingEosPenalty: number;
  /** Held-out prompts decoded at each evaluation (sampled, seeded), for eval/reward, eval/gold, eval/kl. */
  evalPrompts: number;
  /** A prompts file to evaluate on instead of the `evalFraction` split of the training prompts. */
  evalData?: string;
}

export const RL_DEFAULTS: Omit<RlSettings, 'reward'> & { reward: string[] } = {
  reward: [],
  combine: 'mean',
  lambda: 0.5,
  gold: [],
  promptsPerStep: 8,
  onLongPrompt: 'fail',
  samplesPerPrompt: 1,
  maxNewTokens: 48,
  epochs: 4,
  gamma: 1,
  gaeLambda: 0.95,
  klCoef: 0.05,
  klEstimator: 'k1',
  klHorizon: 10_000,
  whitenAdvantages: true,
  scaleRewards: true,
  scoreClip: 10,
  missingEosPenalty: 0,
  evalPrompts: 32,
};

const bad = (field: string, message: string, value: unknown) =>
  fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `run config field ${field}: ${message}, got ${JSON.stringify(value)}`, { field, value });

type Check = (field: string, v: unknown) => void;
const posInt: Check = (f, v) => {
  if (!Number.isInteger(v) || (v as number) < 1) throw bad(f, 'must be a positive integer', v);
};
const nonNeg: Check = (f, v) => {
  if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) throw bad(f, 'must be a number >= 0', v);
};
const unit: Check = (f, v) => {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw bad(f, 'must be a number in [0, 1]', v);
};
const bool: Check = (f, v) => {
  if (typeof v !== 'boolean') throw bad(f, 'must be true or false', v);
};
const dir: Check = (f, v) => {
  if (v !== undefined && (typeof v !== 'string' || v.length === 0)) throw bad(f, 'must be a model directory', v);
};
const specs: Check = (f, v) => {
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s.length === 0)) throw bad(f, 'must be a list of reward specs (DIR, KIND:ARG, http(s)://.../get_reward or js:FILE)', v);
};
const oneOf = (choices: readonly string[]): Check => (f, v) => {
  if (typeof v !== 'string' || !choices.includes(v)) throw bad(f, `must be one of ${choices.join(', ')}`, v);
};

const CHECKS: Record<keyof RlSettings, Check> = {
  reward: specs,
  combine: oneOf(COMBINE_METHODS),
  lambda: nonNeg,
  gold: specs,
  reference: dir,
  dpoModel: dir,
  dpoReference: dir,
  critic: dir,
  criticLr: (f, v) => {
    if (v !== undefined && (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))) throw bad(f, 'must be a positive learning rate', v);
  },
  promptsPerStep: posInt,
  onLongPrompt: oneOf(LONG_PROMPT_POLICIES),
  samplesPerPrompt: posInt,
  maxNewTokens: posInt,
  epochs: posInt,
  gamma: unit,
  gaeLambda: unit,
  klCoef: nonNeg,
  klEstimator: oneOf(Object.keys(KL_ESTIMATORS)),
  klTarget: (f, v) => {
    if (v !== undefined && (typeof v !== 'number' || !(v > 0))) throw bad(f, 'must be a positive number (nats)', v);
  },
  klHorizon: posInt,
  whitenAdvantages: bool,
  scaleRewards: bool,
  scoreClip: nonNeg,
  missingEosPenalty: nonNeg,
  evalData: dir,
  evalPrompts: (f, v) => {
    if (!Number.isInteger(v) || (v as number) < 0) throw bad(f, 'must be a non-negative integer', v);
  },
};

/** Validates the merged `rl` object, naming `rl.<setting>`. */
export function checkRlSettings(field: string, v: unknown): void {
  if (v === undefined) return;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad(field, 'must be an object of RL settings', v);
  const s = v as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!(k in CHECKS)) throw bad(`${field}.${k}`, `is not an RL setting (settings: ${Object.keys(CHECKS).join(', ')})`, s[k]);
  for (const [k, check] of Object.entries(CHECKS)) check(`${field}.${k}`, s[k]);
}

/** The losses with a value function (PPO, RTO), read from the registry: the ones whose value function --critic can move to a separate model. */
const withValueFunction = () => Object.values(LOSSES).filter((d) => 'valueModel' in d.defaults).map((d) => d.name);

/**
 * --critic DIR moves the value function of the run's loss to a separate critic: the loss's
 * hyperparameters with `valueModel: critic` (the policy's loss is then the surrogate alone), or an
 * error naming the flag when the loss has no value function or the settings disagree.
 */
export function criticLossHp(loss: string, lossHp: Record<string, unknown>, s: RlSettings): Record<string, unknown> {
  const valueModel = lossHp.valueModel;
  if (s.critic === undefined) {
    if (valueModel === 'critic') throw bad('lossHp.valueModel', 'critic trains a separate critic model: give it with --critic DIR (run config rl.critic)', valueModel);
    if (s.criticLr !== undefined) throw bad('rl.criticLr', "--critic-lr is the separate critic's learning rate: give the critic with --critic DIR", s.criticLr);
    return lossHp;
  }
  const losses = withValueFunction();
  if (!losses.includes(loss)) throw bad('rl.critic', `--critic DIR is a value function, and loss ${loss} has none (--critic is for ${losses.join(', ')})`, s.critic);
  if (valueModel === 'head') throw bad('lossHp.valueModel', 'head puts the value function on the policy while --critic DIR gives a separate one: drop one', valueModel);
  return { ...lossHp, valueModel: 'critic' };
}
