// Public names of the graph rewrites: trainable selection, weight tying, LoRA, log-prob heads and
// losses, KV-cache stripping, inference rewrites (fused attention, pooled tail), a frozen reference branch with its per-token KL head, SparsePO's
// token mask head, and the moment-probing reward head.
export { toRegExp, matchesAny, initializerScopes, blockIndexOf, uniquifyNodeNames, type NamePattern } from './names.js';
export { weightInitializers, selectTrainable, scoreHead, lastBlocks, SCORE_HEAD_PATTERNS, type TrainableSpec, type WeightOptions } from './trainable.js';
export { findTiedGroups, ParameterMap, type TiedGroup, type TiedMember, type ParameterMapOptions } from './tying.js';
export { injectLora, mergeLora, addLoraDelta, cloneModel, type LoraOptions, type LoraAdapter, type LoraResult } from './lora.js';
export {
  addTokenLogProbHead, addNextTokenLoss, LOGITS_FROM, addWeightedLogProbLoss, addWeightedScoreLoss,
  type TokenLogProbHeadOptions, type TokenLossOptions, type WeightedLogProbLossOptions, type WeightedScoreLossOptions, type HeadResult,
} from './logprob-head.js';
export { stripKvCache, hasKvCache, type StripKvCacheResult } from './kv-cache.js';
export { decodingGraph, LAST_LOGITS, LAST_LOGSUMEXP, LAST_MAX, LAST_ARGMAX, NEW_KV, type DecodingGraph } from './decode-graph.js';
export { fuseAttention } from './fused-attention.js';
export { poolBeforeTail } from './pooled-tail.js';
export { fuseElementwise, fuseGeluForTraining } from './fused-elementwise.js';
export { addFrozenBranch, type FrozenBranchOptions, type FrozenBranchResult } from './frozen-branch.js';
export { addTokenKlHead, alignToNextToken, type TokenKlHeadOptions } from './token-kl-head.js';
export { finalHiddenState, lastMlpActivation, type HiddenState } from './hidden-states.js';
export { addTokenMaskHead, type TokenMaskHeadOptions, type TokenMaskHeadResult } from './mask-head.js';
export {
  addMomentProbeHead, buildMomentProbeHead, momentProbeConfig, momentProbeParameters, momentProbeFeatureWidth, MOMENT_PROBE_DEFAULTS, MOMENT_PROBE_PARAMS,
  type MomentProbeConfig, type MomentProbeHeadOptions, type MomentProbeHeadResult, type MomentProbeGraphInputs, type FirstOrderMoment,
} from './moment-probe-head.js';
export {
  mergedDecodingGraph, armPrefix, type MergedOutputs, GUIDE_ALPHA, GUIDE_TEMPERATURE, GUIDED_SCORES, GUIDED_ARGMAX, MEMBER_LOGPROBS, MEMBER_ARGMAX_LOGPROBS,
  type MergedDecodingGraph, type MergedMember,
} from './merged-decode.js';
