import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseArm } from '../../src/cli/commands/generate.js';
import { SHARED_DATASETS } from '../helpers/paths.js';
import { runCli } from '../helpers/cli.js';

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
    expect(() => assertSameTokenizer(small, gpt2, 'ARM gpt2-arm')).toThrow(/ARM gpt2-arm .* does not share the base model's tokenizer.*GenARM/);
  });
});

// Regressions of issue #12 §5: the first over-long prompt of a --prompts file stopped the run and was
// always called "prompt 0"; a classifier given as --base exited 0 with empty texts; every prompt
// sampled with the same seed.
describe('alignkit generate --prompts over long prompts', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ak-gen-long-'));
  const file = path.join(dir, 'prompts.jsonl');
  // tiny-gpt2 has 128 positions: with --max-tokens 8, prompts of more than 120 tokens do not fit.
  const long = 'word '.repeat(300);
  fs.writeFileSync(file, ['short one', long, 'short two', long].map((prompt) => JSON.stringify({ prompt })).join('\n'));
  const lines = (out: string) => fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

  it('names the file row of the first over-long prompt (default --on-long-prompt fail)', async () => {
    const r = await runCli('generate', '--base', MODEL, '--prompts', file, '--max-tokens', '8', '--out', path.join(dir, 'fail.jsonl'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`${file} row 2: prompt has \\d+ tokens, more than the 120 allowed \\(--max-prompt-tokens, or the model's positions less --max-tokens 8\\)`));
  });

  it('--on-long-prompt skip writes the others and lists the skipped rows', async () => {
    const out = path.join(dir, 'skip.jsonl');
    const r = await runCli('generate', '--base', MODEL, '--prompts', file, '--max-tokens', '8', '--on-long-prompt', 'skip', '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toBe(`2 generations written to ${out}; 2 prompts skipped (too long): rows 2, 4`);
    expect(lines(out).map((l) => [l.row, l.prompt])).toEqual([[1, 'short one'], [3, 'short two']]);
  });

  it('--on-long-prompt truncate keeps the last tokens, --max-prompt-tokens lowers the limit', async () => {
    const out = path.join(dir, 'truncate.jsonl');
    const r = await runCli('generate', '--base', MODEL, '--prompts', file, '--max-tokens', '8', '--max-prompt-tokens', '50', '--on-long-prompt', 'truncate', '--greedy', '--out', out);
    expect(r.code, r.err).toBe(0);
    const rows = lines(out);
    expect(rows).toHaveLength(4);
    expect(rows[0]!.promptTokensDropped).toBeUndefined();
    expect(rows[1]!.promptTokensDropped).toBeGreaterThan(200);
    expect(rows[1]!.numTokens).toBe(8);
  });

  it('refuses a sequence classifier as --base', async () => {
    const r = await runCli('generate', '--base', path.resolve('data/models/tiny-gpt2-rm'), '--prompt', 'hi', '--max-tokens', '4');
    expect(r.code).toBe(1);
    expect(r.err).toContain('is a GPT2ForSequenceClassification: it scores texts and cannot generate them');
  });

  it('gives each row its own seed: the same prompt twice samples differently, reruns repeat', async () => {
    const same = path.join(dir, 'same.jsonl');
    fs.writeFileSync(same, Array.from({ length: 4 }, () => JSON.stringify({ prompt: 'Once upon a time' })).join('\n'));
    const run = async (name: string) => {
      const out = path.join(dir, name);
      expect((await runCli('generate', '--base', MODEL, '--prompts', same, '--max-tokens', '12', '--seed', '7', '--out', out)).code).toBe(0);
      return lines(out).map((l) => l.text);
    };
    const first = await run('seed-a.jsonl');
    expect(new Set(first).size).toBeGreaterThan(1);
    expect(await run('seed-b.jsonl')).toEqual(first);
  });
});
