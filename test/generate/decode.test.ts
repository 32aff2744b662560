import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generate, generateStream, genarmScores, logSoftmax } from '../../src/generate/index.js';
import { CausalLM } from '../../src/models/index.js';

const MODEL = path.resolve('data/models/tiny-gpt2');
let lm: CausalLM;

beforeAll(async () => {
  lm = await CausalLM.load(MODEL);
});

const prompts = () => [lm.tokenizer.encode('Once upon a time'), lm.tokenizer.encode('The cat'), lm.tokenizer.encode('Hello there, said the little dog')];

describe('KV-cached decoding on the tiny GPT-2 fixture', () => {
  it('gives the same greedy tokens with and without the cache, for a left-padded batch', async () => {
    const opts = { sampler: 'greedy' as const, maxNewTokens: 12, stopAtEos: false };
    const cached = await generate(lm, lm.tokenizer, prompts(), { ...opts, useCache: true });
    const uncached = await generate(lm, lm.tokenizer, prompts(), { ...opts, useCache: false });
    expect(cached.map((r) => r.tokens)).toEqual(uncached.map((r) => r.tokens));
    cached.forEach((r, i) => r.baseLogprobs.forEach((lp, t) => expect(lp).toBeCloseTo(uncached[i]!.baseLogprobs[t]!, 4)));
    expect(cached.every((r) => r.tokens.length === 12 && r.finishReason === 'length')).toBe(true);
  });

  it('decodes a row in a batch exactly as alone (left padding does not leak)', async () => {
    const opts = { sampler: 'greedy' as const, maxNewTokens: 8, stopAtEos: false };
    const batch = await generate(lm, lm.tokenizer, prompts(), opts);
    const alone = await generate(lm, lm.tokenizer, [prompts()[1]!], opts);
    expect(batch[1]!.tokens).toEqual(alone[0]!.tokens);
  });

  it('reproduces a sampled run from its seed and differs with another seed', async () => {
    const opts = { sampler: 'sample' as const, maxNewTokens: 16, temperature: 1.5, stopAtEos: false };
    const a = await generate(lm, lm.tokenizer, prompts(), { ...opts, seed: 3 });
    const b = await generate(lm, lm.tokenizer, prompts(), { ...opts, seed: 3 });
    const c = await generate(lm, lm.tokenizer, prompts(), { ...opts, seed: 4 });
    expect(a.map((r) => r.tokens)).toEqual(b.map((r) => r.tokens));
    expect(a.map((r) => r.tokens)).not.toEqual(c.map((r) => r.tokens));
  });

  it('stops at a stop string and cuts it off', async () => {
    const free = await generate(lm, lm.tokenizer, [prompts()[0]!], { sampler: 'greedy', maxNewTokens: 20, stopAtEos: false });
    const text = free[0]!.text;
    const stop = text.slice(3, 5);
    const cut = await generate(lm, lm.tokenizer, [prompts()[0]!], { sampler: 'greedy', maxNewTokens: 20, stopAtEos: false, stop: [stop] });
    expect(cut[0]!.finishReason).toBe('stop');
    expect(cut[0]!.text).toBe(text.slice(0, text.indexOf(stop)));
  });

  it('streams tokens as they are chosen, matching the final result', async () => {
    const it = generateStream(lm, lm.tokenizer, prompts(), { sampler: 'greedy', maxNewTokens: 5, stopAtEos: false });
    const seen: number[][] = [[], [], []];
    let r = await it.next();
    while (!r.done) {
      seen[r.value.row]!.push(r.value.token);
      r = await it.next();
    }
    expect(seen).toEqual(r.value.map((x) => x.tokens));
  });

  // Regression (issue 13): row text is now decoded only when read; a stream's deltas must still add
  // up to each row's final text, with and without a stop string cutting it.
  it("streams deltas that add up to each row's final text, a stop string's cut included", async () => {
    const free = await generate(lm, lm.tokenizer, prompts(), { sampler: 'greedy', maxNewTokens: 20, stopAtEos: false });
    const stop = free[0]!.text.slice(6, 8);
    for (const opts of [{}, { stop: [stop] }]) {
      const it = generateStream(lm, lm.tokenizer, prompts(), { sampler: 'greedy', maxNewTokens: 20, stopAtEos: false, ...opts });
      const text = ['', '', ''];
      let r = await it.next();
      while (!r.done) {
        text[r.value.row] += r.value.delta;
        r = await it.next();
      }
      expect(text).toEqual(r.value.map((x) => x.text));
      expect(r.value[0]!.finishReason).toBe('stop' in opts ? 'stop' : 'length');
    }
  });

  it('GenARM guidance with the model as its own ARM equals the formula on the first step', async () => {
    const p = [prompts()[0]!];
    const alpha = 0.7;
    const T = 0.8;
    const guided = await generate(lm, lm.tokenizer, p, { sampler: 'greedy', maxNewTokens: 1, temperature: T, stopAtEos: false }, [{ model: lm, alpha }]);
    const logits = await lm.logits(p);
    const V = logits.dims[2]!;
    const last = (logits.data as Float32Array).slice((p[0]!.length - 1) * V, p[0]!.length * V);
    const expected = genarmScores(last, [{ logits: last, alpha }], T);
    // with ARM == base the guided scores are (1 + alpha) * log_softmax / T: same argmax as the base
    const lp = logSoftmax(last);
    expected.forEach((v, i) => expect(v).toBeCloseTo(((1 + alpha) * lp[i]!) / T, 4));
    let arg = 0;
    expected.forEach((v, i) => v > expected[arg]! && (arg = i));
    expect(guided[0]!.tokens[0]).toBe(arg);
    expect(guided[0]!.armLogprobs[0]![0]).toBeCloseTo(lp[arg]!, 5);
  });

  it('GenARM with the model as its own ARM at temperature 1 + alpha samples exactly what plain decoding at 1 does, over many steps', async () => {
    // (log p + alpha log p) / (1 + alpha) = log p: the guided distribution IS the base's, so the two
    // KV caches stepping in lockstep (left-padded batch, sampled tokens) must reproduce plain decoding.
    const alpha = 0.5;
    const opts = { sampler: 'sample' as const, maxNewTokens: 24, stopAtEos: false, seed: 11 };
    const plain = await generate(lm, lm.tokenizer, prompts(), { ...opts, temperature: 1 });
    const guided = await generate(lm, lm.tokenizer, prompts(), { ...opts, temperature: 1 + alpha }, [{ model: lm, alpha }]);
    expect(guided.map((r) => r.tokens)).toEqual(plain.map((r) => r.tokens));
    guided.forEach((r, i) => r.armLogprobs.forEach((lps, t) => expect(lps[0]).toBeCloseTo(plain[i]!.baseLogprobs[t]!, 4)));
  });

  it('refuses a prompt that with maxNewTokens would run past the model positions, naming the row', async () => {
    const long = Array.from({ length: 120 }, (_, i) => 10 + (i % 50));
    await expect(generate(lm, lm.tokenizer, [prompts()[0]!, long], { maxNewTokens: 16 })).rejects.toThrow(/prompt 1 has 120 tokens; with maxNewTokens 16 it exceeds the model's 128 positions/);
    const ok = await generate(lm, lm.tokenizer, [long], { maxNewTokens: 8, sampler: 'greedy', stopAtEos: false });
    expect(ok[0]!.tokens).toHaveLength(8);
  });

  it('stops all rows when cancelled', async () => {
    const ctl = new AbortController();
    ctl.abort();
    const out = await generate(lm, lm.tokenizer, prompts(), { sampler: 'greedy', maxNewTokens: 30, stopAtEos: false }, [], ctl.signal);
    expect(out.every((r) => r.finishReason === 'cancelled' && r.tokens.length === 1)).toBe(true);
  });
});
