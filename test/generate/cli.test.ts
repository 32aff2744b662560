import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseArm } from '../../src/cli/commands/generate.js';
import { SHARED_DATASETS } from '../helpers/paths.js';

const MODEL = path.resolve('data/models/tiny-gpt2');

describe('alignkit generate', () => {
  it('writes one JSONL line per prompt with base and ARM log-probs', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ak-gen-')), 'out.jsonl');
    const code = await main(['generate', '--base', MODEL, '--arm', `${MODEL}:0.5`, '--prompt', 'Once upon a time', '--prompt', 'The dog', '--max-tokens', '6', '--greedy', '--out', out]);
    expect(code).toBe(0);
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0].prompt).toBe('Once upon a time');
    expect(lines[0].numTokens).toBe(6);
    expect(lines[0].baseLogprobs).toHaveLength(6);
    expect(lines[0].armLogprobs['tiny-gpt2']).toEqual(lines[0].baseLogprobs); // the ARM is the base itself here
  });

  it('reads prompts from a preference dataset', async () => {
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ak-gen-')), 'out.jsonl');
    const file = path.join(path.dirname(out), 'p.jsonl');
    fs.writeFileSync(file, ['{"prompt":"a","chosen":"b","rejected":"c"}', '{"prompt":"d","chosen":"e","rejected":"f"}'].join('\n'));
    expect(await main(['generate', '--base', MODEL, '--prompts', file, '--max-tokens', '2', '--out', out, '--seed', '1'])).toBe(0);
    expect(fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l).prompt)).toEqual(['a', 'd']);
  });

  it('rejects a malformed --arm with a message naming the flag', () => {
    expect(() => parseArm('dir-without-alpha')).toThrow(/--arm must be DIR:ALPHA/);
    expect(parseArm('C:/x:y:0.25')).toEqual({ dir: 'C:/x:y', alpha: 0.25 });
  });
});

describe('weak-to-strong guidance', () => {
  it('refuses an ARM whose tokenizer differs from the base', async () => {
    const { Tokenizer } = await import('../../src/models/index.js');
    const { assertSameTokenizer } = await import('../../src/generate/index.js');
    const small = await Tokenizer.load(path.resolve('data/tokenizers/bpe500'));
    const gpt2 = await Tokenizer.load(path.join(SHARED_DATASETS, 'tokenizers/gpt2'));
    expect(() => assertSameTokenizer(small, small, 'same')).not.toThrow();
    expect(() => assertSameTokenizer(small, gpt2, 'gpt2-arm')).toThrow(/ARM gpt2-arm .* does not share the base model's tokenizer/);
  });
});
