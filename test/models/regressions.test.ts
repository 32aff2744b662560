import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPreferenceData } from '../../src/datasets/index.js';
import { SequenceClassifier } from '../../src/models/index.js';

const SAMPLES = path.resolve('data/samples');

describe('regressions found by alignkit eval rm', () => {
  it('regression: the encoder classifier truncates HH-RLHF item 25 to its limit', async () => {
    const rm = await SequenceClassifier.load(path.resolve('data/models/tiny-bert-rm-multi'));
    const data = await loadPreferenceData(path.join(SAMPLES, 'hh_rlhf_harmless_base_test.200.jsonl'), { kind: 'paired', limit: 40 });
    const items = data.examples.flatMap((e) => [{ prompt: e.prompt, response: e.chosen }, { prompt: e.prompt, response: e.rejected }]);
    const scores = await rm.score(items, { truncate: true });
    expect(scores).toHaveLength(items.length);
    expect(scores.every((s) => s.length === 3 && s.every(Number.isFinite))).toBe(true);
  });

  it('regression: a decoder reward model scores an empty response (PandaLM idx 18)', async () => {
    const rm = await SequenceClassifier.load(path.resolve('data/models/tiny-gpt2-rm'));
    const [empty, some] = await rm.score([{ prompt: 'Write a haiku.', response: '' }, { prompt: 'Write a haiku.', response: 'Snow falls.' }]);
    expect(Number.isFinite(empty![0]!)).toBe(true);
    expect(empty![0]).not.toBe(some![0]);
  });
});
