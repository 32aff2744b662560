import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel, type Tensor } from '../../src/graph/index.js';
import { CausalLM } from '../../src/models/index.js';
import { LM_DIR, localTransformers, logSoftmax, maxAbsDiff, project, referenceGpt2Hidden } from './helpers.js';

let lm: CausalLM;
beforeAll(async () => {
  lm = await CausalLM.load(LM_DIR, { session: { intraOpThreads: 1 } });
});

const row = (t: Tensor, b: number, pos: number) => {
  const [, T, V] = t.dims as [number, number, number];
  return (t.data as Float32Array).subarray((b * T + pos) * V, (b * T + pos + 1) * V);
};

const ITEMS = [
  { prompt: 'Once upon a time', response: ' there was a cat.' },
  { prompt: 'Hi', response: ' a much longer response that sets the padded length of the batch' },
  { prompt: 'The quick brown fox', response: '!' },
];

describe('CausalLM on tiny-gpt2', () => {
  it('exposes the KV layout from config.json', () => {
    expect([lm.numLayers, lm.numHeads, lm.headDim, lm.vocabSize, lm.maxLength]).toEqual([2, 4, 8, 500, 128]);
    expect(Object.keys(lm.emptyPast(3)).sort()).toEqual(['past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value']);
    expect(lm.emptyPast(3)['past_key_values.1.value']!.dims).toEqual([3, 4, 0, 8]);
  });

  it('gives the logits of an independent float64 GPT-2 forward over the same weights', async () => {
    const ids = [40, 316, 491, 431, 382, 12];
    const logits = await lm.logits([ids]);
    const model = loadModel(lm.dir.onnxFile);
    const hidden = referenceGpt2Hidden(model, ids, { nEmbd: 32, nHead: 4, nLayer: 2, eps: 1e-5 });
    const wte = model.graph.initializers.get('transformer.wte.weight')!.data as Float32Array;
    for (let t = 0; t < ids.length; t++) expect(maxAbsDiff(row(logits, 0, t), project(hidden[t]!, wte, 500))).toBeLessThan(1e-4);
  });

  it('responseLogProbs = log_softmax of the logits gathered at the next tokens, row by row', async () => {
    const out = await lm.responseLogProbs(ITEMS);
    const tok = lm.tokenizer;
    for (let b = 0; b < ITEMS.length; b++) {
      const prompt = tok.encode(ITEMS[b]!.prompt);
      const response = [...tok.encode(ITEMS[b]!.response, { addSpecialTokens: false }), 0]; // EOS appended as TRL's DPO does
      expect(out.tokens[b]).toEqual(response);
      // Independent: one unpadded forward of this row alone, log_softmax in float64, gathered by hand.
      const ids = [...prompt, ...response];
      const logits = await lm.logits([ids]);
      const expected = response.map((id, j) => logSoftmax(row(logits, 0, prompt.length + j - 1))[id]!);
      expect(maxAbsDiff(out.logprobs[b]!, expected)).toBeLessThan(1e-5);
      expect(out.sum[b]).toBeCloseTo(expected.reduce((s, v) => s + v, 0), 4);
      expect(out.logprobs[b]!.every((v) => v < 0)).toBe(true);
    }
  });

  it('padding does not change a row: batched equals one by one', async () => {
    const batched = await lm.responseLogProbs(ITEMS);
    for (let b = 0; b < ITEMS.length; b++) {
      const alone = await lm.responseLogProbs([ITEMS[b]!]);
      expect(maxAbsDiff(batched.logprobs[b]!, alone.logprobs[0]!)).toBeLessThan(1e-5);
    }
  });

  it('formats message lists with the chat template and scores only the assistant turn', async () => {
    const prompt = [{ role: 'user', content: 'Tell me a story' }];
    const out = await lm.responseLogProbs([{ prompt, response: 'Once upon a time' }]);
    const tok = lm.tokenizer;
    const rendered = tok.applyChatTemplate([...prompt, { role: 'assistant', content: 'Once upon a time' }]);
    const promptText = tok.applyChatTemplate(prompt, { addGenerationPrompt: true });
    expect(tok.decode(out.tokens[0]!)).toBe(rendered.slice(promptText.length)); // "Once upon a time<|endoftext|>", no EOS doubled
    expect(out.tokens[0]!.at(-1)).toBe(0);
    expect(out.tokens[0]!.filter((t) => t === 0)).toHaveLength(1);
  });

  it('throws ALIGNKIT_ERR_TOO_LONG naming the item, or keeps the end of the prompt with truncate', async () => {
    const long = 'word '.repeat(200);
    await expect(lm.responseLogProbs([ITEMS[0]!, { prompt: long, response: ' end' }])).rejects.toMatchObject({
      code: 'ALIGNKIT_ERR_TOO_LONG', details: { row: 1, limit: 128 }, message: expect.stringMatching(/item 1 has \d+ tokens, more than the limit of 128/),
    });
    const cut = await lm.responseLogProbs([{ prompt: long, response: ' end' }], { truncate: true, maxLength: 40 });
    const full = [...lm.tokenizer.encode(long), ...cut.tokens[0]!];
    expect(cut.tokens[0]).toEqual([...lm.tokenizer.encode(' end', { addSpecialTokens: false }), 0]);
    // The kept prompt is the last 40 - |response| prompt tokens: compare with scoring that suffix directly.
    const suffix = full.slice(full.length - 40);
    const logits = await lm.logits([suffix]);
    const expected = cut.tokens[0]!.map((id, j) => logSoftmax(row(logits, 0, 40 - cut.tokens[0]!.length + j - 1))[id]!);
    expect(maxAbsDiff(cut.logprobs[0]!, expected)).toBeLessThan(1e-5);
  });

  it('the with-past graph: one token with the prefix cache = the whole sequence', async () => {
    const ids = [[40, 316, 491, 431, 382, 12, 324], [5, 77, 300, 2, 99, 18, 250]];
    const [B, T] = [2, 7];
    const i64 = (rows: number[][]): Tensor => ({ dtype: 'int64', dims: [rows.length, rows[0]!.length], data: BigInt64Array.from(rows.flat().map(BigInt)) });
    const ones = (n: number) => ids.map(() => Array(n).fill(1));
    const positions = (from: number, to: number) => ids.map(() => Array.from({ length: to - from }, (_, i) => from + i));
    const full = await lm.session.run({ input_ids: i64(ids), attention_mask: i64(ones(T)), position_ids: i64(positions(0, T)), ...lm.emptyPast(B) });
    const prefix = await lm.session.run({ input_ids: i64(ids.map((r) => r.slice(0, T - 1))), attention_mask: i64(ones(T - 1)), position_ids: i64(positions(0, T - 1)), ...lm.emptyPast(B) });
    const past = Object.fromEntries(Object.entries(prefix).filter(([k]) => k.startsWith('present.')).map(([k, v]) => [k.replace('present.', 'past_key_values.'), v]));
    expect(past['past_key_values.0.key']!.dims).toEqual([B, 4, T - 1, 8]);
    const step = await lm.session.run({ input_ids: i64(ids.map((r) => r.slice(T - 1))), attention_mask: i64(ones(T)), position_ids: i64(positions(T - 1, T)), ...past });
    expect(step.logits!.dims).toEqual([B, 1, 500]);
    expect(step['present.1.value']!.dims).toEqual([B, 4, T, 8]);
    for (let b = 0; b < B; b++) expect(maxAbsDiff(row(step.logits!, b, 0), row(full.logits!, b, T - 1))).toBeLessThan(1e-5);
  });

  it('step(): a left-padded batch decoded over the cache matches each row run alone', async () => {
    // Row 0 has 2 left pads, as decoding loops batch prompts of different lengths.
    const prompts = [[40, 316, 491], [5, 77, 300, 2, 99]];
    const padded = [[0, 0, ...prompts[0]!], prompts[1]!];
    const mask = [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]];
    const first = await lm.step({ ids: padded, attentionMask: mask });
    const next = [[12], [18]];
    const second = await lm.step({ ids: next, attentionMask: mask.map((m) => [...m, 1]), past: first.past });
    expect(second.past['past_key_values.0.key']!.dims).toEqual([2, 4, 6, 8]);
    for (let b = 0; b < 2; b++) {
      const alone = await lm.logits([[...prompts[b]!, next[b]![0]!]]);
      expect(maxAbsDiff(row(second.logits, b, 0), row(alone, 0, prompts[b]!.length))).toBeLessThan(1e-4);
      expect(maxAbsDiff(row(first.logits, b, 4), row(alone, 0, prompts[b]!.length - 1))).toBeLessThan(1e-4);
    }
  });

  it('matches transformers.js AutoModelForCausalLM (local files only) on a padded batch', async () => {
    const t = await localTransformers();
    const hf = await t.AutoModelForCausalLM.from_pretrained('tiny-gpt2', { local_files_only: true, dtype: 'fp32' });
    const rows = [[40, 316, 491, 431, 382, 12, 324, 322], [5, 77, 300]];
    const T = 8;
    const flat = rows.flatMap((r) => [...r, ...Array(T - r.length).fill(0)]);
    const mask = rows.flatMap((r) => [...r.map(() => 1), ...Array(T - r.length).fill(0)]);
    const out = await hf({
      input_ids: new t.Tensor('int64', BigInt64Array.from(flat.map(BigInt)), [2, T]),
      attention_mask: new t.Tensor('int64', BigInt64Array.from(mask.map(BigInt)), [2, T]),
    });
    const ours = await lm.logits(rows);
    expect(out.logits.dims).toEqual(ours.dims);
    for (let b = 0; b < 2; b++)
      for (let p = 0; p < rows[b]!.length; p++) {
        const theirs = (out.logits.data as Float32Array).subarray((b * T + p) * 500, (b * T + p + 1) * 500);
        expect(maxAbsDiff(theirs, row(ours, b, p))).toBeLessThan(1e-4);
      }
    await hf.dispose();
  });

  it('transformers.js never reaches for the network: an unknown local model fails fast', async () => {
    const t = await localTransformers();
    await expect(t.AutoModelForCausalLM.from_pretrained('no-such-model', { local_files_only: true })).rejects.toThrow();
  });
});
