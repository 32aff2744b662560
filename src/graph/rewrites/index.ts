// Public names of the graph rewrites: trainable selection, weight tying, LoRA, log-prob heads and
// losses, KV-cache stripping.
export { toRegExp, matchesAny, initializerScopes, blockIndexOf, uniquifyNodeNames, type NamePattern } from './names.js';
export { weightInitializers, selectTrainable, scoreHead, lastBlocks, SCORE_HEAD_PATTERNS, type TrainableSpec, type WeightOptions } from './trainable.js';
export { findTiedGroups, ParameterMap, type TiedGroup, type TiedMember, type ParameterMapOptions } from './tying.js';
export { injectLora, mergeLora, addLoraDelta, cloneModel, type LoraOptions, type LoraAdapter, type LoraResult } from './lora.js';
export {
  addTokenLogProbHead, addNextTokenLoss, addWeightedLogProbLoss, addWeightedScoreLoss,
  type TokenLogProbHeadOptions, type TokenLossOptions, type WeightedLogProbLossOptions, type WeightedScoreLossOptions, type HeadResult,
} from './logprob-head.js';
export { stripKvCache, hasKvCache, type StripKvCacheResult } from './kv-cache.js';
