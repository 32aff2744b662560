// The five kinds of `alignkit train`, and which losses each accepts. The accepted set is derived
// from the loss registry by the inputs a loss declares (never a hand-typed list), so a loss added
// to src/losses appears under the kinds whose data and model it fits.

import { fail } from '../../errors.js';
import { LOSSES, LossInputs, RewardInputs, RlInputs, UnpairedInputs, type LossDefinition, type LossInputSpec } from '../../losses/index.js';
import type { RlSettings } from '../rl/settings.js';
import type { PreferenceKind } from '../../datasets/index.js';
import { KIND_STAGES } from './stages.js';

export type TrainKind = 'sft' | 'rm' | 'dpo' | 'unpaired' | 'arm' | 'ppo' | 'rto' | 'grpo' | 'rloo';

/** What the forward model produces for the loss: per-token log-probs of a causal LM, or a classifier's scores. */
export type ModelRole = 'causal-lm' | 'classifier';

export interface KindSpec {
  summary: string;
  /** The dataset shape the kind reads (a rated file trains multi-attribute reward models; online kinds read prompts). */
  data: readonly (PreferenceKind | 'prompts')[];
  model: ModelRole;
  defaultLoss: string;
  /** Whether a loss of the registry fits this kind, judged by its declared inputs. */
  accepts(inputs: readonly LossInputSpec[]): boolean;
  /** Whether the trained model's responses end with EOS (TRL appends it to completions; RMs score the text as is). */
  appendEos: boolean;
  /** The kind's own run stages by name (stage-registry.ts); the loss brings its own by its inputs. */
  stages: readonly string[];
  /** Online kinds: defaults of the `rl` settings over RL_DEFAULTS (src/train/rl/settings.ts). */
  rl?: Partial<RlSettings>;
}

const has = (inputs: readonly LossInputSpec[], name: string) => inputs.some((s) => s.name === name);
const isPaired = (i: readonly LossInputSpec[]) => has(i, LossInputs.policyChosen) && has(i, LossInputs.policyRejected);
const usesReference = (i: readonly LossInputSpec[]) => i.some((s) => s.side === 'reference');

/** PPO and RTO: rollouts, the KL to the reference folded into the reward, GAE (the loss's value head and token advantages bring their own stages). */
const ONLINE_PPO = [KIND_STAGES.rollouts, KIND_STAGES.klReference, KIND_STAGES.klPenalty, KIND_STAGES.reward];

/** Whether the kind trains online (samples its own data each iteration). */
export const isOnline = (spec: KindSpec) => spec.data.includes('prompts');

export const KINDS: Readonly<Record<TrainKind, KindSpec>> = Object.freeze({
  sft: {
    summary: 'supervised fine-tuning on the chosen responses',
    data: ['paired', 'unpaired', 'rated'],
    model: 'causal-lm',
    defaultLoss: 'sft',
    accepts: (i) => has(i, LossInputs.policyChosen) && !has(i, LossInputs.policyRejected),
    appendEos: true,
    stages: [KIND_STAGES.dataset],
  },
  rm: {
    summary: 'reward model: a sequence classifier trained on pairs (Bradley-Terry) or ratings (multi-attribute)',
    data: ['paired', 'rated'],
    model: 'classifier',
    defaultLoss: 'bradley_terry',
    accepts: (i) => has(i, RewardInputs.chosen) || has(i, RewardInputs.predictions),
    appendEos: false,
    stages: [KIND_STAGES.dataset, KIND_STAGES.pairTemplate],
  },
  dpo: {
    summary: 'offline preference optimisation of a policy on pairs (DPO and its relatives)',
    data: ['paired'],
    model: 'causal-lm',
    defaultLoss: 'dpo',
    accepts: isPaired,
    appendEos: true,
    stages: [KIND_STAGES.dataset],
  },
  unpaired: {
    summary: 'thumbs-up/down optimisation (KTO, BCO)',
    data: ['unpaired'],
    model: 'causal-lm',
    defaultLoss: 'kto',
    accepts: (i) => has(i, UnpairedInputs.policy),
    appendEos: true,
    stages: [KIND_STAGES.dataset],
  },
  arm: {
    // GenARM's r(x, y) = beta sum log pi_r(y|x): any reference-free paired loss trains such a model.
    summary: 'autoregressive reward model for GenARM guided generation',
    data: ['paired'],
    model: 'causal-lm',
    defaultLoss: 'genarm',
    accepts: (i) => isPaired(i) && !usesReference(i),
    appendEos: true,
    stages: [KIND_STAGES.dataset],
  },
  ppo: {
    summary: 'online PPO against a reward (InstructGPT; TRL PPOTrainer, OpenRLHF): KL in the reward, GAE, value head or separate critic (--critic)',
    data: ['prompts'],
    model: 'causal-lm',
    defaultLoss: 'ppo',
    accepts: (i) => has(i, RlInputs.tokenAdvantages) && !has(i, RlInputs.dpoTokenRewards),
    appendEos: true,
    stages: ONLINE_PPO,
    rl: { samplesPerPrompt: 1, epochs: 4 },
  },
  rto: {
    summary: 'RTO (Zhong et al. 2024): PPO with the DPO token-wise reward plus the sentence reward',
    data: ['prompts'],
    model: 'causal-lm',
    defaultLoss: 'rto',
    accepts: (i) => has(i, RlInputs.dpoTokenRewards),
    appendEos: true,
    stages: ONLINE_PPO,
    rl: { samplesPerPrompt: 1, epochs: 4 },
  },
  grpo: {
    summary: 'GRPO (Shao et al. 2024; TRL GRPOTrainer): G samples per prompt, group-normalised advantages, KL in the loss',
    data: ['prompts'],
    model: 'causal-lm',
    defaultLoss: 'grpo',
    accepts: (i) => has(i, RlInputs.sequenceAdvantages),
    appendEos: true,
    stages: [KIND_STAGES.rollouts, KIND_STAGES.klReference, KIND_STAGES.reward, KIND_STAGES.groupAdvantages],
    rl: { samplesPerPrompt: 4, epochs: 1 },
  },
  rloo: {
    summary: 'RLOO (Ahmadian et al. 2024; TRL RLOOTrainer): k samples per prompt, leave-one-out baseline, KL in the reward',
    data: ['prompts'],
    model: 'causal-lm',
    defaultLoss: 'rloo',
    accepts: (i) => has(i, RlInputs.sequenceAdvantages),
    appendEos: true,
    stages: [KIND_STAGES.rollouts, KIND_STAGES.klReference, KIND_STAGES.klPenalty, KIND_STAGES.reward, KIND_STAGES.leaveOneOut],
    rl: { samplesPerPrompt: 4, epochs: 1 },
  },
});

export const TRAIN_KINDS = Object.keys(KINDS) as TrainKind[];

export function kindSpec(kind: string): KindSpec {
  const spec = (KINDS as Record<string, KindSpec>)[kind];
  if (!spec) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `unknown training kind ${JSON.stringify(kind)}; kinds: ${TRAIN_KINDS.join(', ')}`, { field: 'kind', known: TRAIN_KINDS });
  return spec;
}

function declaredInputs(def: LossDefinition<any>): LossInputSpec[] {
  return def.inputs(def.defaults);
}

/** Names of the registry's losses a kind accepts, in registry order. */
export function lossesForKind(kind: TrainKind): string[] {
  const spec = kindSpec(kind);
  return Object.values(LOSSES).filter((def) => spec.accepts(declaredInputs(def))).map((def) => def.name);
}
