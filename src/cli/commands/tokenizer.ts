// `alignkit tokenizer train`: a GPT-2-style byte-level BPE trained on text files, written as a
// Hugging Face tokenizer directory (tokenizer.json, tokenizer_config.json, vocab.json, merges.txt).

import path from 'node:path';
import { parseArgs } from 'node:util';
import { fail } from '../../errors.js';
import { BPE_TRAIN_DEFAULTS, trainTokenizerFiles } from '../../tokenizers/index.js';
import type { Command } from '../registry.js';

const USAGE = `usage: alignkit tokenizer train --corpus FILE [--corpus FILE ...] --out DIR
                                [--vocab-size N] [--special-token TOKEN ...] [--max-length N] [--json]

  --corpus FILE        training text; repeatable. A .jsonl file is one document per line (its "text"
                       field); any other file is read whole, documents separated by special tokens.
  --vocab-size N       final vocabulary size, 256 bytes and special tokens included (default ${BPE_TRAIN_DEFAULTS.vocabSize})
  --special-token T    special token, repeatable, ids 0.. in order; the first is bos/eos, one named
                       like <|pad|> is the pad token (default ${BPE_TRAIN_DEFAULTS.specialTokens.join(' ')})
  --max-length N       model_max_length written to tokenizer_config.json (default 1024)
  --out DIR            output directory (created)`;

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `--${flag} must be a positive integer, got '${value}'`, { parameter: flag });
  return n;
}

async function train(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      corpus: { type: 'string', multiple: true },
      'vocab-size': { type: 'string' },
      'special-token': { type: 'string', multiple: true },
      'max-length': { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  if (!values.corpus?.length) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `tokenizer train needs at least one --corpus FILE\n\n${USAGE}`, { parameter: 'corpus' });
  if (!values.out) throw fail('ALIGNKIT_ERR_INVALID_ARGUMENT', `tokenizer train needs --out DIR\n\n${USAGE}`, { parameter: 'out' });
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

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = { train };

export const tokenizerCommand: Command = {
  name: 'tokenizer',
  summary: 'train a byte-level BPE tokenizer on text files (Hugging Face tokenizer.json)',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    const handler = sub === undefined ? undefined : SUBCOMMANDS[sub];
    if (!handler) throw fail('ALIGNKIT_ERR_UNKNOWN_NAME', `tokenizer subcommand must be one of ${Object.keys(SUBCOMMANDS).join(', ')}, got '${sub ?? ''}'\n\n${USAGE}`, { parameter: 'subcommand' });
    return handler(rest);
  },
};
