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
export { fitUdmClassifier, udmWeights, type UdmClassifier, type UdmFitOptions, type UdmWeightOptions } from './udm.js';
export { tokenRewards, overoptimisationIndicators } from './analysis.js';
export { buildLossProgram, bindInputs, type LossArrays, type ArrayLikeInput, type LossProgram } from './program.js';
export { evaluateLoss, computeTokenRewards, computeOveroptimisationIndicators, type LossEvaluation } from './evaluate.js';
export { runLoss, type LossRun } from './standalone.js';
