// `alignkit tokenizer train`: a GPT-2-style byte-level BPE trained on text files, written as a
// Hugging Face tokenizer directory (tokenizer.json, tokenizer_config.json, vocab.json, merges.txt).

import path from 'node:path';
import { fail } from '../../errors.js';
import { BPE_TRAIN_DEFAULTS, trainTokenizerFiles } from '../../tokenizers/index.js';
import { runSubcommand, type Command, type FlagTable } from '../registry.js';
import { parseFlags, usageText } from '../options.js';

const TRAIN_FLAGS: FlagTable = {
  corpus: { type: 'string', multiple: true, value: 'FILE', help: 'training text; repeatable. A .jsonl file is one document per line (its "text" field); any other file is read whole, documents separated by special tokens' },
  out: { type: 'string', value: 'DIR', help: 'output directory (created)' },
  'vocab-size': { type: 'string', value: 'N', shownDefault: BPE_TRAIN_DEFAULTS.vocabSize, help: 'final vocabulary size, 256 bytes and special tokens included' },
  'special-token': { type: 'string', multiple: true, value: 'TOKEN', shownDefault: BPE_TRAIN_DEFAULTS.specialTokens.join(' '), help: 'special token, repeatable, ids 0.. in order; the first is bos/eos, one named like <|pad|> is the pad token' },
  'max-length': { type: 'string', value: 'N', shownDefault: 1024, help: 'model_max_length written to tokenizer_config.json' },
  json: { type: 'boolean', help: 'print the summary as JSON' },
};

const TRAIN_USAGE = usageText({
  synopsis: 'alignkit tokenizer train --corpus FILE [--corpus FILE ...] --out DIR [flags]',
  description: 'Trains a GPT-2-style byte-level BPE and writes a Hugging Face tokenizer directory\n(tokenizer.json, tokenizer_config.json, vocab.json, merges.txt).',
  flags: TRAIN_FLAGS,
});

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--${flag} must be a positive integer, got '${value}'`, { parameter: flag });
  return n;
}

async function train(argv: string[]): Promise<number> {
  const { values: v } = parseFlags('tokenizer train', TRAIN_FLAGS, argv);
  const values = v as Record<string, string | undefined> & { corpus?: string[]; 'special-token'?: string[] };
  if (!values.corpus?.length) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'tokenizer train needs at least one --corpus FILE (alignkit tokenizer train --help)', { parameter: 'corpus' });
  if (!values.out) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', 'tokenizer train needs --out DIR (alignkit tokenizer train --help)', { parameter: 'out' });
  const result = trainTokenizerFiles({
    corpus: values.corpus,
    out: values.out,
    vocabSize: positiveInt(values['vocab-size'], 'vocab-size'),
    specialTokens: values['special-token'],
    modelMaxLength: positiveInt(values['max-length'], 'max-length'),
  });
  const summary = {
    out: values.out,
    documents: result.documents,
    bytes: result.bytes,
    vocabSize: result.vocabSize,
    merges: result.merges,
    specialTokens: result.model.specialTokens,
    seconds: Number(result.seconds.toFixed(2)),
    files: result.files.map((f) => path.basename(f)),
  };
  if (values.json) console.log(JSON.stringify(summary, null, 2));
  else console.log(`trained ${summary.vocabSize} tokens (${summary.merges} merges) on ${summary.bytes} bytes in ${summary.documents} texts, in ${summary.seconds} s -> ${summary.out}`);
  return 0;
}

const SUBCOMMANDS: Record<string, Command> = {
  train: { name: 'train', summary: 'train a byte-level BPE tokenizer on text files', usage: TRAIN_USAGE, flags: TRAIN_FLAGS, run: train },
};

export const tokenizerCommand: Command = {
  name: 'tokenizer',
  summary: 'train a byte-level BPE tokenizer on text files (Hugging Face tokenizer.json)',
  usage: `usage: alignkit tokenizer train [flags]\n\n  train  train a byte-level BPE tokenizer on text files\n\nalignkit tokenizer train --help lists its flags.`,
  subcommands: SUBCOMMANDS,
  run: runSubcommand('tokenizer', SUBCOMMANDS),
};
