// What `--model` may name in `alignkit eval rm`: a table of reward-model kinds, each a loader from
// the text after `KIND:`. A spec without a known kind prefix is a sequence-classifier directory.

import { fail } from '../errors.js';
import type { SessionOptions } from '../graph/index.js';
import { DpoImpliedReward, FollowUpLikelihoodReward, OnnxRewardModel, type RewardModel } from '../rewards/index.js';

export interface ModelKind {
  /** What follows `KIND:` in a spec. */
  argument: string;
  /** `session` sets onnxruntime options (threads) of every session the model opens. */
  load(argument: string, session?: SessionOptions): Promise<RewardModel>;
}

export const REWARD_MODEL_KINDS: Record<string, ModelKind> = {
  rm: { argument: 'DIR (sequence classifier)', load: (dir, session) => OnnxRewardModel.load(dir, { session }) },
  flr: { argument: 'DIR (causal LM; follow-up likelihood reward with the paper sets)', load: (dir, session) => FollowUpLikelihoodReward.load(dir, { name: `flr:${dir}`, session }) },
  'dpo-implied': {
    argument: 'POLICY_DIR,REFERENCE_DIR[,BETA] (DPO-implied reward, beta default 0.1)',
    load: async (arg, session) => {
      const [policy, reference, beta] = arg.split(',');
      if (!policy || !reference) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `dpo-implied needs POLICY_DIR,REFERENCE_DIR[,BETA], got '${arg}'`, { parameter: 'model' });
      const b = beta === undefined ? undefined : Number(beta);
      return DpoImpliedReward.load(policy, reference, { beta: b, name: `dpo-implied:${policy}`, session });
    },
  },
};

/** `KIND:ARG` for a kind of REWARD_MODEL_KINDS, else the whole spec as an `rm` directory. */
export function loadRewardModelSpec(spec: string, session?: SessionOptions): Promise<RewardModel> {
  const at = spec.indexOf(':');
  const kind = at > 0 ? REWARD_MODEL_KINDS[spec.slice(0, at)] : undefined;
  return kind ? kind.load(spec.slice(at + 1), session) : REWARD_MODEL_KINDS.rm!.load(spec, session);
}
