// `alignkit train rm --loss multi_attribute` end to end on the shipped rated fixture
// (data/samples/helpsteer_style_synthetic.jsonl, 8 hand-written HelpSteer-style rows) with the
// three-head BERT fixture: the loss falls, the exported directory names one head per attribute,
// OnnxRewardModel scores with user head weights, and each head's scores correlate with its
// attribute's ratings better after training than before (Pearson r measured on the training rows).

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../../src/graph/index.js';
import { encodeForEncoderClassifier, loadModelDir } from '../../../src/models/index.js';
import { headWeights, OnnxRewardModel, weightedReward } from '../../../src/rewards/index.js';
import { classifierTemplate, withPairTemplate } from '../../../src/train/run/pair-template.js';
import { EpochSampler, kindSpec, loadRunData, resolveRunConfig, runTraining, RUN_FILES, type RunConfig } from '../../../src/train/run/index.js';
import { ROOT, SAMPLES, copySample, tempDir, thrown } from './helpers.js';

const BERT_MULTI = path.join(ROOT, 'data/models/tiny-bert-rm-multi');
const RATED = 'helpsteer_style_synthetic.jsonl';
const ATTRIBUTES = ['helpfulness', 'correctness', 'coherence'];

interface RatedRow {
  id: string;
  prompt: string;
  response: string;
  [attribute: string]: unknown;
}
const rows: RatedRow[] = fs.readFileSync(path.join(SAMPLES, RATED), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RatedRow);

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Pearson correlation, by its definition: cov(x, y) / (sd(x) sd(y)). */
function pearson(x: number[], y: number[]): number {
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  x.forEach((xi, i) => {
    sxy += (xi - mx) * (y[i]! - my);
    sxx += (xi - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  });
  return sxy / Math.sqrt(sxx * syy);
}

/** Per attribute: Pearson r of its head's scores with the ratings, over all rated rows. */
async function correlations(dir: string, attributes: readonly string[]): Promise<Record<string, number>> {
  const model = await OnnxRewardModel.load(dir);
  const scores = await model.score(rows.map((r) => ({ prompt: r.prompt, response: r.response })));
  await model.release();
  return Object.fromEntries(attributes.map((a, k) => [a, pearson(scores.map((s) => s[k]!), rows.map((r) => r[a] as number))]));
}

/** Lengths fit every row whole (the scorer sees whole texts) within the fixture's 128 positions. */
function ratedConfig(dir: string, over: Partial<RunConfig> = {}): RunConfig {
  return resolveRunConfig({
    kind: 'rm', loss: 'multi_attribute', lossHp: { attributes: ATTRIBUTES }, model: BERT_MULTI, data: copySample(dir, RATED), output: path.join(dir, 'out'),
    evalFraction: 0, batchSize: 4, microBatchSize: 4, maxLength: 125, maxPromptLength: 60, steps: 60, lr: 1e-2, progress: false, threads: 1, ...over,
  });
}

describe('alignkit train rm --loss multi_attribute on rated data', () => {
  it('trains one head per attribute: the loss falls, heads are named, scores weigh per user, and every head tracks its ratings better', async () => {
    const dir = tempDir('multi-attr');
    const config = ratedConfig(dir);
    const before = await correlations(BERT_MULTI, ATTRIBUTES);
    const seen: number[] = [];
    const result = await runTraining(config, { onStep: (_s, l) => seen.push(l) });
    expect(seen).toHaveLength(60);
    // Step 1's loss is the untrained model's: the mean over attributes of the batch MSE of its scores,
    // recomputed here through OnnxRewardModel (so training saw the ids the scorer sees).
    const modelDir = await loadModelDir(BERT_MULTI);
    const data = await loadRunData(config, kindSpec('rm'), modelDir.tokenizer);
    const firstBatch = new EpochSampler(data.train, config.seed).next(config.batchSize).map((i) => rows.find((r) => r.id === data.items[i]!.id)!);
    const untrained = await OnnxRewardModel.load(BERT_MULTI);
    const firstScores = await untrained.score(firstBatch.map((r) => ({ prompt: r.prompt, response: r.response })));
    await untrained.release();
    const mse = ATTRIBUTES.map((a, k) => mean(firstBatch.map((r, b) => (firstScores[b]![k]! - (r[a] as number)) ** 2)));
    expect(seen[0]).toBeCloseTo(mean(mse), 4);
    expect(mean(seen.slice(-5))).toBeLessThan(0.5 * mean(seen.slice(0, 5)));

    const exported = JSON.parse(fs.readFileSync(path.join(result.outDir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(exported.id2label).toEqual({ 0: 'helpfulness', 1: 'correctness', 2: 'coherence' });
    expect(exported.label2id).toEqual({ helpfulness: 0, correctness: 1, coherence: 2 });
    expect(exported.num_labels).toBe(3);

    const after = await correlations(result.outDir, ATTRIBUTES);
    for (const a of ATTRIBUTES) expect(after[a], `${a}: r before ${before[a]}, after ${after[a]}`).toBeGreaterThan(before[a]! + 0.1);

    // One reward from the heads with user weights: the weighted sum of the raw head scores.
    const model = await OnnxRewardModel.load(result.outDir);
    expect(model.heads).toEqual(ATTRIBUTES);
    const user = { helpfulness: 0.6, correctness: 0.3, coherence: 0.1 };
    const w = headWeights(model.heads, user, model.name);
    const scores = await model.score(rows.slice(0, 2).map((r) => ({ prompt: r.prompt, response: r.response })));
    for (const s of scores) expect(weightedReward(s, w)).toBeCloseTo(0.6 * s[0]! + 0.3 * s[1]! + 0.1 * s[2]!, 5);
    // The good answer (synthetic-00: 4/4/4) outranks the wrong one (synthetic-01: 0/0/3) after training.
    expect(weightedReward(scores[0]!, w)).toBeGreaterThan(weightedReward(scores[1]!, w));
    expect(() => headWeights(model.heads, { verbosity: 1 }, model.name)).toThrow(/has no head 'verbosity'; its heads: helpfulness, correctness, coherence/);
    await model.release();
  }, 60_000);

  it('names the heads in the order of lossHp.attributes (head k trains attribute k)', async () => {
    const dir = tempDir('multi-attr-order');
    const order = ['coherence', 'helpfulness', 'correctness'];
    const result = await runTraining(ratedConfig(dir, { lossHp: { attributes: order }, steps: 1 }));
    const model = await OnnxRewardModel.load(result.outDir);
    expect(model.heads).toEqual(order);
    await model.release();
  }, 60_000);

  it('names the single head of a one-score model after its attribute', async () => {
    const dir = tempDir('multi-attr-gpt2');
    const result = await runTraining(ratedConfig(dir, { model: path.join(ROOT, 'data/models/tiny-gpt2-rm'), lossHp: { attributes: ['helpfulness'] }, steps: 1 }));
    const model = await OnnxRewardModel.load(result.outDir);
    expect(model.heads).toEqual(['helpfulness']);
    await model.release();
  }, 60_000);

  it('fails before training, naming lossHp.attributes, when the attributes outnumber the heads', async () => {
    const dir = tempDir('multi-attr-count');
    // The loss's default attributes are HelpSteer's five; the fixture has three heads.
    const e = await thrown(runTraining(ratedConfig(dir, { lossHp: {} })));
    expect(e.code).toBe('ALIGNKIT_ERR_INVALID_ARGUMENT');
    expect(e.message).toContain('lossHp.attributes lists 5 attributes');
    expect(e.message).toContain('has 3 score heads (helpfulness, correctness, coherence)');
    expect(e.details?.field).toBe('lossHp.attributes');
    expect(fs.existsSync(path.join(dir, 'out', RUN_FILES.metrics))).toBe(false);
  }, 60_000);

  it('puts the special tokens of the scorer around prompt and response, cutting the prompt start past maxLength', async () => {
    const bert = await loadModelDir(BERT_MULTI);
    // bpe500 + BertProcessing (see the fixture's README): [CLS] = 500, [SEP] = 501.
    expect(classifierTemplate(loadModel(bert.onnxFile), bert)).toEqual({ prefix: [500], middle: [501], suffix: [501] });
    const gpt2 = await loadModelDir(path.join(ROOT, 'data/models/tiny-gpt2-rm'));
    // A decoder is scored on prompt + response as encoded; bpe500 alone adds no special tokens.
    expect(classifierTemplate(loadModel(gpt2.onnxFile), gpt2)).toEqual({ prefix: [], middle: [], suffix: [] });
    const item = { id: 'x', prompt: [10, 11, 12, 13], responses: [[20, 21]] };
    // 4 + 2 + 3 specials = 9 > 7: the prompt loses its first 2 tokens.
    expect(withPairTemplate([item], { prefix: [1], middle: [2], suffix: [3] }, 7)).toEqual([{ id: 'x', prompt: [1, 12, 13, 2], responses: [[20, 21, 3]] }]);
    expect(withPairTemplate([item], { prefix: [1], middle: [2], suffix: [3] }, 9)[0]!.prompt).toEqual([1, 10, 11, 12, 13, 2]);
  });

  // Regression: the run fed BERT reward models "prompt response" without [CLS]/[SEP] and with all
  // token types 0, while OnnxRewardModel scores "[CLS] prompt [SEP] response [SEP]" with types 0/1,
  // so the pooled [CLS] state a trained head reads never appeared in training.
  it('trains an encoder reward model on the ids and token types it is scored on', async () => {
    const dir = tempDir('multi-attr-ids');
    const config = ratedConfig(dir);
    const modelDir = await loadModelDir(BERT_MULTI);
    const data = await loadRunData(config, kindSpec('rm'), modelDir.tokenizer);
    const items = withPairTemplate(data.items, classifierTemplate(loadModel(modelDir.onnxFile), modelDir), config.maxLength);
    items.forEach((it, i) => {
      const row = rows.find((r) => r.id === it.id)!;
      const scored = encodeForEncoderClassifier(modelDir.tokenizer, { prompt: row.prompt, response: row.response }, i, 128, false);
      expect([...it.prompt, ...it.responses[0]!], it.id).toEqual(scored.ids);
      // buildBatch gives the response part token type 1.
      expect(scored.tokenTypeIds).toEqual([...it.prompt.map(() => 0), ...it.responses[0]!.map(() => 1)]);
    });
  }, 60_000);
});
