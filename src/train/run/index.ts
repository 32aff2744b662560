// Public names of the training run behind `alignkit train` and `alignkit eval policy`.
export { KINDS, TRAIN_KINDS, kindSpec, lossesForKind, type TrainKind, type KindSpec, type ModelRole } from './kinds.js';
export { RUN_DEFAULTS, TRAIN_SELECTION, readRunConfigFile, resolveRunConfig, type RunConfig, type LoraConfig } from './config.js';
export { rowGroupsFor, DATA_INPUTS, IN_GRAPH, usesInGraphReference, type RowGroup, type RunItem, type TokenSource, type InGraphInput } from './segments.js';
export { buildRunGraph, exportedValues, type RunGraph, type RunGraphOptions } from './graph.js';
export { buildTokenLevelForward, provideTokenInputs, tokenSourcesOf, type TokenLevelForward, type InGraphInputs } from './token-level.js';
export { loadRunData, tokenizeItems, tokenizeSettings, type RunData } from './data.js';
export { buildBatch, type Batch, type BatchContext } from './batches.js';
export { referenceLogProbs, referenceCacheKey, referenceCacheFile, sequenceSums, type ReferenceOptions, type ReferenceResult } from './reference-cache.js';
export { EpochSampler, type ExamplePosition } from './sampler.js';
export { GradNormProbe, type ProbeSnapshot } from './grad-norm.js';
export { modelCard, type CardFacts } from './card.js';
export { runTraining, RUN_FILES, type RunHooks, type RunResult } from './run.js';
export { runApo, extrapolate, type ApoOptions, type ApoResult } from './apo.js';
export { evaluatePolicy, type PolicyEvalOptions, type PolicyEvalResult } from './eval-policy.js';
export { computeUdmWeights, checkUdmSettings, readsUdmWeights, formatUdmLine, UDM_DEFAULTS, type UdmSettings, type UdmOptions, type UdmResult } from './udm-weights.js';
export { PromptEmbedder, embeddingOutput, HIDDEN_STATE_OUTPUT, type PromptEmbedderOptions } from './prompt-embeddings.js';
export { REWARD_HEADS, REWARD_HEAD_NAMES, rewardHead, withRewardHead, writeRewardHeadConfig, checkRewardHeadConfig, type RewardHeadSpec, type RewardHeadContext } from './reward-head.js';
export { DEFAULT_REVISION_TEMPLATE, DRAFT_SLOT, checkRevisionTemplate, revisionLayout, revisionPrompt, revisionRow, usesRevision, withRevisionLayout, type RevisionLayout } from './revision.js';
