// `alignkit train rm --head moment-probe --train head`: the moment-probing head trained on a frozen
// fixture backbone from shipped pairs, end to end through the CLI. The loss falls, the backbone's
// weights are bit for bit the source's, and the exported directory scores pairs identically
// through RewardModel, through a plain onnxruntime session and through the scoring server. Also: a
// causal-LM backbone, a three-attribute head on rated data, and the run config's head checks.

import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { loadPreferenceData } from '../../../src/datasets/index.js';
import { isAlignkitError } from '../../../src/errors.js';
import { loadModel } from '../../../src/graph/index.js';
import { MOMENT_PROBE_PARAMS, weightInitializers } from '../../../src/graph/rewrites/index.js';
import { encodeForDecoderClassifier, loadModelDir } from '../../../src/models/index.js';
import { OnnxRewardModel, type ScoreItem } from '../../../src/rewards/index.js';
import { buildServer } from '../../../src/serve/index.js';
import { resolveRunConfig, runTraining } from '../../../src/train/run/index.js';
import { runCli } from '../../helpers/cli.js';
import { copySample, readJsonl, tempDir, TINY_LM, TINY_RM } from './helpers.js';

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function trainArgs(model: string, data: string, out: string, extra: string[]): string[] {
  return [
    'train', 'rm', '--model', model, '--data', data, '--output', out, '--head', 'moment-probe', '--train', 'head',
    '--limit', '16', '--eval-fraction', '0.25', '--batch-size', '4', '--max-length', '48', '--max-prompt-length', '24',
    '--lr', '1e-2', '--no-progress', '--threads', '1', ...extra,
  ];
}

/** The first pairs of the data file as (prompt, response) items: chosen then rejected. */
async function pairItems(file: string, n: number): Promise<ScoreItem[]> {
  const data = await loadPreferenceData(file, { kind: 'paired', limit: n });
  return data.examples.flatMap((e) => [{ prompt: e.prompt, response: e.chosen }, { prompt: e.prompt, response: e.rejected }]);
}

/** Scores from onnxruntime-node directly: the exported graph, right-padded ids and a mask, nothing of alignkit's runtime. */
async function plainOrtScores(dir: string, items: ScoreItem[]): Promise<number[]> {
  const model = await loadModelDir(dir);
  const rows = items.map((item, i) => encodeForDecoderClassifier(model.tokenizer, item, i, 128, true).ids);
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(rows.length * T).fill(BigInt(model.arch.padTokenId ?? 0));
  const mask = new BigInt64Array(rows.length * T);
  rows.forEach((r, b) => r.forEach((id, t) => ((ids[b * T + t] = BigInt(id)), (mask[b * T + t] = 1n))));
  const session = await ort.InferenceSession.create(path.join(dir, 'onnx/model.onnx'));
  const out = await session.run({ input_ids: new ort.Tensor('int64', ids, [rows.length, T]), attention_mask: new ort.Tensor('int64', mask, [rows.length, T]) });
  await session.release();
  expect(out.logits!.dims).toEqual([rows.length, 1]);
  return Array.from(out.logits!.data as Float32Array);
}

describe('alignkit train rm --head moment-probe', () => {
  it('--train head on the frozen tiny-gpt2-rm: loss falls, backbone unchanged, export scores the same in RewardModel, plain onnxruntime and the server', async () => {
    const dir = tempDir('mp');
    const data = copySample(dir, 'hh_rlhf_harmless_base_test.200.jsonl');
    const out = path.join(dir, 'out');
    const r = await runCli(...trainArgs(TINY_RM, data, out, ['--steps', '12', '--head-hp', '{"heads":4,"headDim":8}']));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`model written to ${out}`);

    const losses = readJsonl(path.join(out, 'metrics.jsonl')).map((m) => m.loss as number);
    expect(losses).toHaveLength(12);
    // Bradley-Terry starts at ln 2 (near-zero initial scores); three passes over 12 pairs fit the head.
    expect(losses[0]).toBeCloseTo(Math.LN2, 1);
    expect(mean(losses.slice(-3))).toBeLessThan(0.8 * mean(losses.slice(0, 3)));

    const source = loadModel(path.join(TINY_RM, 'onnx/model.onnx'));
    const exported = loadModel(path.join(out, 'onnx/model.onnx'));
    const backbone = weightInitializers(source).filter((n) => n !== 'score.weight');
    expect(backbone.length).toBeGreaterThan(20);
    for (const name of backbone) expect(exported.graph.initializers.get(name)?.data, name).toEqual(source.graph.initializers.get(name)!.data);
    // The old linear score head is gone; the new one is there and trained.
    expect(exported.graph.initializers.has('score.weight')).toBe(false);
    const classifier = exported.graph.initializers.get(MOMENT_PROBE_PARAMS.classifierWeight)!;
    expect(classifier.dims).toEqual([1, 32 + 3 * 8 * 8]);
    expect(exported.graph.inputs.map((v) => v.name)).toEqual(['input_ids', 'attention_mask']);
    expect(exported.graph.outputs.map((o) => o.name)).toEqual(['logits']);

    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ architectures: ['GPT2ForSequenceClassification'], num_labels: 1, alignkit_reward_head: { type: 'moment-probe', heads: 4, headDim: 8, firstOrder: 'last' } });
    expect(JSON.parse(fs.readFileSync(path.join(out, 'run-config.json'), 'utf8'))).toMatchObject({ head: 'moment-probe', headHp: { heads: 4, headDim: 8 }, train: 'head' });
    expect(fs.readFileSync(path.join(out, 'README.md'), 'utf8')).toContain('Reward head: `moment-probe` {"heads":4,"headDim":8}');

    const items = await pairItems(data, 4);
    const rm = await OnnxRewardModel.load(out);
    const viaRewardModel = (await rm.score(items, { truncate: true })).map((s) => s[0]!);
    const viaOrt = await plainOrtScores(out, items);
    expect(viaOrt).toEqual(viaRewardModel.map((v) => expect.closeTo(v, 6)));
    expect(new Set(viaOrt.map((v) => v.toFixed(5))).size).toBe(items.length);
    // The scoring server serves it as any reward model.
    const app = buildServer({ rewardModels: [rm], config: { maxInputChars: 100_000 } });
    const served = await app.inject({ method: 'POST', url: '/v1/score', payload: { items, truncate: true } });
    await app.close();
    await rm.release();
    expect(served.statusCode).toBe(200);
    expect(served.json().results.map((r: { reward: number }) => r.reward)).toEqual(viaRewardModel.map((v) => expect.closeTo(v, 5)));
  }, 60_000);

  it('turns a causal LM (tiny-gpt2, KV cache) into a reward model whose config says so', async () => {
    const dir = tempDir('mp-lm');
    const data = copySample(dir, 'hh_rlhf_harmless_base_test.200.jsonl');
    const out = path.join(dir, 'out');
    const r = await runCli(...trainArgs(TINY_LM, data, out, ['--steps', '2', '--head-hp', '{"heads":2,"headDim":4,"firstOrder":"mean"}']));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const config = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ architectures: ['GPT2ForSequenceClassification'], num_labels: 1, id2label: { 0: 'LABEL_0' }, alignkit_reward_head: { firstOrder: 'mean' } });
    const exported = loadModel(path.join(out, 'onnx/model.onnx'));
    expect(exported.graph.inputs.map((v) => v.name)).toEqual(['input_ids', 'attention_mask', 'position_ids']);
    const rm = await OnnxRewardModel.load(out);
    expect(rm.heads).toEqual(['LABEL_0']);
    const scores = await rm.score(await pairItems(data, 2), { truncate: true });
    await rm.release();
    expect(scores.map((s) => s.length)).toEqual([1, 1, 1, 1]);
    expect(scores.every((s) => Number.isFinite(s[0]))).toBe(true);
  }, 60_000);
});

describe('alignkit train rm --head moment-probe --loss multi_attribute', () => {
  it('trains a [N, 3] head on the rated fixture over a frozen causal LM; the export names one head per attribute', async () => {
    const dir = tempDir('mp-rated');
    const attributes = ['helpfulness', 'correctness', 'coherence'];
    const seen: number[] = [];
    await runTraining(resolveRunConfig({
      kind: 'rm', loss: 'multi_attribute', lossHp: { attributes }, model: TINY_LM, data: copySample(dir, 'helpsteer_style_synthetic.jsonl'), output: path.join(dir, 'out'),
      head: 'moment-probe', headHp: { numLabels: 3, heads: 2, headDim: 4 }, train: 'head',
      evalFraction: 0, batchSize: 4, microBatchSize: 4, maxLength: 125, maxPromptLength: 60, steps: 20, lr: 1e-2, progress: false, threads: 1,
    }), { onStep: (_s, l) => seen.push(l) });
    expect(mean(seen.slice(-3))).toBeLessThan(0.5 * mean(seen.slice(0, 3)));
    const out = path.join(dir, 'out');
    expect(JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'))).toMatchObject({ num_labels: 3, id2label: { 0: 'helpfulness', 1: 'correctness', 2: 'coherence' }, alignkit_reward_head: { type: 'moment-probe' } });
    const rm = await OnnxRewardModel.load(out);
    expect(rm.heads).toEqual(attributes);
    const scores = await rm.score([{ prompt: 'What is 2 + 2?', response: 'It is 4.' }, { prompt: 'Hi', response: 'Hello there.' }]);
    await rm.release();
    expect(scores.map((s) => s.length)).toEqual([3, 3]);
  }, 60_000);
});

describe('run config: head and headHp', () => {
  const base = { kind: 'rm' as const, model: TINY_RM, data: 'x.jsonl', output: 'out' };

  it('defaults to the linear head (today behaviour) with no options', () => {
    expect(resolveRunConfig(base)).toMatchObject({ head: 'linear', headHp: {} });
  });

  it('rejects an unknown head, a head option it does not have, a bad option value, and a reward head outside train rm', () => {
    const error = (over: Record<string, unknown>) => {
      try {
        resolveRunConfig({ ...base, ...over });
      } catch (e) {
        return isAlignkitError(e) ? { code: e.code, message: e.message, field: e.details?.field } : e;
      }
      throw new Error('expected an error');
    };
    expect(error({ head: 'mlp' })).toMatchObject({ code: 'ALIGNKIT_ERR_INVALID_ARGUMENT', field: 'head', message: expect.stringMatching(/linear, moment-probe/) });
    expect(error({ head: 'moment-probe', headHp: { width: 3 } })).toMatchObject({ field: 'width', message: expect.stringMatching(/no option width/) });
    expect(error({ head: 'moment-probe', headHp: { heads: 1 } })).toMatchObject({ field: 'heads' });
    expect(error({ head: 'moment-probe', headHp: { numLabels: 0 } })).toMatchObject({ field: 'headHp.numLabels' });
    expect(error({ headHp: { heads: 2 } })).toMatchObject({ field: 'headHp.heads', message: expect.stringMatching(/head linear takes no options/) });
    expect(error({ kind: 'dpo', model: TINY_LM, head: 'moment-probe' })).toMatchObject({ field: 'head', message: expect.stringMatching(/not train dpo/) });
  });
});
