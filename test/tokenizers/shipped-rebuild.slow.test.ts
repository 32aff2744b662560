import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergesOf, readCorpus, trainBpe, vocabOf } from '../../src/tokenizers/index.js';
import { DATA } from '../helpers/paths.js';

const CORPUS = ['tinystories_sample.1MiB.txt', 'tinyshakespeare.txt', 'llamafactory_c4_demo.jsonl'].map((f) => path.join(DATA, 'corpus', f));
const SHIPPED = path.join(DATA, 'tokenizers', 'alignkit-bpe');

describe('data/tokenizers/alignkit-bpe', () => {
  it('is reproduced exactly by training on data/corpus with vocab 4096, in well under a minute', () => {
    const started = Date.now();
    const model = trainBpe(readCorpus(CORPUS), { vocabSize: 4096, specialTokens: ['<|endoftext|>', '<|pad|>'] });
    const seconds = (Date.now() - started) / 1000;
    expect(seconds).toBeLessThan(60);
    expect(vocabOf(model)).toEqual(JSON.parse(fs.readFileSync(path.join(SHIPPED, 'vocab.json'), 'utf8')));
    const shippedMerges = fs.readFileSync(path.join(SHIPPED, 'merges.txt'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#version'));
    expect(mergesOf(model).map(([a, b]) => `${a} ${b}`)).toEqual(shippedMerges);
  });
});
