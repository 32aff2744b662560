// Public names of the training run behind `alignkit train` and `alignkit eval policy`.
export { KINDS, TRAIN_KINDS, kindSpec, lossesForKind, type TrainKind, type KindSpec, type ModelRole } from './kinds.js';
export { RUN_DEFAULTS, TRAIN_SELECTION, readRunConfigFile, resolveRunConfig, type RunConfig, type LoraConfig } from './config.js';
export { rowGroupsFor, DATA_INPUTS, type RowGroup, type RunItem } from './segments.js';
export { buildRunGraph, type RunGraph, type RunGraphOptions } from './graph.js';
export { loadRunData, tokenizeItems, tokenizeSettings, type RunData } from './data.js';
export { buildBatch, type Batch, type BatchContext } from './batches.js';
export { referenceLogProbs, referenceCacheKey, referenceCacheFile, sequenceSums, type ReferenceOptions, type ReferenceResult } from './reference-cache.js';
export { EpochSampler, type ExamplePosition } from './sampler.js';
export { GradNormProbe, type ProbeSnapshot } from './grad-norm.js';
export { modelCard, type CardFacts } from './card.js';
export { runTraining, RUN_FILES, type RunHooks, type RunResult } from './run.js';
export { runApo, extrapolate, type ApoOptions, type ApoResult } from './apo.js';
export { evaluatePolicy, type PolicyEvalOptions, type PolicyEvalResult } from './eval-policy.js';
