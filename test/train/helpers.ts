// Shared set-up for the training tests: the committed tiny GPT-2 fixture (optimum's with-past
// layout) and a token stream from tinyshakespeare through its own bpe500 tokenizer.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '../../src/models/index.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const TINY_GPT2_DIR = path.join(ROOT, 'data/models/tiny-gpt2');
export const TINY_GPT2_ONNX = path.join(TINY_GPT2_DIR, 'onnx/model.onnx');
export const SHAKESPEARE = path.resolve(ROOT, '../shared/datasets/corpus/tinyshakespeare.txt');

export async function shakespeareTokens(chars: number): Promise<number[]> {
  const tok = await Tokenizer.load(TINY_GPT2_DIR);
  return tok.encode(fs.readFileSync(SHAKESPEARE, 'utf8').slice(0, chars), { addSpecialTokens: false });
}
