import fs from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { loadPreferenceData, tokenizeExample, tokenizeExamples, truncatePair, type ChatTemplate, type Encoder, type PairedExample } from '../../src/datasets/index.js';
import { HH, KTO } from './helpers.js';

/** One token per character (its code point): every count below can be checked by counting letters. */
const charEncoder: Encoder = { encode: (text) => Array.from(text, (c) => c.codePointAt(0)!) };
const ids = (text: string): number[] => charEncoder.encode(text);

describe('truncatePair (hand-worked, one token per character)', () => {
  const limits = { maxPromptLength: 4, maxLength: 10 };

  it('leaves a pair that fits alone', () => {
    const out = truncatePair(ids('abc'), [ids('1234567'), ids('xy')], limits);
    expect(out).toEqual({ prompt: ids('abc'), responses: [ids('1234567'), ids('xy')], promptTruncated: false, responsesTruncated: [false, false] });
  });

  it('cuts the prompt from the left (keep_end) when prompt + longer response is too long', () => {
    // 8 + max(5, 3) = 13 > 10: prompt to its last 4 tokens; 4 + 5 = 9 fits, responses untouched.
    const out = truncatePair(ids('abcdefgh'), [ids('12345'), ids('xyz')], limits);
    expect(out.prompt).toEqual(ids('efgh'));
    expect(out.responses).toEqual([ids('12345'), ids('xyz')]);
    expect(out.promptTruncated).toBe(true);
    expect(out.responsesTruncated).toEqual([false, false]);
  });

  it('keeps the prompt start with keep_start', () => {
    expect(truncatePair(ids('abcdefgh'), [ids('12345')], { ...limits, truncationSide: 'keep_start' }).prompt).toEqual(ids('abcd'));
  });

  it('then cuts responses at the end to the room left', () => {
    // 8 + 10 > 10: prompt to 4; 4 + 10 = 14 > 10 still: each response to 10 - 4 = 6 tokens.
    const out = truncatePair(ids('abcdefgh'), [ids('1234567890'), ids('xy')], limits);
    expect(out.prompt).toEqual(ids('efgh'));
    expect(out.responses).toEqual([ids('123456'), ids('xy')]);
    expect(out.responsesTruncated).toEqual([true, false]);
  });

  it('gives responses the room a short prompt leaves (TRL would cap at maxLength - maxPromptLength = 6)', () => {
    // Prompt 2 tokens is under maxPromptLength: kept; responses get 10 - 2 = 8.
    const out = truncatePair(ids('ab'), [ids('123456789012')], limits);
    expect(out.responses).toEqual([ids('12345678')]);
    expect(out.promptTruncated).toBe(false);
  });

  it('applies maxCompletionLength first, and maxPromptLength alone when there is no maxLength', () => {
    const out = truncatePair(ids('abcdefgh'), [ids('12345'), ids('xy')], { maxPromptLength: 3, maxCompletionLength: 3 });
    expect(out.prompt).toEqual(ids('fgh'));
    expect(out.responses).toEqual([ids('123'), ids('xy')]);
    expect(out.responsesTruncated).toEqual([true, false]);
  });

  it('rejects inconsistent limits naming the parameter', () => {
    expect(() => truncatePair([], [], { maxPromptLength: 10, maxLength: 10 })).toThrow(expect.objectContaining({ details: { parameter: 'maxPromptLength' } }));
    expect(() => truncatePair([], [], { maxLength: 0 })).toThrow(expect.objectContaining({ code: 'ALIGNKIT_ERR_INVALID_ARGUMENT' }));
  });
});

describe('tokenizeExample', () => {
  const template: ChatTemplate = (messages, addGenerationPrompt) => messages.map((m) => `<${m.role}>${m.content}\n`).join('') + (addGenerationPrompt ? '<assistant>' : '');

  it('renders message lists with the chat template, counting template text once, and appends eos to responses', () => {
    const example: PairedExample = {
      id: 'sky',
      prompt: [{ role: 'user', content: 'Sky?' }],
      chosen: [{ role: 'assistant', content: 'Blue.' }],
      rejected: [{ role: 'assistant', content: 'Green.' }],
    };
    const out = tokenizeExample(example, charEncoder, { chatTemplate: template, eosTokenId: 0 });
    expect(out.promptIds).toEqual(ids('<user>Sky?\n<assistant>'));
    expect(out.responseIds).toEqual([[...ids('Blue.\n'), 0], [...ids('Green.\n'), 0]]);
  });

  it('asks for a chat template when the example holds messages', () => {
    const example: PairedExample = { id: 'm', prompt: [{ role: 'user', content: 'x' }], chosen: 'a', rejected: 'b' };
    expect(() => tokenizeExample(example, charEncoder)).toThrow(expect.objectContaining({ code: 'ALIGNKIT_ERR_INVALID_ARGUMENT', details: { parameter: 'chatTemplate', id: 'm' } }));
  });

  it('counts truncated prompts and responses over real KTO rows (single response each)', async () => {
    const { examples } = await loadPreferenceData(KTO);
    const { items, counts } = tokenizeExamples(examples, charEncoder, { chatTemplate: template, maxPromptLength: 200, maxLength: 600 });
    expect(items).toHaveLength(50);
    // Independent count: render each example the same way, then apply the rule to the lengths.
    let prompts = 0;
    let responses = 0;
    for (const e of examples) {
      const p = template(e.prompt as never, true).length;
      const r = (template([...(e.prompt as never[]), ...(('completion' in e ? e.completion : []) as never[])], false).length - p);
      const promptCut = p + r > 600 && p > 200;
      if (promptCut) prompts++;
      if ((promptCut ? 200 : p) + r > 600) responses++;
    }
    expect(counts).toEqual({ examples: 50, promptsTruncated: prompts, responsesTruncated: responses });
    expect(prompts).toBeGreaterThan(0);
    expect(responses).toBeGreaterThan(0);
  });
});

describe('with the real GPT-2 tokenizer on HH-RLHF', () => {
  const candidates = ['data/tokenizers/gpt2', '../shared/datasets/tokenizers/gpt2'].map((d) => path.resolve(d));
  const dir = candidates.find((d) => fs.existsSync(path.join(d, 'tokenizer.json'))) ?? candidates[0]!;
  const readJson = (name: string): object => (fs.existsSync(path.join(dir, name)) ? JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) : {});

  it('keeps the end of long prompts (so they still end with "\\n\\nAssistant:") and counts every cut', async () => {
    const tokenizer = new Tokenizer(readJson('tokenizer.json'), readJson('tokenizer_config.json'));
    const gpt2: Encoder = { encode: (text) => tokenizer.encode(text, { add_special_tokens: false }).ids };
    // 100 dialogues keep the test to about a second (each is encoded twice: here and independently below).
    const { examples } = await loadPreferenceData(HH, { kind: 'paired', limit: 100 });
    const config = { maxPromptLength: 64, maxLength: 128, eosTokenId: 50256 };
    const { items, counts } = tokenizeExamples(examples, gpt2, config);

    let prompts = 0;
    let responses = 0;
    examples.forEach((e, i) => {
      const p = gpt2.encode(e.prompt as string);
      const rs = [gpt2.encode(e.chosen as string).length + 1, gpt2.encode(e.rejected as string).length + 1];
      const promptCut = p.length + Math.max(...rs) > 128 && p.length > 64;
      if (promptCut) {
        prompts++;
        expect(items[i]!.promptIds).toEqual(p.slice(p.length - 64));
        expect(tokenizer.decode(items[i]!.promptIds)).toMatch(/\n\nAssistant:$/);
      } else {
        expect(items[i]!.promptIds).toEqual(p);
      }
      const room = 128 - (promptCut ? 64 : p.length);
      responses += rs.filter((n) => n > room).length;
      for (const r of items[i]!.responseIds) expect(items[i]!.promptIds.length + r.length).toBeLessThanOrEqual(128);
    });
    expect(counts).toEqual({ examples: 100, promptsTruncated: prompts, responsesTruncated: responses });
    expect(prompts).toBeGreaterThan(10);
  });
});
