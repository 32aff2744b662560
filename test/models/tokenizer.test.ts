import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { parseMerges, Tokenizer } from '../../src/models/index.js';
import { BERT_DIR, BPE500, LM_DIR, SAMPLES, localTransformers, referenceBpeEncode } from './helpers.js';

const SAMPLE_FILES = ['tinystories_sample.txt', 'address.txt', 'german.txt'];
const vocab = JSON.parse(fs.readFileSync(path.join(BPE500, 'vocab.json'), 'utf8')) as Record<string, number>;
const merges = parseMerges(fs.readFileSync(path.join(BPE500, 'merges.txt'), 'utf8'), 'merges.txt');
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

describe('bpe500 tokenizer', () => {
  it('has the 500 CS336 tokens with <|endoftext|> = 0 as bos, eos and pad', async () => {
    const tok = await Tokenizer.load(BPE500);
    expect(tok.vocabSize).toBe(500);
    expect([tok.padTokenId, tok.eosTokenId, tok.bosTokenId]).toEqual([0, 0, 0]);
    expect(tok.modelMaxLength).toBe(128);
  });

  for (const file of SAMPLE_FILES) {
    it(`round-trips ${file} and encodes it as textbook BPE does`, async () => {
      const text = fs.readFileSync(path.join(SAMPLES, file), 'utf8');
      const tok = await Tokenizer.load(BPE500);
      const ids = tok.encode(text);
      // Independent: the merge loop written out in helpers.ts over vocab.json + merges.txt.
      expect(ids).toEqual(referenceBpeEncode(text, vocab, merges, '<|endoftext|>'));
      expect(tok.decode(ids)).toBe(text);
      // The same tokenizer.json through @huggingface/tokenizers directly.
      const hf = new HfTokenizer(readJson(path.join(BPE500, 'tokenizer.json')), readJson(path.join(BPE500, 'tokenizer_config.json')));
      expect(hf.encode(text).ids).toEqual(ids);
      expect(hf.decode(ids)).toBe(text);
    });
  }

  it('loads through transformers.js AutoTokenizer from local files with the same ids', async () => {
    const t = await localTransformers();
    const hf = await t.AutoTokenizer.from_pretrained('tiny-gpt2', { local_files_only: true });
    const tok = await Tokenizer.load(LM_DIR);
    const text = fs.readFileSync(path.join(SAMPLES, 'german.txt'), 'utf8');
    expect(hf.encode(text)).toEqual(tok.encode(text));
  });

  it('renders the chat template of tokenizer_config.json', async () => {
    const tok = await Tokenizer.load(BPE500);
    const msgs = [{ role: 'user', content: 'Hi there' }];
    expect(tok.hasChatTemplate).toBe(true);
    expect(tok.applyChatTemplate(msgs, { addGenerationPrompt: true })).toBe('<|user|>\nHi there<|endoftext|><|assistant|>\n');
    expect(tok.applyChatTemplate([...msgs, { role: 'assistant', content: 'Hello' }])).toBe('<|user|>\nHi there<|endoftext|><|assistant|>\nHello<|endoftext|>');
    // <|endoftext|> inside rendered text is the special token, not its characters.
    expect(tok.encode('a<|endoftext|>').at(-1)).toBe(0);
  });

  it('encodes pairs with BERT specials and token types for the encoder fixture', async () => {
    const tok = await Tokenizer.load(BERT_DIR);
    const a = tok.encode('a question', { addSpecialTokens: false });
    const b = tok.encode(' an answer', { addSpecialTokens: false });
    const pair = tok.encodePair('a question', ' an answer');
    expect(pair.ids).toEqual([500, ...a, 501, ...b, 501]);
    expect(pair.tokenTypeIds).toEqual([0, ...a.map(() => 0), 0, ...b.map(() => 1), 1]);
    expect(tok.padTokenId).toBe(502);
  });

  it('names the directory when tokenizer.json is missing', async () => {
    await expect(Tokenizer.load(SAMPLES)).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_MODEL_DIR', message: expect.stringContaining('tokenizer.json') });
  });
});
