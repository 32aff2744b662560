// Public names of alignkit's tokenizer training: GPT-2-style byte-level BPE trained on text files
// and written as a Hugging Face tokenizer directory.
export { BYTE_ORDER, bytesToUnicode } from './byte-unicode.js';
export { GPT2_SPLIT, countPreTokens, splitOnSpecialTokens } from './pretokenize.js';
export { BPE_TRAIN_DEFAULTS, bpeTrainConfig, trainBpe, trainBpeFromCounts, type BpeModel, type BpeTrainConfig } from './bpe-train.js';
export { mergesOf, tokenizerConfigOf, tokenizerJsonOf, vocabOf, writeTokenizerDir, type TokenizerFilesOptions } from './hf-files.js';
export { readCorpus } from './corpus.js';
export { trainTokenizerFiles, type TrainTokenizerOptions, type TrainTokenizerResult } from './train-files.js';
