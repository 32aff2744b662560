// Public names of alignkit/generate: KV-cached decoding, logits processors, samplers, GenARM guidance.
export * from './processors.js';
export { genarmScores, type GuidanceTerm } from './guidance.js';
export { SAMPLERS, type Sampler, type SamplerName, type Random } from './sampler.js';
export { KvDecoder, type DecoderModel } from './kv-decoder.js';
export { GuidedDecoder } from './guided-decoder.js';
export { generate, generateStream, DEFAULT_GENERATION, type AsyncLogitsProcessor, type GenerationConfig, type GenerationResult, type Guide, type TokenEvent, type FinishReason, type DecodingTokenizer } from './generate.js';
export { bestOfN, argsProcessor, type TextScorer, type ArgsOptions, type Ranked } from './baselines.js';
export { sampleRankedPairs, type RankedPair, type RankedPairsOptions, type RankedPairsResult } from './ranked-pairs.js';
export { Generator, assertSameTokenizer, encodePrompt, type ArmSpec, type LoadedArm } from './generator.js';
export { LivePolicy, initializersAsInputs } from './live-policy.js';
export { rollout, entropyOf, type RolloutConfig, type RolloutRow } from './rollout.js';
export { meanStdErr, olsSlope, pairedWinRate, sequenceKl, bestOfNKl, keepEnd, sampledLogprobRecorder, type MeanStdErr, type WinRate, type SampledLogprobRecorder } from './evaluate.js';
export { LONG_PROMPT_POLICIES, checkLongPromptPolicy, fitPrompt, type LongPromptPolicy, type FittedPrompt, type PromptSite } from './long-prompt.js';
