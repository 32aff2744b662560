// Public names of alignkit/eval: RewardBench-style pairwise accuracy of reward models with the
// length-only and majority baselines.
export { chosenShownFirst, lengthCredit, pairwiseReport, type PairScores, type PairwiseReport, type SubsetAccuracy } from './pairwise.js';
export { pairSource, scorePairs, type ScorePairsOptions, type ScoredPair } from './score-pairs.js';
export { REWARD_MODEL_KINDS, loadRewardModelSpec, type ModelKind } from './model-specs.js';
export { formatPairwiseReport } from './format.js';
export { evaluateRewardModels, type EvalRmOptions, type EvalRmResult } from './eval-rm.js';
