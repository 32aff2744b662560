// Public names of alignkit/models: Hugging Face layout directories, tokenizers, causal LMs,
// sequence classifiers, and the builders of the random-weight fixture models.
export type { Message, Text, PromptResponse } from './types.js';
export { Tokenizer, type EncodeOptions, type DecodeOptions, type ChatTemplateOptions, type PairEncoding } from './tokenizer.js';
export { loadModelDir, findOnnxFile, ONNX_CANDIDATES, type ModelDir } from './model-dir.js';
export { archInfo, type ArchInfo, type HfConfig } from './hf-config.js';
export { padRight, positionsFromMask, type PaddedBatch } from './batch.js';
export { feedsFor, emptyPast, type KvLayout } from './feeds.js';
export { pairText, encodeForCausalLM, encodeForDecoderClassifier, encodeForEncoderClassifier, type PairText, type PairIds, type ClassifierInput } from './encode.js';
export { gatherLogProbs } from './logprobs.js';
export { CausalLM, type LoadOptions, type ResponseLogProbsOptions, type ResponseLogProbs, type StepInputs, type StepOutput } from './causal-lm.js';
export { DecodingSession, GuidedDecodingSession, type CacheMember, type SlotSession, type DecoderSource } from './decoding-session.js';
export { SequenceClassifier, ENCODER_TYPES, lengthBuckets, type ClassifierKind, type ScoreOptions } from './sequence-classifier.js';
export * from './fixtures/index.js';
