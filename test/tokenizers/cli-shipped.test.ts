import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { Tokenizer } from '../../src/models/index.js';
import { DATA, SHARED_DATASETS } from '../helpers/paths.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alignkit-tok-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

const run = runCli;

describe('alignkit tokenizer train', () => {
  it('trains on a text file and a JSONL file and writes a loadable Hugging Face directory', async () => {
    const jsonl = path.join(dir, 'docs.jsonl');
    fs.writeFileSync(jsonl, ['{"text": "hello world"}', '{"text": "hello there"}'].join('\n'));
    const out = path.join(dir, 'tok');
    const corpus = path.join(SHARED_DATASETS, 'tokenizers', 'bpe_fixtures_cs336', 'tinystories_sample.txt');
    const { code, out: printed } = await run('tokenizer', 'train', '--corpus', corpus, '--corpus', jsonl, '--vocab-size', '300', '--out', out, '--json');
    expect(code).toBe(0);
    const summary = JSON.parse(printed) as Record<string, unknown>;
    expect(summary).toMatchObject({ documents: 3, vocabSize: 300, merges: 300 - 258, specialTokens: ['<|endoftext|>', '<|pad|>'] });
    expect(fs.readdirSync(out).sort()).toEqual(['merges.txt', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json']);
    const tok = await Tokenizer.load(out);
    expect(tok.decode(tok.encode('hello world, Lily!'))).toBe('hello world, Lily!');
  });

  it('names the bad row of a JSONL corpus', async () => {
    const bad = path.join(dir, 'bad.jsonl');
    fs.writeFileSync(bad, '{"text": "ok"}\n{"body": "no text"}\n');
    const { code, err } = await run('tokenizer', 'train', '--corpus', bad, '--out', path.join(dir, 'x'));
    expect(code).toBe(1);
    expect(err).toContain(`${bad} row 2: field "text" must be a string`);
  });

  it('rejects a missing --out and an unknown subcommand', async () => {
    expect((await run('tokenizer', 'train', '--corpus', 'x.txt')).err).toContain('needs --out DIR');
    expect((await run('tokenizer', 'fit')).err).toContain("unknown subcommand 'fit' (subcommands: train)");
  });
});

describe('the shipped alignkit-bpe tokenizer', () => {
  it('loads, has 4096 tokens with <|endoftext|> = 0 and <|pad|> = 1, and round-trips shipped preference text', async () => {
    const tok = await Tokenizer.load(path.join(DATA, 'tokenizers', 'alignkit-bpe'));
    expect(tok.vocabSize).toBe(4096);
    expect([tok.eosTokenId, tok.padTokenId]).toEqual([0, 1]);
    const lines = fs.readFileSync(path.join(DATA, 'samples', 'ultrafeedback_binarized_sample_train.60.jsonl'), 'utf8').split('\n').slice(0, 5);
    for (const line of lines) {
      const text = (JSON.parse(line) as { chosen: string }).chosen;
      expect(tok.decode(tok.encode(text))).toBe(text);
    }
  });
});
