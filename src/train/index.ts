// Public names of alignkit/train (core): the step loop, checkpoints, data windows, reference
// log-probs, export to a Hugging Face directory, and the gradient API for sequence log-probs and
// classifier scores.
export { Trainer, trainableValues, type TrainerSpec, type TrainParam, type StepOptimizer, type ParamAllocator, type TrainingGraphLike, type StepResult } from './trainer.js';
export { saveCheckpoint, loadCheckpoint, hasCheckpoint, type ResumeState } from './checkpoint.js';
export { TokenWindowSampler, type WindowSamplerOptions, type SamplerPosition } from './data.js';
export { tokenFeeds, positionIds, type TokenBatch, type IdArray } from './feeds.js';
export { prepareCausalLmTraining, prepareClassifierScoreGraph, type CausalLmTrainingOptions, type ClassifierTrainingOptions, type PreparedTraining, type TokenLoss } from './prepare.js';
export { ReferenceLogProbs } from './reference.js';
export { exportHfDirectory, mergedValues, trainedModel, type ExportOptions } from './export.js';
export {
  sequenceLogProbGradients, classifierScoreGradients, SequenceLogProbGradientSession, ClassifierScoreGradientSession,
  type GradientOptions, type WeightedBatch, type LogProbGradients, type ScoreGradients,
} from './logprob-gradients.js';
// Training on the WebGPU device: the optimizer update folded into the training graph.
export { DeviceTrainer, deviceOptimizers, runSession, type DeviceTrainerSpec } from './device/index.js';
// The run behind `alignkit train` / `alignkit eval policy`, and its reports (metrics, plots, progress).
export * from './run/index.js';
export * from './rl/index.js';
export * from './report/index.js';
