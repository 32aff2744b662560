import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel } from '../../src/graph/index.js';
import { SequenceClassifier } from '../../src/models/index.js';
import { BERT_DIR, RM_DIR, localTransformers, maxAbsDiff, project, referenceGpt2Hidden } from './helpers.js';

let rm: SequenceClassifier;
let bert: SequenceClassifier;
beforeAll(async () => {
  rm = await SequenceClassifier.load(RM_DIR, { session: { intraOpThreads: 1 } });
  bert = await SequenceClassifier.load(BERT_DIR, { session: { intraOpThreads: 1 } });
});

const ITEMS = [
  { prompt: 'What is the capital of France?', response: ' Paris.' },
  { prompt: 'Hi', response: ' Hello! How can I help you today? I can answer questions.' },
  { prompt: [{ role: 'user', content: 'Say something nice' }], response: 'You are great.' },
];

describe('decoder reward model (tiny-gpt2-rm, GPT2ForSequenceClassification)', () => {
  it('is a one-label decoder classifier', () => {
    expect([rm.kind, rm.numLabels, rm.labels, rm.maxLength, rm.padTokenId]).toEqual(['decoder', 1, ['LABEL_0'], 128, 0]);
  });

  it('scores at the last non-pad token: a padded batch equals batches of one', async () => {
    const batched = await rm.score(ITEMS);
    expect(batched).toHaveLength(3);
    for (let i = 0; i < ITEMS.length; i++) {
      const [alone] = await rm.score([ITEMS[i]!]);
      expect(batched[i]).toHaveLength(1);
      expect(Math.abs(batched[i]![0]! - alone![0]!)).toBeLessThan(1e-5);
    }
    // Raw scores, not a softmax over the single logit (which would be 1.0 for every item).
    expect(new Set(batched.map((s) => s[0]!.toFixed(4))).size).toBe(3);
  });

  it('equals an independent float64 forward: score.weight times the last hidden state', async () => {
    // transformers.js 4.3.1 has no GPT2ForSequenceClassification (its modeling_gpt2.js leaves it a
    // TODO), so the comparison is with a plain-TypeScript GPT-2 over the ONNX file's weights.
    const model = loadModel(rm.dir.onnxFile);
    const ids = [[33, 85, 12, 300, 201], [40, 316, 491]];
    const scores = await rm.scoreIds(ids);
    for (let b = 0; b < ids.length; b++) {
      const hidden = referenceGpt2Hidden(model, ids[b]!, { nEmbd: 32, nHead: 4, nLayer: 2, eps: 1e-5 });
      const expected = project(hidden.at(-1)!, model.graph.initializers.get('score.weight')!.data as Float32Array, 1);
      expect(Math.abs(scores[b]![0]! - expected[0]!)).toBeLessThan(1e-4);
    }
  });

  it('formats string pairs as plain concatenation and messages with the chat template', async () => {
    const tok = rm.tokenizer;
    const plain = { prompt: 'What is the capital of France?', response: ' Paris.' };
    const [fromText] = await rm.score([plain]);
    const [fromIds] = await rm.scoreIds([[...tok.encode(plain.prompt), ...tok.encode(plain.response, { addSpecialTokens: false })]]);
    expect(fromText![0]).toBeCloseTo(fromIds![0]!, 6);
    const conv = tok.applyChatTemplate([{ role: 'user', content: 'Say something nice' }, { role: 'assistant', content: 'You are great.' }]);
    const [fromChat] = await rm.score([ITEMS[2]!]);
    const [fromRendered] = await rm.scoreIds([tok.encode(conv, { addSpecialTokens: false })]);
    expect(fromChat![0]).toBeCloseTo(fromRendered![0]!, 6);
  });

  it('rejects a too-long item by index unless truncate keeps the prompt end', async () => {
    const long = { prompt: 'blah '.repeat(300), response: ' ok' };
    await expect(rm.score([ITEMS[0]!, ITEMS[1]!, long])).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_TOO_LONG', details: { row: 2, limit: 128 } });
    const [cut] = await rm.score([long], { truncate: true });
    const ids = [...rm.tokenizer.encode(long.prompt), ...rm.tokenizer.encode(long.response, { addSpecialTokens: false })];
    const [expected] = await rm.scoreIds([ids.slice(-128)]);
    expect(cut![0]).toBeCloseTo(expected![0]!, 6);
  });
});

describe('encoder multi-attribute reward model (tiny-bert-rm-multi, BertForSequenceClassification)', () => {
  it('has three named heads', () => {
    expect([bert.kind, bert.numLabels, bert.labels]).toEqual(['encoder', 3, ['helpfulness', 'correctness', 'coherence']]);
  });

  it('equals transformers.js AutoModelForSequenceClassification (local files) on the same pairs', async () => {
    const t = await localTransformers();
    const tok = await t.AutoTokenizer.from_pretrained('tiny-bert-rm-multi', { local_files_only: true });
    const hf = await t.AutoModelForSequenceClassification.from_pretrained('tiny-bert-rm-multi', { local_files_only: true, dtype: 'fp32' });
    const pairs = ITEMS.slice(0, 2) as { prompt: string; response: string }[];
    const ours = await bert.score(pairs);
    for (let i = 0; i < pairs.length; i++) {
      const enc = tok(pairs[i]!.prompt, { text_pair: pairs[i]!.response, return_token_type_ids: true });
      const theirs = (await hf(enc)).logits;
      expect(theirs.dims).toEqual([1, 3]);
      expect(maxAbsDiff(theirs.data as Float32Array, ours[i]!)).toBeLessThan(1e-4);
    }
    await hf.dispose();
  });

  it('padding does not change a row, and scores are raw logits (not a distribution)', async () => {
    const batched = await bert.score(ITEMS);
    for (let i = 0; i < ITEMS.length; i++) expect(maxAbsDiff(batched[i]!, (await bert.score([ITEMS[i]!]))[0]!)).toBeLessThan(1e-5);
    expect(batched.some((s) => Math.abs(s.reduce((a, b) => a + b, 0) - 1) > 1e-3 || s.some((v) => v < 0))).toBe(true);
  });

  it('truncates the prompt start of a pair to fit', async () => {
    const long = { prompt: 'blah '.repeat(300), response: ' fine answer' };
    await expect(bert.score([long])).rejects.toMatchObject({ code: 'ALIGNKIT_ERR_TOO_LONG', details: { row: 0 } });
    const [cut] = await bert.score([long], { truncate: true });
    // Built by hand: [CLS] + the last prompt ids that fit + [SEP] + response + [SEP], token types 0/1.
    const tok = bert.tokenizer;
    const prompt = tok.encode(long.prompt, { addSpecialTokens: false });
    const response = tok.encode(long.response, { addSpecialTokens: false });
    const kept = prompt.slice(-(128 - 3 - response.length));
    const ids = [500, ...kept, 501, ...response, 501];
    const types = [0, ...kept.map(() => 0), 0, ...response.map(() => 1), 1];
    expect(ids).toHaveLength(128);
    const [expected] = await bert.scoreIds([ids], [types]);
    expect(maxAbsDiff(cut!, expected!)).toBeLessThan(1e-6);
  });
});
