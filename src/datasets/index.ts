// alignkit/datasets: reading and writing preference data in JSONL / JSON / Arrow IPC / Parquet,
// recognising Hugging Face column conventions, splitting, shuffling and tokenizing.

export type { ExampleOfKind, Message, PairedExample, PreferenceExample, PreferenceKind, RatedExample, Row, RowProblem, Text, UnpairedExample } from './types.js';
export { readRows, writeRows, commitFile, temporaryPathFor, ROW_IO_DEFAULTS, type ReadRowsOptions, type WriteRowsOptions } from './rows.js';
export { FILE_FORMATS, formatFor, type FileFormat, type FormatName, type IndexedRow } from './formats/index.js';
export { CONVENTIONS, HELPSTEER_ATTRIBUTES, conventionByName, detectConvention, type Convention, type RowContext } from './conventions/index.js';
export { loadPreferenceData, openPreferenceRecords, openPreferenceStream, openValidatedRows, type ValidatedRecord, type LoadOptions, type LoadedPreferenceData, type PreferenceStream } from './load.js';
export { isEvalId, splitTrainEval, type SplitOptions } from './split.js';
export { hashString, hashToUnit, mulberry32, shuffle, toRng, type Rng } from '../random.js';
export {
  renderTexts,
  responsesOf,
  tokenizeExample,
  tokenizeExamples,
  truncatePair,
  truncationConfig,
  type ChatTemplate,
  type Encoder,
  type TokenizeConfig,
  type TokenizedExample,
  type TruncatedIds,
  type TruncationConfig,
  type TruncationCounts,
  type TruncationSide,
} from './tokenize.js';
export { exampleToRow } from './records.js';
export { readPrompts, streamPrompts, type PromptRange, type PromptRow } from './prompts.js';
export { lengthStats, summarize, textLength, type LengthSummary } from './stats.js';
export { countRows } from './count.js';
