// Public names of alignkit/losses: the registry, configuration and composition, the standalone
// runners, the input-name conventions, and the graph helpers other areas splice.
export type { ConfiguredLoss, DynamicBetaHp, InputSide, LossDefinition, LossGraph, LossInputSpec, Reduction } from './types.js';
export { LOSSES, createLoss, composeLosses, lossDefinition, type WeightedLoss } from './registry.js';
export { LossInputs, detach } from './prelude.js';
export { TokenInputs, activationTokenWeights } from './token-level.js';
export { KtoInputs } from './kto.js';
export { BcoInputs } from './bco.js';
export { UnpairedInputs } from './unpaired.js';
export { RewardInputs } from './reward-model.js';
export { SrpoInputs } from './srpo.js';
export { RunningMeanInputs } from './state.js';
export { RlInputs, clippedSurrogate, aggregateTokens, type TokenAggregation } from './policy-gradient.js';
export { fitUdmClassifier, udmWeights, type UdmClassifier, type UdmFitOptions, type UdmWeightOptions } from './udm.js';
export { tokenRewards, overoptimisationIndicators } from './analysis.js';
export { buildLossProgram, bindInputs, spliceLoss, type LossArrays, type ArrayLikeInput, type LossProgram, type SplicedLoss } from './program.js';
export { evaluateLoss, computeTokenRewards, computeOveroptimisationIndicators, type LossEvaluation } from './evaluate.js';
export { runLoss, type LossRun } from './standalone.js';
export type { PairedHp } from './prelude.js';
export type { SmoothedHp, RpoHp } from './dpo.js';
export type { SimpoHp, OrpoHp, SftHp } from './reference-free.js';
export type { Tdpo2Hp, SparsePoHp } from './token-level.js';
export type { KtoHp } from './kto.js';
export type { BcoHp } from './bco.js';
export type { BradleyTerryHp, MultiAttributeHp, GenArmHp } from './reward-model.js';
export type { SrpoHp } from './srpo.js';
export type { PpoHp, RtoHp } from './ppo.js';
export type { GrpoHp } from './grpo.js';
export type { RlooHp } from './rloo.js';
