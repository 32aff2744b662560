// Corpus files in, tokenizer directory out: what `alignkit tokenizer train` and
// scripts/train-tokenizer.mjs both run.

import { trainBpe, bpeTrainConfig, type BpeModel, type BpeTrainConfig } from './bpe-train.js';
import { readCorpus } from './corpus.js';
import { writeTokenizerDir, type TokenizerFilesOptions } from './hf-files.js';

export interface TrainTokenizerOptions extends Partial<BpeTrainConfig>, TokenizerFilesOptions {
  corpus: string[];
  out: string;
}

export interface TrainTokenizerResult {
  model: BpeModel;
  files: string[];
  documents: number;
  bytes: number;
  vocabSize: number;
  merges: number;
  seconds: number;
}

export function trainTokenizerFiles(opts: TrainTokenizerOptions): TrainTokenizerResult {
  const config = bpeTrainConfig({ vocabSize: opts.vocabSize, specialTokens: opts.specialTokens });
  const started = process.hrtime.bigint();
  const docs = readCorpus(opts.corpus);
  const model = trainBpe(docs, config);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const files = writeTokenizerDir(opts.out, model, opts);
  return {
    model,
    files,
    documents: docs.length,
    bytes: docs.reduce((s, d) => s + Buffer.byteLength(d), 0),
    vocabSize: model.tokens.length,
    merges: model.merges.length,
    seconds,
  };
}
