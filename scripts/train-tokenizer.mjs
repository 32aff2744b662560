#!/usr/bin/env node
// Train alignkit's shipped tokenizer, data/tokenizers/alignkit-bpe, on the shipped corpus
// (data/corpus, see its SOURCES.md): `npm run build && node scripts/train-tokenizer.mjs`.
// BPE training has no randomness: the same corpus and vocabulary size give the same files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { trainTokenizerFiles } from '../dist/tokenizers/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const VOCAB_SIZE = 4096;
const SPECIAL_TOKENS = ['<|endoftext|>', '<|pad|>'];
const MODEL_MAX_LENGTH = 1024;
const CORPUS = ['tinystories_sample.1MiB.txt', 'tinyshakespeare.txt', 'llamafactory_c4_demo.jsonl'];

const out = path.join(root, 'data', 'tokenizers', 'alignkit-bpe');
const result = trainTokenizerFiles({
  corpus: CORPUS.map((f) => path.join(root, 'data', 'corpus', f)),
  out,
  vocabSize: VOCAB_SIZE,
  specialTokens: SPECIAL_TOKENS,
  modelMaxLength: MODEL_MAX_LENGTH,
});

const readme = `# alignkit-bpe: alignkit's byte-level BPE tokenizer

A GPT-2-style byte-level BPE (GPT-2 pre-tokenization regex and byte-to-unicode alphabet, merges by most
frequent pair, ties to the lexicographically greatest byte pair as in the CS336 reference), trained by
\`scripts/train-tokenizer.mjs\` with alignkit's own trainer (\`src/tokenizers\`).

- Data: ${CORPUS.map((f) => `\`data/corpus/${f}\``).join(', ')} (see \`data/corpus/SOURCES.md\` for origins and licenses):
  ${result.bytes} bytes of UTF-8 text in ${result.documents} training texts (a whole \`.txt\` file or one \`.jsonl\` line each).
- Vocabulary: ${result.vocabSize} tokens = ${SPECIAL_TOKENS.length} special tokens (${SPECIAL_TOKENS.map((t, i) => `\`${t}\` = ${i}`).join(', ')}),
  the 256 byte tokens (ids ${SPECIAL_TOKENS.length}-${SPECIAL_TOKENS.length + 255}, GPT-2 byte order), ${result.merges} merges.
- \`tokenizer_config.json\`: \`GPT2Tokenizer\`, \`<|endoftext|>\` as bos/eos/unk, \`<|pad|>\` as pad, model_max_length ${MODEL_MAX_LENGTH},
  \`clean_up_tokenization_spaces: false\` (decode(encode(x)) == x), and the simple chat template
  (each turn \`<|role|>\\n\` + content + \`<|endoftext|>\`, generation prompt \`<|assistant|>\\n\`).
- Files: \`tokenizer.json\` (Hugging Face tokenizers format), \`tokenizer_config.json\`, \`vocab.json\`, \`merges.txt\`.
- Seed: none needed; training is deterministic (no sampling, ties broken by a fixed rule).
- Training time: ${result.seconds.toFixed(1)} s (Node ${process.version}, ${os.cpus().length} cores shared, ${os.cpus()[0]?.model ?? 'unknown CPU'}).

Rebuild: \`npm run build && node scripts/train-tokenizer.mjs\`, or the CLI:
\`alignkit tokenizer train ${CORPUS.map((f) => `--corpus data/corpus/${f}`).join(' ')} --vocab-size ${VOCAB_SIZE} --out data/tokenizers/alignkit-bpe\`.
`;
fs.writeFileSync(path.join(out, 'README.md'), readme);
for (const file of [...result.files, path.join(out, 'README.md')]) process.stdout.write(`${path.relative(root, file)}\n`);
process.stdout.write(`${result.vocabSize} tokens, ${result.merges} merges, ${result.seconds.toFixed(1)} s\n`);
