// Slow acceptance of the training path on the shipped data (a few hundred tiny steps each):
//  - DPO raises the held-out implicit-reward accuracy of the tiny GPT-2 above 50% measurably;
//  - a Bradley-Terry reward model beats the length-only baseline on held-out pairs;
//  - `alignkit train` killed with SIGKILL mid-run and resumed with --resume ends with the same
//    weights as an uninterrupted run (real child processes through src/cli/main.ts).

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateRewardModels, loadRewardModelSpec } from '../../../src/eval/index.js';
import { loadModel } from '../../../src/graph/index.js';
import { evaluatePolicy, resolveRunConfig, runTraining } from '../../../src/train/run/index.js';
import { ROOT, tempDir, TINY_LM, TINY_RM } from './helpers.js';
import { trainInChild } from './child-train.js';

const HH = path.resolve(ROOT, '../shared/datasets/preference_pairs/hh_rlhf_harmless_base_test.jsonl');

/** The first `train` pairs for training, the next `held` (never seen in any form) for evaluation. */
function splitFile(dir: string, train: number, held: number): { train: string; held: string } {
  const lines = fs.readFileSync(HH, 'utf8').trim().split('\n');
  const files = { train: path.join(dir, 'train.jsonl'), held: path.join(dir, 'held.jsonl') };
  fs.writeFileSync(files.train, `${lines.slice(0, train).join('\n')}\n`);
  fs.writeFileSync(files.held, `${lines.slice(train, train + held).join('\n')}\n`);
  return files;
}

describe('training quality on held-out pairs', () => {
  it('DPO: implicit-reward accuracy on 400 unseen hh-rlhf pairs goes from 50% to measurably above', async () => {
    const dir = tempDir('dpo-quality');
    const files = splitFile(dir, 1000, 400);
    const lengths = { maxLength: 64, maxPromptLength: 32 };
    const before = await evaluatePolicy({ model: TINY_LM, reference: TINY_LM, data: files.held, ...lengths });
    expect(before.rewardAccuracy).toBe(0.5);
    const config = resolveRunConfig({
      kind: 'dpo', model: TINY_LM, data: files.train, output: path.join(dir, 'out'), steps: 300, lr: 5e-4, batchSize: 8, microBatchSize: 8,
      evalFraction: 0.1, evalEvery: 100, logEvery: 10, progress: false, ...lengths,
    });
    await runTraining(config);
    const after = await evaluatePolicy({ model: config.output, reference: TINY_LM, data: files.held, ...lengths });
    expect(after.pairs).toBe(400);
    // 400 pairs: a standard error of 2.5 points around 50%; 54% is 1.6 standard errors above chance at least.
    expect(after.rewardAccuracy).toBeGreaterThan(0.54);
    expect(after.rewardMargin).toBeGreaterThan(0);
  }, 300_000);

  it('RM: Bradley-Terry on 1000 pairs beats the length-only baseline on 400 unseen pairs', async () => {
    const dir = tempDir('rm-quality');
    const files = splitFile(dir, 1000, 400);
    const config = resolveRunConfig({
      kind: 'rm', model: TINY_RM, data: files.train, output: path.join(dir, 'out'), steps: 300, lr: 1e-3, batchSize: 8, microBatchSize: 8,
      maxLength: 96, maxPromptLength: 48, evalFraction: 0.1, logEvery: 10, progress: false,
    });
    await runTraining(config);
    const { report } = await evaluateRewardModels([await loadRewardModelSpec(config.output)], [files.held], { truncate: true });
    expect(report.overall.count).toBe(400);
    expect(report.overall.accuracy[0]).toBeGreaterThan(report.overall.lengthAccuracy);
    expect(report.overall.accuracy[0]).toBeGreaterThan(0.5);
  }, 300_000);
});

/** `alignkit train dpo` in a child; with `killAtStep`, SIGKILL once metrics.jsonl shows that step. */
function train(dir: string, out: string, data: string, extra: string[], killAtStep?: number) {
  const args = ['dpo', '--model', TINY_LM, '--data', data, '--steps', '40', '--limit', '40', '--max-length', '48', '--max-prompt-length', '24', '--checkpoint-every', '1', '--no-progress', '--threads', '1', ...extra];
  return trainInChild(dir, out, args, killAtStep);
}

describe('alignkit train: resume after SIGKILL', () => {
  it('ends with the same exported weights as an uninterrupted run', async () => {
    const dir = tempDir('kill');
    const data = path.join(dir, 'pairs.jsonl');
    fs.copyFileSync(path.join(ROOT, 'data/samples/hh_rlhf_harmless_base_test.200.jsonl'), data);
    expect((await train(dir, path.join(dir, 'a'), data, [])).code).toBe(0);
    const killed = await train(dir, path.join(dir, 'b'), data, [], 5);
    expect(killed.signal).toBe('SIGKILL');
    expect(fs.existsSync(path.join(dir, 'b', 'README.md'))).toBe(false);
    expect((await train(dir, path.join(dir, 'b'), data, ['--resume'])).code).toBe(0);
    const a = loadModel(path.join(dir, 'a', 'onnx/model.onnx')).graph.initializers;
    const b = loadModel(path.join(dir, 'b', 'onnx/model.onnx')).graph.initializers;
    for (const [name, t] of a) expect(b.get(name)!.data, name).toEqual(t.data);
    const steps = fs.readFileSync(path.join(dir, 'b', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
    expect(steps).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  }, 300_000);
});
