import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Tokenizer } from '../../src/models/index.js';
import { countPreTokens, mergesOf, trainBpe, vocabOf, writeTokenizerDir } from '../../src/tokenizers/index.js';
import { SHARED_DATASETS } from '../helpers/paths.js';

const CS336 = path.join(SHARED_DATASETS, 'tokenizers', 'bpe_fixtures_cs336');
const read = (name: string): string => fs.readFileSync(path.join(CS336, name), 'utf8');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-bpe-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('byte-level BPE training', () => {
  const model = trainBpe([read('corpus.en')], { vocabSize: 500, specialTokens: ['<|endoftext|>'] });

  it('reproduces the CS336 reference merges on corpus.en with vocab 500', () => {
    const reference = read('train-bpe-reference-merges.txt').split('\n').filter((l) => l !== '');
    expect(reference).toHaveLength(243);
    expect(mergesOf(model).map(([a, b]) => `${a} ${b}`)).toEqual(reference);
  });

  it('reproduces the CS336 reference vocabulary, ids included', () => {
    expect(vocabOf(model)).toEqual(JSON.parse(read('train-bpe-reference-vocab.json')));
  });

  it('never merges across a special token and never counts it', () => {
    const counts = countPreTokens('ab<|endoftext|>ab', ['<|endoftext|>']);
    expect([...counts]).toEqual([['ab', 2]]);
    // "a" + "<|endoftext|>" + "a": the two a's are in separate pieces, so "aa" cannot be learned.
    const m = trainBpe(['xa<|endoftext|>ay'], { vocabSize: 258, specialTokens: ['<|endoftext|>'] });
    expect(mergesOf(m)).toEqual([['x', 'a']]);
  });

  it('breaks count ties by the greater byte pair, compared as bytes not as GPT-2 characters', () => {
    // " a" and "ab" both occur once inside " ab"; as bytes (0x20, 0x61) < (0x61, 0x62), so "a b" wins,
    // although in the GPT-2 alphabet the space is U+0120 which sorts after "a".
    const m = trainBpe([' ab'], { vocabSize: 258, specialTokens: ['<|endoftext|>'] });
    expect(mergesOf(m)).toEqual([['a', 'b']]);
  });

  it('rejects a vocabulary smaller than the bytes plus special tokens, naming the parameter', () => {
    expect(() => trainBpe(['x'], { vocabSize: 200 })).toThrow(/vocabSize must be an integer of at least 258/);
  });

  it('writes a tokenizer.json that Tokenizer.load reads and that round-trips text', async () => {
    const trained = trainBpe([read('corpus.en')], { vocabSize: 600 });
    writeTokenizerDir(dir, trained, { modelMaxLength: 256 });
    const tok = await Tokenizer.load(dir);
    expect(tok.vocabSize).toBe(600);
    expect(tok.eosTokenId).toBe(0);
    expect(tok.padTokenId).toBe(1);
    for (const name of ['tinystories_sample.txt', 'address.txt', 'german.txt']) {
      const text = read(name);
      const ids = tok.encode(text);
      expect(ids.length).toBeLessThan(Buffer.byteLength(text));
      expect(tok.decode(ids)).toBe(text);
    }
    const withEot = 'Once upon a time.<|endoftext|>The end.';
    const ids = tok.encode(withEot);
    expect(ids).toContain(0);
    expect(tok.decode(ids)).toBe(withEot);
    expect(tok.applyChatTemplate([{ role: 'user', content: 'hi' }], { addGenerationPrompt: true })).toBe('<|user|>\nhi<|endoftext|><|assistant|>\n');
  });
});
