// BCO's underlying-distribution matching inside `alignkit train unpaired --loss bco` with
// `lossHp.udm: true`: the weights the run feeds equal an independent computation (GPT-2's ln_f
// output taken straight from the graph, each prompt run alone, mean over its tokens, then
// fitUdmClassifier/udmWeights), thumbs-up rows keep weight 1, the first step's loss is the
// hand-derived ln 2 * mean(weight), the loss falls, and bad settings fail naming their field.

import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadModel, Session } from '../../../src/graph/index.js';
import { stripKvCache } from '../../../src/graph/rewrites/index.js';
import { fitUdmClassifier, udmWeights } from '../../../src/losses/index.js';
import { loadModelDir } from '../../../src/models/index.js';
import { tokenFeeds } from '../../../src/train/feeds.js';
import { EpochSampler, kindSpec, loadRunData, resolveRunConfig, runTraining, RUN_FILES, UDM_DEFAULTS, type RunConfig } from '../../../src/train/run/index.js';
import { ROOT, readJsonl, smallConfig, tempDir, thrown } from './helpers.js';

const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0) / xs.length;

/** Each prompt alone through GPT-2 (no padding), the ln_f LayerNormalization's output averaged over its tokens. */
async function lnfEmbeddings(onnxFile: string, prompts: number[][]): Promise<Float32Array[]> {
  const model = stripKvCache(loadModel(onnxFile)).model;
  const lnf = model.graph.nodes.find((n) => n.opType === 'LayerNormalization' && n.inputs.includes('transformer.ln_f.weight'))!.outputs[0]!;
  model.graph.outputs.push({ name: lnf, dtype: 'float32' });
  const session = await Session.create(model);
  const out: Float32Array[] = [];
  for (const ids of prompts) {
    const hidden = (await session.run(tokenFeeds(model, { inputIds: ids, dims: [1, ids.length] }), [lnf]))[lnf]!;
    const H = hidden.dims[2]!;
    const data = hidden.data as Float32Array;
    out.push(Float32Array.from({ length: H }, (_, h) => {
      let s = 0;
      for (let t = 0; t < ids.length; t++) s += data[t * H + h]!;
      return s / ids.length;
    }));
  }
  await session.release();
  return out;
}

const bcoUdm = (dir: string, over: Partial<RunConfig> = {}) => smallConfig('unpaired', dir, { loss: 'bco', lossHp: { udm: true }, ...over });

describe('alignkit train unpaired --loss bco with UDM', () => {
  it('feeds the density ratios of an independently fitted classifier to thumbs-down rows, 1 to thumbs-up rows, and trains', async () => {
    const dir = tempDir('udm');
    const config = bcoUdm(dir);
    const modelDir = await loadModelDir(config.model);
    const data = await loadRunData(config, kindSpec('unpaired'), modelDir.tokenizer);
    const embeddings = await lnfEmbeddings(modelDir.onnxFile, data.items.map((it) => it.prompt));
    const labels = data.items.map((it) => it.label!);
    const up = data.train.filter((i) => labels[i] === 1);
    const down = data.train.filter((i) => labels[i] === 0);
    expect(up.length).toBeGreaterThan(0);
    expect(down.length).toBeGreaterThan(0);
    const clf = fitUdmClassifier(up.map((i) => embeddings[i]!), down.map((i) => embeddings[i]!));
    const expected = udmWeights(clf, embeddings, labels);

    const seen: number[] = [];
    const result = await runTraining(config, { onStep: (_s, l) => seen.push(l) });
    const udm = result.udm!;
    expect(udm.weights).toHaveLength(data.items.length);
    udm.weights.forEach((w, i) => expect(w, data.items[i]!.id).toBeCloseTo(expected[i]!, 4));
    data.items.forEach((it, i) => {
      if (it.label === 1) expect(udm.weights[i]).toBe(1);
      else expect(udm.weights[i]).toBeGreaterThanOrEqual(UDM_DEFAULTS.minDensityRatio);
    });
    // The weights are not all clamped to one value: the classifier separates the prompts.
    expect(new Set(down.map((i) => udm.weights[i]!.toFixed(4))).size).toBeGreaterThan(1);

    // Step 1: the policy is the reference, so every reward and the running mean delta are 0 and
    // each row's loss is ln 2 (thumbs-up) or w ln 2 (thumbs-down): loss = ln 2 * mean(weight) over the batch.
    const firstBatch = new EpochSampler(data.train, config.seed).next(config.batchSize);
    expect(seen[0]).toBeCloseTo(Math.LN2 * mean(firstBatch.map((i) => expected[i]!)), 4);
    expect(mean(seen.slice(-3))).toBeLessThan(0.9 * mean(seen.slice(0, 3)));

    // Logged once before step 1: the classifier's accuracy on its training rows and the thumbs-down weights' range.
    const right = [...up.filter((i) => clf.probDesirable(embeddings[i]!) > 0.5), ...down.filter((i) => clf.probDesirable(embeddings[i]!) <= 0.5)].length;
    const metrics = readJsonl(path.join(config.output, RUN_FILES.metrics));
    expect(metrics[0]!.step).toBe(0);
    expect(metrics[0]!['udm/accuracy']).toBeCloseTo(right / (up.length + down.length), 10);
    expect(metrics[0]!['udm/weight_min']).toBeCloseTo(Math.min(...down.map((i) => expected[i]!)), 4);
    expect(metrics[0]!['udm/weight_max']).toBeCloseTo(Math.max(...down.map((i) => expected[i]!)), 4);
    expect(metrics[0]!['udm/weight_mean']).toBeCloseTo(mean(down.map((i) => expected[i]!)), 4);
    expect(metrics.slice(1).map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(result.summary).toContain('udm/accuracy');
  }, 60_000);

  it('prints the classifier line on the progress stream', async () => {
    const dir = tempDir('udm-line');
    const chunks: string[] = [];
    const stream = Object.assign(
      new Writable({
        write(chunk, _encoding, done) {
          chunks.push(String(chunk));
          done();
        },
      }),
      { isTTY: false },
    );
    await runTraining(bcoUdm(dir, { steps: 1, progress: true }), { stream });
    expect(chunks.join('')).toMatch(/^UDM classifier on 32-d prompt embeddings \(layernormalization_\d+ of .*tiny-gpt2\): accuracy [0-9.]+ .*thumbs-down weights min [0-9.]+ mean [0-9.]+ max [0-9.]+\n$/);
  }, 60_000);

  it('embeds prompts with the model directory named by udm.embedder (its own tokenizer and hidden states)', async () => {
    const dir = tempDir('udm-embedder');
    const embedder = path.join(ROOT, 'data/models/tiny-bert-rm-multi');
    const own = await runTraining(bcoUdm(dir, { steps: 1 }));
    const other = await runTraining(bcoUdm(dir, { steps: 1, output: path.join(dir, 'other'), udm: { ...UDM_DEFAULTS, embedder } }));
    expect(other.udm!.embedder.dir).toBe(embedder);
    // BERT's classifier reads the pooled [CLS] state: a [B, H] value used as the embedding.
    expect(other.udm!.embedder.dims).toBe(32);
    expect(other.udm!.embedder.output).not.toBe(own.udm!.embedder.output);
    expect(Array.from(other.udm!.weights)).not.toEqual(Array.from(own.udm!.weights));
    for (const w of other.udm!.weights) expect(w).toBeGreaterThanOrEqual(UDM_DEFAULTS.minDensityRatio);
  }, 60_000);

  it('fails before training, naming lossHp.udm and the label field, when the training rows have one label', async () => {
    const dir = tempDir('udm-one-label');
    const rows = Array.from({ length: 8 }, (_, i) => ({ messages: [{ role: 'user', content: `question ${i}` }, { role: 'assistant', content: `answer ${i}` }], label: true }));
    const file = path.join(dir, 'all-up.json');
    fs.writeFileSync(file, JSON.stringify(rows));
    const e = await thrown(runTraining(bcoUdm(dir, { data: file })));
    expect(e.code).toBe('ALIGNKIT_ERR_DATASET_SCHEMA');
    expect(e.message).toContain('lossHp.udm');
    expect(e.message).toContain('0 with label false');
    expect(e.details).toMatchObject({ file, field: 'label', parameter: 'lossHp.udm' });
    expect(fs.existsSync(path.join(dir, 'out-unpaired', RUN_FILES.metrics))).toBe(false);
  }, 60_000);

  it('validates the udm settings, merging a partial object over the defaults', () => {
    const base = { kind: 'unpaired' as const, model: 'm', data: 'd', output: 'o', loss: 'bco' };
    expect(resolveRunConfig(base, { udm: { maxDensityRatio: 4 } as never }).udm).toEqual({ ...UDM_DEFAULTS, maxDensityRatio: 4 });
    const cases: [unknown, string][] = [
      [{ minDensityRatio: 0 }, 'udm.minDensityRatio'],
      [{ minDensityRatio: 20 }, 'udm.minDensityRatio'],
      [{ promptSampleSize: 1.5 }, 'udm.promptSampleSize'],
      [{ embedder: '' }, 'udm.embedder'],
      [{ sampleSize: 3 }, 'udm.sampleSize'],
    ];
    for (const [udm, field] of cases) {
      let err: (Error & { details?: Record<string, unknown> }) | undefined;
      try {
        resolveRunConfig(base, { udm: udm as never });
      } catch (e) {
        err = e as Error;
      }
      expect(err?.message, field).toContain(`run config field ${field}`);
      expect(err?.details?.field).toBe(field);
    }
  });
});
