// Public names of alignkit/rewards: the RewardModel contract, the ONNX reward model, ensembles and
// their combiners, multi-head weighting, the Bradley-Terry preference probability, and the
// moment-probing head rewrite (a reward head over a backbone's first- and second-order moments).
export type { Message, Text, ScoreItem, ScoreOptions, RewardModel } from './types.js';
export { OnnxRewardModel } from './onnx.js';
export { RewardEnsemble, combineMemberRewards, type EnsembleMember, type EnsembleScores, type MemberScores } from './ensemble.js';
export { COMBINERS, COMBINE_METHODS, DEFAULT_COMBINE, combineConfig, combineScores, ensembleVariance, type CombineConfig, type CombineMethod } from './combine.js';
export { headWeights, weightedReward } from './heads.js';
export { preferenceProbability, sigmoid } from './preference.js';
export { FLR_DEFAULTS, FLR_DEFAULT_DIMENSIONS, FLR_FOLLOW_UPS, FollowUpLikelihoodReward, flrConfig, followUpSets, type FlrConfig, type FlrDimension, type FlrOptions } from './flr.js';
export { DPO_IMPLIED_DEFAULTS, DpoImpliedReward, dpoImpliedConfig, type DpoImpliedConfig, type TokenRewards } from './dpo-implied.js';
export { addMomentProbeHead, momentProbeConfig, MOMENT_PROBE_DEFAULTS, type MomentProbeConfig, type MomentProbeHeadOptions, type MomentProbeHeadResult } from '../graph/rewrites/moment-probe-head.js';
